from __future__ import annotations

import dataclasses
import json
import random

import numpy as np
import pytest
import torch
import yaml

from erase.errors import EraseError
from erase.runs import atomic_save_dir, atomic_write_json, create_run, model_hash, open_run


@dataclasses.dataclass(frozen=True)
class Cfg:
    seed: int = 0
    lr: float = 0.5


def make_run(tmp_path):
    return create_run(tmp_path, "esd-nudity", Cfg(), ["--concept", "nudity"], seed=0)


def test_create_run_writes_config_and_manifest(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    run = create_run(tmp_path / "out", "esd nudity", Cfg(), ["--seed", "0"], seed=0,
                     model_id="toy-sd", model_path=model, device="cpu")
    assert run.dir.parent == tmp_path / "out" and run.dir.name.endswith("-esd-nudity")
    assert yaml.safe_load((run.dir / "config.yaml").read_text()) == {"seed": 0, "lr": 0.5}
    manifest = json.loads((run.dir / "manifest.json").read_text())
    assert manifest["argv"] == ["--seed", "0"] and manifest["seed"] == 0
    assert manifest["model_id"] == "toy-sd" and manifest["model_hash"] == model_hash(model)
    assert manifest["torch"] and manifest["device"] == "cpu"


def test_run_dirs_are_never_reused(tmp_path):
    first, second = make_run(tmp_path), make_run(tmp_path)
    assert first.dir != second.dir and first.dir.is_dir() and second.dir.is_dir()


def test_model_hash_tracks_weights_and_names(tmp_path):
    (tmp_path / "unet").mkdir()
    (tmp_path / "unet" / "w.safetensors").write_bytes(b"abc")
    (tmp_path / "notes.bin").write_bytes(b"ignored")
    before = model_hash(tmp_path)
    assert len(before) == 16
    (tmp_path / "notes.bin").write_bytes(b"changed")
    (tmp_path / "quality.json").write_text("{}")  # a card's measurements are not the model
    assert model_hash(tmp_path) == before
    (tmp_path / "unet" / "w.safetensors").write_bytes(b"abd")
    assert model_hash(tmp_path) != before


def test_atomic_writes(tmp_path):
    atomic_write_json(tmp_path / "a" / "m.json", {"x": 1})
    atomic_write_json(tmp_path / "a" / "m.json", {"x": 2})
    assert json.loads((tmp_path / "a" / "m.json").read_text()) == {"x": 2}
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["m.json"]


def test_atomic_save_dir_refuses_existing_and_cleans_up(tmp_path):
    dest = atomic_save_dir(lambda d: (d / "w.txt").write_text("ok"), tmp_path / "model")
    assert (dest / "w.txt").read_text() == "ok"
    with pytest.raises(EraseError, match="already exists"):
        atomic_save_dir(lambda d: None, dest)

    def failing(d):
        (d / "half.txt").write_text("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_save_dir(failing, tmp_path / "other")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temp folder, no dest


def train_step(model, opt, x):
    opt.zero_grad()
    model(x).pow(2).sum().backward()
    opt.step()


def test_checkpoint_round_trips_model_optimizer_and_rng(tmp_path):
    run = make_run(tmp_path)
    torch.manual_seed(0)
    x = torch.randn(4, 3)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    train_step(model, opt, x)
    path = run.save_checkpoint(1, {"model": model.state_dict(), "optimizer": opt.state_dict()},
                               extra={"epoch": 3})
    draws = (torch.rand(5), np.random.rand(5), [random.random() for _ in range(5)])
    train_step(model, opt, x)  # the uninterrupted run goes on

    step, state, extra = open_run(run.dir).load_checkpoint(path)
    assert torch.equal(torch.rand(5), draws[0])  # RNG restored: the same draws again
    assert np.array_equal(np.random.rand(5), draws[1])
    assert [random.random() for _ in range(5)] == draws[2]
    assert step == 1 and extra == {"epoch": 3}

    resumed = torch.nn.Linear(3, 2)
    resumed_opt = torch.optim.Adam(resumed.parameters(), lr=0.1)
    resumed.load_state_dict(state["model"])
    resumed_opt.load_state_dict(state["optimizer"])
    assert state["optimizer"]["param_groups"] == opt.state_dict()["param_groups"]  # tuples, int ids kept
    train_step(resumed, resumed_opt, x)
    for key, value in model.state_dict().items():
        assert torch.equal(resumed.state_dict()[key], value), key


def test_checkpoint_keeps_tied_and_non_contiguous_tensors(tmp_path):
    run = make_run(tmp_path)
    weight = torch.randn(3, 4)
    sd = {"embed": weight, "head": weight, "t": weight.t(), "half": weight[:, :2].to(torch.bfloat16)}
    _, state, _ = run.load_checkpoint(run.save_checkpoint(5, {"model": sd}), restore_rng=False)
    for key, value in sd.items():
        assert state["model"][key].dtype == value.dtype and torch.equal(state["model"][key], value)


def test_pruning_keeps_the_last_checkpoints(tmp_path):
    run = make_run(tmp_path)
    assert run.latest_checkpoint() is None
    for step in (5, 10, 15, 20):
        run.save_checkpoint(step, {"model": {"w": torch.full((2,), float(step))}}, keep=2)
    assert sorted(p.name for p in run.checkpoints_dir.iterdir()) == ["step-15", "step-20"]
    assert run.latest_checkpoint() == run.checkpoints_dir / "step-20"
    step, state, _ = run.load_checkpoint(restore_rng=False)
    assert step == 20 and torch.equal(state["model"]["w"], torch.full((2,), 20.0))


def test_resume_refuses_missing_runs_and_checkpoints(tmp_path):
    with pytest.raises(EraseError, match="--resume: no run at .*nowhere; pass a directory"):
        open_run(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EraseError, match="no run at"):
        open_run(tmp_path / "empty")  # a directory without a manifest is not a run
    run = open_run(make_run(tmp_path).dir)
    with pytest.raises(EraseError, match="no checkpoint"):
        run.load_checkpoint()
    with pytest.raises(EraseError, match="no checkpoint at"):
        run.load_checkpoint(run.checkpoints_dir / "step-3")
