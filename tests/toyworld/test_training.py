"""The shared training loop: a killed run resumes from its checkpoint and ends bit-identical."""

import pytest
import torch

from erase.runs import create_run, open_run
from erase.toyworld.detector import ToyDetector
from erase.toyworld.train_detector import detector_loss
from erase.toyworld.training import Schedule, batch_at, train

SCHEDULE = Schedule(steps=6, batch_size=8, lr=1e-3, warmup=2, checkpoint_every=3, ema_decay=0.9)


class Killed(Exception):
    pass


def _loss(model, die_at=None):
    gen = torch.Generator()

    def loss_fn(batch, step):
        if step == die_at:
            raise Killed
        gen.manual_seed(step)
        return detector_loss(model, batch, gen), {}

    return loss_fn


def _model():
    torch.manual_seed(0)
    return ToyDetector(width=8, feature_dim=16)


def test_batches_are_a_pure_function_of_seed_and_step():
    a, b = batch_at(0, 5, 4), batch_at(0, 5, 4)
    assert torch.equal(a.images, b.images) and a.captions == b.captions
    assert not torch.equal(a.images, batch_at(0, 6, 4).images)


def test_resume_after_a_kill_matches_an_uninterrupted_run(tmp_path):
    full = _model()
    train({"m": full}, _loss(full), SCHEDULE, create_run(tmp_path, "full", {}, [], 0), desc="full")

    killed = _model()
    run = create_run(tmp_path, "killed", {}, [], 0)
    with pytest.raises(Killed):
        train({"m": killed}, _loss(killed, die_at=4), SCHEDULE, run, desc="killed")
    assert run.latest_checkpoint().name == "step-3"

    resumed = _model()  # a new process: fresh weights, restored from the checkpoint
    train({"m": resumed}, _loss(resumed), SCHEDULE, open_run(run.dir), desc="resumed")
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert (run.dir / "train_seconds.txt").is_file()
