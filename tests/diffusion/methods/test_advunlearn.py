"""AdvUnlearn mechanics on a tiny random pipeline: what trains, the attack's effect, exact resume."""

import pytest
import torch

from erase.concepts import get
from erase.diffusion.methods import advunlearn
from erase.runs import create_run, open_run
from tests.conftest import build_tiny_pipeline, killed_on_call

TINY = advunlearn.AdvUnlearnConfig(iterations=6, warmup_iter=2, attack_steps=3, lr=1e-3, attack_lr=1e-2,
                                   ddim_steps=5, pool_size=2, retain_batch=2, checkpoint_every=3)


def test_exact_layer_indices_unlike_the_official_prefix_match(tiny_pipeline):
    encoder = tiny_pipeline.text_encoder
    names = {id(p): n for n, p in encoder.named_parameters()}
    only_first = {names[id(p)] for p in advunlearn.trainable_parameters(
        encoder, advunlearn.AdvUnlearnConfig(train_layers=(0,), final_layer_norm=False))}
    assert only_first and all(".layers.0." in n for n in only_first)
    full = {names[id(p)] for p in advunlearn.trainable_parameters(encoder, advunlearn.AdvUnlearnConfig())}
    assert not any("embeddings" in n for n in full) and any("final_layer_norm" in n for n in full)


def test_the_regulariser_follows_the_readmes_nudity_command_and_the_argparse_defaults_otherwise():
    cfg = advunlearn.AdvUnlearnConfig()
    assert advunlearn.regulariser(get("real:nudity"), cfg) == (0.3, list(get("real:nudity").retain_prompts))
    weight, prompts = advunlearn.regulariser(get("car"), cfg)
    assert weight == 1.0 and "a house in the city" in prompts and "a house in the city" not in get("car").retain_prompts


def _first_mlp(encoder):
    return next(p for n, p in encoder.named_parameters() if "layers.0.mlp.fc1.weight" in n)


@pytest.mark.parametrize("faithful", [False, True])
def test_only_the_text_encoder_layers_train(faithful, tmp_path):
    pipe = build_tiny_pipeline()
    unet_before = [p.clone() for p in pipe.unet.parameters()]
    emb_before = pipe.text_encoder.get_input_embeddings().weight.clone()
    layer_before = _first_mlp(pipe.text_encoder).clone()
    cfg = advunlearn.AdvUnlearnConfig(**{**TINY.__dict__, "faithful": faithful})
    run = create_run(tmp_path, "adv", cfg, [], 0)
    advunlearn.erase(pipe, get("nudity"), cfg, run)
    assert all(torch.equal(a, b) for a, b in zip(unet_before, pipe.unet.parameters(), strict=True))
    assert torch.equal(emb_before, pipe.text_encoder.get_input_embeddings().weight)
    assert not torch.equal(layer_before, _first_mlp(pipe.text_encoder))
    assert (run.dir / "text_encoder" / "config.json").is_file()


def test_a_killed_run_resumes_exactly_including_the_adversary(tmp_path, monkeypatch):
    full = build_tiny_pipeline()
    advunlearn.erase(full, get("nudity"), TINY, create_run(tmp_path, "full", TINY, [], 0))

    run = create_run(tmp_path, "killed", TINY, [], 0)
    with killed_on_call(monkeypatch, advunlearn, "esd_target", call=5):  # step 4, after the step-3 checkpoint
        advunlearn.erase(build_tiny_pipeline(), get("nudity"), TINY, run)
    assert run.latest_checkpoint().name == "step-3"  # after warm-up: the adversary is in the checkpoint
    resumed = build_tiny_pipeline()
    advunlearn.erase(resumed, get("nudity"), TINY, open_run(run.dir))
    for a, b in zip(full.text_encoder.parameters(), resumed.text_encoder.parameters(), strict=True):
        assert torch.equal(a, b)
