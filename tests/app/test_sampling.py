"""The shared sampler loop gives exactly the pipeline's own images, whether or not the UNet is shared."""

import copy

import numpy as np
import torch

from erase.app.sampling import sample_together, share_identical
from erase.eval.sampling import SamplerConfig, generate

PROMPT = "a photo of a person wearing a hat"


def _perturbed(pipe, module: str):
    other = copy.deepcopy(pipe)
    with torch.no_grad():
        for p in getattr(other, module).parameters():
            p.add_(0.05 * torch.randn_like(p))
    return other


def test_one_loop_gives_each_pipelines_own_images(tiny_pipeline):
    new_text = _perturbed(tiny_pipeline, "text_encoder")  # as AdvUnlearn: the UNet is shared
    new_unet = _perturbed(tiny_pipeline, "unet")  # as ESD: two UNet calls per step
    assert share_identical(tiny_pipeline, new_text) == ["unet", "vae"]
    assert share_identical(tiny_pipeline, new_unet) == ["vae", "text_encoder"]
    assert new_text.unet is tiny_pipeline.unet and new_unet.unet is not tiny_pipeline.unet
    pipes = [tiny_pipeline, new_text, new_unet]
    together = sample_together(pipes, PROMPT, seed=7, steps=5, guidance=4.0)
    alone = np.concatenate([generate(p, [PROMPT], [7], SamplerConfig(steps=5, guidance_scale=4.0)) for p in pipes])
    assert together.shape == (3, 32, 32, 3) and together.dtype == np.uint8
    assert np.abs(together.astype(int) - alone.astype(int)).max() <= 1
    assert not np.array_equal(together[0], together[1]) and not np.array_equal(together[0], together[2])
