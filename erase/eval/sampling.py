"""Generation for evaluation: the same prompt and seed give the same image, whatever the batch."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm


@dataclass(frozen=True)
class SamplerConfig:
    steps: int = 25  # DDIM steps
    guidance_scale: float = 5.0
    batch_size: int = 64


class _RepeatCache(nn.Module):
    """A layer that, without autograd, returns its last output again when called on an equal input."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            return self.layer(x)
        last = self._last
        if last is None or not (last[0] is x or (last[0].shape == x.shape and torch.equal(last[0], x))):
            self._last = last = (x, self.layer(x))
        return last[1]


@contextlib.contextmanager
def cached_text_projections(unet: nn.Module) -> Iterator[None]:
    """Within the block, each cross-attention layer of `unet` projects a prompt's text embeddings to keys and
    values once instead of at every denoising step: the text is the same at every step, so is the result.

    On the toy SD the projections of the 77 padded tokens are most of the UNet's linear-layer work.
    Only inference (no autograd) is cached; the layers are restored on exit.
    """
    from diffusers.models.attention_processor import Attention

    layers = [m for m in unet.modules() if isinstance(m, Attention) and m.is_cross_attention]
    for attn in layers:
        attn.to_k, attn.to_v = _RepeatCache(attn.to_k), _RepeatCache(attn.to_v)
    try:
        yield
    finally:
        for attn in layers:
            attn.to_k, attn.to_v = attn.to_k.layer, attn.to_v.layer


@torch.no_grad()
def generate(pipe, prompts: list[str] | torch.Tensor, seeds: list[int], sampler: SamplerConfig = SamplerConfig(),
             desc: str = "generate") -> np.ndarray:
    """(N, H, W, 3) uint8 images; image i is drawn from prompt i with its own generator seeded by seeds[i].

    `prompts` may also be text-encoder outputs (N, 77, D), e.g. an attack's adversarial prompts. Under
    `accelerate launch`, each process draws every n-th image and all processes return all N images.
    """
    from erase.parallel import process_state

    state = process_state()
    if state.num_processes == 1 or not seeds:
        return _generate(pipe, prompts, seeds, sampler, desc)
    from accelerate.utils import gather_object

    mine = list(range(state.process_index, len(seeds), state.num_processes))
    local = _generate(pipe, prompts[mine[0]:: state.num_processes] if mine else prompts[:0],
                      [seeds[i] for i in mine], sampler, desc)
    parts = [part for part in gather_object([(mine, local)]) if part[0]]
    images = np.empty((len(seeds), *parts[0][1].shape[1:]), np.uint8)
    for indices, part in parts:
        images[indices] = part
    return images


def _generate(pipe, prompts: list[str] | torch.Tensor, seeds: list[int], sampler: SamplerConfig,
              desc: str) -> np.ndarray:
    out = []
    device = pipe.device
    with cached_text_projections(pipe.unet):
        for start in tqdm(range(0, len(seeds), sampler.batch_size), desc=desc, leave=False):
            chunk = slice(start, start + sampler.batch_size)
            generators = [torch.Generator(device).manual_seed(s) for s in seeds[chunk]]
            text = {"prompt_embeds": prompts[chunk]} if torch.is_tensor(prompts) else {"prompt": prompts[chunk]}
            images = pipe(**text, num_inference_steps=sampler.steps, guidance_scale=sampler.guidance_scale,
                          generator=generators, output_type="np").images
            out.append((images * 255).round().astype(np.uint8))
    return np.concatenate(out) if out else np.empty((0, 0, 0, 3), np.uint8)
