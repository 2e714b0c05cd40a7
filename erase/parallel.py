"""Data parallelism under `accelerate launch --multi_gpu --num_processes N`: every process draws its own
samples, gradients are averaged before each optimiser step (as DDP does), so the weights stay equal across
processes. On CPU the processes join over gloo only when accelerate is told `cpu=True` (without it each
process silently trains alone); see ../shared/FACTS.md.

Each process keeps its own run directory (the first the run's, process k the run's `rank-k/`), so
checkpoints, exact resume and per-process state (an adversary) work as in one process.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch


def process_state():
    """accelerate's state of this process: one of N under `accelerate launch`, otherwise the only one."""
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def is_main_process() -> bool:
    return process_state().is_main_process


def average_gradients(params: Iterable[torch.Tensor]) -> None:
    """Replace each gradient by its mean over the processes (no-op in one process)."""
    state = process_state()
    if state.num_processes == 1:
        return
    for p in params:
        if p.grad is not None:
            torch.distributed.all_reduce(p.grad)
            p.grad.div_(state.num_processes)


def process_dir(run_dir: Path | None) -> Path:
    """The run directory chosen by the first process (`run_dir` there; ignored elsewhere), as this process's:
    the first process's itself, process k's `rank-k/` inside it."""
    state = process_state()
    if state.num_processes == 1:
        return Path(run_dir)
    from accelerate.utils import broadcast_object_list

    shared = broadcast_object_list([str(run_dir) if state.is_main_process else None])[0]
    return Path(shared) if state.is_main_process else Path(shared) / f"rank-{state.process_index}"
