"""Generation for evaluation: the same prompt and seed give the same image, whatever the batch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm


@dataclass(frozen=True)
class SamplerConfig:
    steps: int = 25  # DDIM steps
    guidance_scale: float = 5.0
    batch_size: int = 64


@torch.no_grad()
def generate(pipe, prompts: list[str] | torch.Tensor, seeds: list[int], sampler: SamplerConfig = SamplerConfig(),
             desc: str = "generate") -> np.ndarray:
    """(N, H, W, 3) uint8 images; image i is drawn from prompt i with its own generator seeded by seeds[i].

    `prompts` may also be text-encoder outputs (N, 77, D), e.g. an attack's adversarial prompts.
    """
    out = []
    device = pipe.device
    for start in tqdm(range(0, len(prompts), sampler.batch_size), desc=desc, leave=False):
        chunk = slice(start, start + sampler.batch_size)
        generators = [torch.Generator(device).manual_seed(s) for s in seeds[chunk]]
        text = {"prompt_embeds": prompts[chunk]} if torch.is_tensor(prompts) else {"prompt": prompts[chunk]}
        images = pipe(**text, num_inference_steps=sampler.steps, guidance_scale=sampler.guidance_scale,
                      generator=generators, output_type="np").images
        out.append((images * 255).round().astype(np.uint8))
    return np.concatenate(out)
