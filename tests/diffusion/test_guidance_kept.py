"""scripts/guidance_kept.py: an untouched model keeps all of a prompt's guidance, a text-blind one none."""

import copy

import pytest
import torch

from tests.conftest import load_script


@pytest.fixture(scope="module")
def guidance_kept():
    return load_script("guidance_kept").guidance_kept


def test_an_untouched_copy_keeps_all_the_guidance(tiny_pipeline, guidance_kept):
    kept = guidance_kept(tiny_pipeline, copy.deepcopy(tiny_pipeline), "a photo of a car", runs=2, steps=5,
                         guidance=3.0)
    assert [share for _, share in kept] == pytest.approx([1.0] * 5, abs=1e-4)


def test_a_model_blind_to_the_text_keeps_none(tiny_pipeline, guidance_kept):
    blind = copy.deepcopy(tiny_pipeline)
    with torch.no_grad():
        for name, module in blind.unet.named_modules():
            if name.endswith("attn2.to_v"):
                module.weight.zero_()  # every prompt then gives the same cross-attention output
    kept = guidance_kept(tiny_pipeline, blind, "a photo of a car", runs=2, steps=5, guidance=3.0)
    assert [share for _, share in kept] == pytest.approx([0.0] * 5, abs=1e-4)
