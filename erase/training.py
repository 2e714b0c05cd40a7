"""The one optimisation loop: checkpoints under the run directory, exact resume, optional EMA, a tqdm bar.

A caller supplies the modules whose weights are trained (and checkpointed), the optimisers, any extra
tensors that carry state between steps (e.g. an adversarial embedding), and `step_fn(step) -> (loss,
logs)`. The loop does backward, gradient clipping, the step of `optimizers["optimizer"]` (other
optimisers are stepped by `step_fn` itself and only checkpointed here), EMA, checkpoints every
`checkpoint_every` steps, and writes `train_seconds.txt`, the run's total time across resumes.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from erase.parallel import average_gradients, is_main_process
from erase.runs import Run, atomic_write_text

logger = logging.getLogger(__name__)
TRAIN_SECONDS = "train_seconds.txt"
StepFn = Callable[[int], tuple[torch.Tensor, dict[str, float]]]


@dataclass
class Loop:
    steps: int
    checkpoint_every: int = 500
    lr_at: Callable[[int], float] | None = None  # learning rate of the main optimiser per step; None: constant
    clip_grad_norm: float | None = None
    ema_decay: float = 0.0  # > 0: keep an exponential moving average of the modules and end on it
    state: dict[str, torch.Tensor] = field(default_factory=dict)  # tensors saved and restored in place


def fit(modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer], step_fn: StepFn, loop: Loop,
        run: Run, desc: str) -> None:
    """Optimise `modules` in place for `loop.steps`, resuming from the run's latest checkpoint."""
    optimizer = optimizers["optimizer"]
    params = [p for group in optimizer.param_groups for p in group["params"]]
    ema = {f"{n}-ema": copy.deepcopy(m).requires_grad_(False) for n, m in modules.items()} if loop.ema_decay else {}
    start, seconds = _resume(run, {**modules, **ema}, optimizers, loop.state, desc)
    began = time.time() - seconds
    bar = tqdm(range(start, loop.steps), initial=start, total=loop.steps, desc=desc, disable=not is_main_process())
    for step in bar:
        if loop.lr_at is not None:
            for group in optimizer.param_groups:
                group["lr"] = loop.lr_at(step)
        loss, logs = step_fn(step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(params)  # under `accelerate launch`: the mean over the processes' samples
        if loop.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, loop.clip_grad_norm)
        optimizer.step()
        _update_ema(ema, modules, min(loop.ema_decay, (1 + step) / (10 + step)))
        bar.set_postfix(loss=f"{loss.item():.4f}", **{k: f"{v:.3f}" for k, v in logs.items()})
        if (step + 1) % loop.checkpoint_every == 0 or step + 1 == loop.steps:
            state = {name: m.state_dict() for name, m in {**modules, **ema}.items()}
            state |= {name: opt.state_dict() for name, opt in optimizers.items()}
            if loop.state:
                state["loop-state"] = dict(loop.state)
            run.save_checkpoint(step + 1, state, {"seconds": time.time() - began})
    atomic_write_text(run.dir / TRAIN_SECONDS, f"{time.time() - began:.0f}\n")
    for name, m in modules.items():
        if ema:
            m.load_state_dict(ema[f"{name}-ema"].state_dict())


def _resume(run: Run, modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer],
            state: dict[str, torch.Tensor], desc: str) -> tuple[int, float]:
    if run.latest_checkpoint() is None:
        return 0, 0.0
    step, saved, extra = run.load_checkpoint()
    for name, module in modules.items():
        module.load_state_dict(saved[name])
    for name, opt in optimizers.items():
        opt.load_state_dict(saved[name])
    for name, tensor in saved.get("loop-state", {}).items():
        state[name].data.copy_(tensor)
    logger.info("resumed %s at step %d", desc, step)
    return step, extra["seconds"]


@torch.no_grad()
def _update_ema(ema: dict[str, nn.Module], modules: dict[str, nn.Module], decay: float) -> None:
    for name, shadow in ema.items():
        for avg, live in zip(shadow.parameters(), modules[name.removesuffix("-ema")].parameters(), strict=True):
            avg.lerp_(live, 1.0 - decay)
