"""The one training loop every toy model uses: fresh renders each step, AdamW with cosine decay,
checkpoints under the run directory, exact resume, a tqdm bar.

A model's trainer supplies the modules to train and a `loss_fn(batch, step) -> (loss, logs)`;
the batch of step i depends only on (seed, i), so a resumed run sees the same data as an
uninterrupted one.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from erase.runs import Run, atomic_write_text
from erase.toyworld.data import Batch, make_batch
from erase.toyworld.world import sample_scene

logger = logging.getLogger(__name__)
TRAIN_SECONDS = "train_seconds.txt"  # total training time of a run, across resumes


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


def batch_at(seed: int, step: int, batch_size: int) -> Batch:
    """The training batch of one step: a pure function of (seed, step)."""
    rng = np.random.default_rng([seed, step])
    return make_batch([sample_scene(rng) for _ in range(batch_size)], rng)


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
    """Train `modules` in place for `schedule.steps`, resuming from the run's latest checkpoint."""
    params = [p for m in modules.values() for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=schedule.lr, weight_decay=schedule.weight_decay)
    ema = {f"{n}-ema": copy.deepcopy(m).requires_grad_(False) for n, m in modules.items()} if schedule.ema_decay else {}
    start, seconds = 0, 0.0
    if run.latest_checkpoint() is not None:
        start, state, extra = run.load_checkpoint()
        seconds = extra["seconds"]
        for name, module in {**modules, **ema}.items():
            module.load_state_dict(state[name])
        optimizer.load_state_dict(state["optimizer"])
        logger.info("resumed %s at step %d", desc, start)
    for m in modules.values():
        m.train()
    began = time.time() - seconds
    bar = tqdm(range(start, schedule.steps), initial=start, total=schedule.steps, desc=desc)
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(step, schedule)
        loss, logs = loss_fn(batch_at(schedule.seed, step, schedule.batch_size), step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        _update_ema(ema, modules, min(schedule.ema_decay, (1 + step) / (10 + step)))
        bar.set_postfix(loss=f"{loss.item():.4f}", **{k: f"{v:.3f}" for k, v in logs.items()})
        if (step + 1) % schedule.checkpoint_every == 0 or step + 1 == schedule.steps:
            state = {name: m.state_dict() for name, m in {**modules, **ema}.items()}
            extra = {"seconds": time.time() - began}
            run.save_checkpoint(step + 1, {**state, "optimizer": optimizer.state_dict()}, extra)
    atomic_write_text(run.dir / TRAIN_SECONDS, f"{time.time() - began:.0f}\n")
    for name, m in modules.items():
        if ema:
            m.load_state_dict(ema[f"{name}-ema"].state_dict())
        m.eval()


@torch.no_grad()
def _update_ema(ema: dict[str, nn.Module], modules: dict[str, nn.Module], decay: float) -> None:
    for name, shadow in ema.items():
        for avg, live in zip(shadow.parameters(), modules[name.removesuffix("-ema")].parameters(), strict=True):
            avg.lerp_(live, 1.0 - decay)
