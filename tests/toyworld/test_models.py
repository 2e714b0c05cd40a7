"""The shipped toy models meet their quality bars on held-out renders (issue: foundation)."""

import pytest
import torch

from erase.hub import TOY_WEIGHTS_DIR
from erase.toyworld import quality
from erase.toyworld.world import HEADS, PERSON_HEADS

PERSON_ATTRIBUTES = [h for h in PERSON_HEADS if h != "identity"]


def _shipped(name):
    if not (TOY_WEIGHTS_DIR / name).is_dir():
        pytest.fail(f"{name} is not shipped; run python -m erase.toyworld train {name} --install")
    return TOY_WEIGHTS_DIR / name


@pytest.fixture(scope="module")
def detector():
    from erase.toyworld.detector import ToyDetector

    return ToyDetector.from_pretrained(_shipped("toy-detector"))


def test_detector_is_97_percent_accurate_on_every_head(detector):
    accuracy = quality.detector_accuracy(detector, n=2000)
    assert set(accuracy) == set(HEADS)
    assert min(accuracy.values()) >= 0.97, accuracy


@pytest.fixture(scope="module")
def clip_accuracy():
    from transformers import CLIPModel, CLIPTokenizer

    folder = _shipped("toy-clip")
    return quality.clip_zero_shot(CLIPModel.from_pretrained(folder), CLIPTokenizer.from_pretrained(folder))


@pytest.mark.parametrize("head", ["subject", *PERSON_ATTRIBUTES, "identity", "style", "context"])
def test_clip_zero_shot_meets_the_bars(head, clip_accuracy):
    assert clip_accuracy[head] >= (0.90 if head == "subject" else 0.85), clip_accuracy


def test_every_shipped_folder_loads_offline(monkeypatch):
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPModel

    from erase.hub import load_pretrained

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert load_pretrained(CLIPModel, "toy-clip").config.projection_dim > 0
    pipe = load_pretrained(StableDiffusionPipeline, "toy-sd")
    assert pipe.tokenizer.model_max_length == 77 and pipe.scheduler.config.clip_sample is False


@pytest.fixture(scope="module")
def toy_sd():
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(_shipped("toy-sd"))
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def sd_rates(toy_sd, detector):
    return quality.sd_quality(toy_sd, detector, n=200)


@pytest.mark.slow
@pytest.mark.parametrize("check", quality.sd_checks(), ids=lambda c: c.name)
def test_toy_sd_draws_what_it_is_asked_for(check, sd_rates):
    """Each prompt set of `quality.sd_checks` over 200 samples at the default sampler settings."""
    assert check.passes(sd_rates[check.name]), (check.name, sd_rates[check.name])


@pytest.mark.slow
def test_toy_sd_fid_is_far_below_a_broken_models(toy_sd):
    """FID (toy-detector features) of samples vs renders, against the same UNet with shuffled weights."""
    import copy

    good = quality.sd_fid(toy_sd, n=500)["fid"]
    broken = copy.deepcopy(toy_sd)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in broken.unet.parameters():
            p.copy_(p.flatten()[torch.randperm(p.numel(), generator=generator)].view_as(p))
    assert good * 5 < quality.sd_fid(broken, n=500)["fid"]
