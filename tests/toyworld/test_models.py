"""The shipped toy models meet their quality bars on held-out renders (issue: foundation)."""

import pytest

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


def test_clip_zero_shot_meets_the_bars():
    from transformers import CLIPModel, CLIPTokenizer

    folder = _shipped("toy-clip")
    accuracy = quality.clip_zero_shot(CLIPModel.from_pretrained(folder), CLIPTokenizer.from_pretrained(folder))
    assert accuracy["subject"] >= 0.90, accuracy
    assert min(accuracy[h] for h in PERSON_ATTRIBUTES + ["style", "context"]) >= 0.85, accuracy


def test_every_shipped_folder_loads_offline(monkeypatch):
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPModel

    from erase.hub import load_pretrained

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert load_pretrained(CLIPModel, "toy-clip").config.projection_dim > 0
    pipe = load_pretrained(StableDiffusionPipeline, "toy-sd")
    assert pipe.tokenizer.model_max_length == 77 and pipe.scheduler.config.clip_sample is False
