"""SCRUB (Kurmanji et al., NeurIPS 2023; meghdadk/SCRUB, `large_scale_unlearning.ipynb` settings).

A student (the original) and a frozen teacher (a copy of it). Each epoch: while epoch <= msteps, a max-step
pass over D_f (loss = -KL(teacher || student) at temperature kd_T); then a min-step pass over D_r
(loss = gamma CE + alpha KL). KL is RepDistiller's `DistillKL`: summed, x T^2, / batch. SGD with momentum and
weight decay; lr decays by `lr_decay_rate` after each epoch in `lr_decay_epochs` (`sgda_adjust_learning_rate`).
The forget and retain passes use the notebook's loaders' batch sizes (512 and 256; its `del_batch_size` 32 and
`sgda_batch_size` 128 are set but unused), which the toy preset scales with the data like every other batch size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from erase.adapters.api import Context, UnlearnData
from erase.adapters.loops import fit, frozen_copy, rebatched, sgd


@dataclass(frozen=True)
class SCRUBConfig:
    epochs: int = 3  # notebook: args.sgda_epochs = 3
    msteps: int = 2  # notebook: args.msteps = 2
    lr: float = 5e-4  # notebook: args.sgda_learning_rate = 0.0005
    gamma: float = 0.99  # notebook: args.gamma = 0.99 (CE weight)
    alpha: float = 0.001  # notebook: args.alpha = 0.001 (KL weight in the min step)
    kd_T: float = 4.0  # notebook: args.kd_T = 4
    lr_decay_epochs: tuple[int, ...] = (3, 5, 9)  # notebook: args.lr_decay_epochs
    lr_decay_rate: float = 0.1  # notebook: args.lr_decay_rate
    forget_batch_size: int = 512  # notebook: forget_loader = replace_loader_dataset(..., batch_size=512)
    retain_batch_size: int = 256  # notebook: retain_loader = replace_loader_dataset(..., batch_size=256)


def distill_kl(student: torch.Tensor, teacher: torch.Tensor, t: float) -> torch.Tensor:
    """KL(softmax(teacher/T) || softmax(student/T)) summed, times T^2, over the batch size."""
    return F.kl_div(F.log_softmax(student / t, 1), F.softmax(teacher / t, 1), reduction="sum") * t**2 / len(student)


def unlearn(model: nn.Module, data: UnlearnData, cfg: SCRUBConfig, ctx: Context) -> nn.Module:
    teacher = frozen_copy(model)
    optimizer = sgd(model, cfg.lr)

    def max_loss(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return -distill_kl(m(x), teacher(x), cfg.kd_T)

    def min_loss(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = m(x)
        return cfg.gamma * F.cross_entropy(out, y) + cfg.alpha * distill_kl(out, teacher(x), cfg.kd_T)

    forget = rebatched(data.forget, cfg.forget_batch_size, ctx.seed)
    retain = rebatched(data.retain, cfg.retain_batch_size, ctx.seed)
    for epoch in range(1, cfg.epochs + 1):
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr * cfg.lr_decay_rate ** sum(epoch > e for e in cfg.lr_decay_epochs)
        if epoch <= cfg.msteps:
            fit(model, forget, max_loss, optimizer, 1, ctx, desc="SCRUB max")
        fit(model, retain, min_loss, optimizer, 1, ctx, desc="SCRUB min")
    return model
