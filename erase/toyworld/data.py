"""Batches of renders for training and evaluation: images, detector labels and captions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from erase.toyworld.render import render_batch
from erase.toyworld.world import HEADS, Scene, caption, sample_scene


@dataclass
class Batch:
    scenes: list[Scene]
    images: torch.Tensor  # (N, 3, 32, 32) float in [-1, 1]
    labels: dict[str, torch.Tensor]  # head -> (N,) long, -1 where the head does not apply
    captions: list[str]


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) float in [-1, 1] -> (N, H, W, 3) uint8."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def make_batch(scenes: list[Scene], rng: np.random.Generator) -> Batch:
    labels = [s.labels() for s in scenes]
    return Batch(
        scenes=scenes,
        images=to_tensor(render_batch(scenes)),
        labels={h: torch.tensor([lab[h] for lab in labels]) for h in HEADS},
        captions=[caption(s, rng) for s in scenes],
    )


def batches(seed: int, batch_size: int):
    """An endless stream of fresh random batches, deterministic from the seed."""
    rng = np.random.default_rng(seed)
    while True:
        yield make_batch([sample_scene(rng) for _ in range(batch_size)], rng)
