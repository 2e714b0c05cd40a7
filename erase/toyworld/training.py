"""How every toy model trains: fresh renders each step, AdamW with cosine decay, on the shared loop
of `erase.training` (checkpoints, exact resume, EMA).

A model's trainer supplies the modules to train and a `loss_fn(batch, step) -> (loss, logs)`; the
batch of step i depends only on (seed, i), so a resumed run sees the same data as an uninterrupted one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from erase.runs import Run
from erase.toyworld.data import Batch, make_batch
from erase.toyworld.world import counterfactual, sample_scene
from erase.training import Loop, fit


@dataclass(frozen=True)
class Schedule:
    steps: int
    batch_size: int
    lr: float
    warmup: int = 200
    weight_decay: float = 0.0
    checkpoint_every: int = 500
    seed: int = 0
    ema_decay: float = 0.0  # > 0: keep an exponential moving average of the weights and ship it
    twins: bool = False  # half of each batch: counterfactual twins of the other half's persons


def batch_at(seed: int, step: int, batch_size: int) -> Batch:
    """The training batch of one step: a pure function of (seed, step)."""
    rng = np.random.default_rng([seed, step])
    return make_batch([sample_scene(rng) for _ in range(batch_size)], rng)


def twin_batch_at(seed: int, step: int, batch_size: int) -> Batch:
    """Like `batch_at`, but the second half holds a counterfactual twin (`world.counterfactual`) of each
    person in the first half, a fresh scene for each object: in-batch hard negatives for small attributes."""
    rng = np.random.default_rng([seed, step])
    scenes = [sample_scene(rng) for _ in range(batch_size - batch_size // 2)]
    scenes += [counterfactual(s, rng) if s.subject == "person" else sample_scene(rng)
               for s in scenes[: batch_size // 2]]
    return make_batch(scenes, rng)


def cosine_lr(step: int, schedule: Schedule) -> float:
    if step < schedule.warmup:
        return schedule.lr * (step + 1) / schedule.warmup
    progress = (step - schedule.warmup) / max(1, schedule.steps - schedule.warmup)
    return schedule.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def train(
    modules: dict[str, nn.Module],
    loss_fn: Callable[[Batch, int], tuple[torch.Tensor, dict[str, float]]],
    schedule: Schedule,
    run: Run,
    desc: str,
) -> None:
    """Train `modules` in place for `schedule.steps` with AdamW and cosine decay, resuming from the run's
    latest checkpoint; with `schedule.ema_decay` the modules end on their moving average."""
    params = [p for m in modules.values() for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=schedule.lr, weight_decay=schedule.weight_decay)
    for m in modules.values():
        m.train()
    loop = Loop(steps=schedule.steps, checkpoint_every=schedule.checkpoint_every,
                lr_at=lambda step: cosine_lr(step, schedule), clip_grad_norm=1.0, ema_decay=schedule.ema_decay)
    batch_fn = twin_batch_at if schedule.twins else batch_at
    fit(modules, {"optimizer": optimizer},
        lambda step: loss_fn(batch_fn(schedule.seed, step, schedule.batch_size), step), loop, run, desc)
    for m in modules.values():
        m.eval()
