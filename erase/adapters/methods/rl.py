"""RL: random labels. Each epoch trains on the forget set with uniformly random labels, then on the retain set.

Baseline of SalUn (Fan et al. 2024), `Classification/unlearn/RL.py`, CIFAR-10 branch (forget pass, then retain
pass, labels redrawn per batch with `torch.randint(0, num_classes)`); SGD, momentum 0.9, wd 5e-4.
`random_label_epochs` is shared with SalUn, which runs the same loop under its saliency mask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from erase.adapters.api import Context, UnlearnData
from erase.adapters.loops import fit, sgd


@dataclass(frozen=True)
class RLConfig:
    epochs: int = 10  # SalUn README (random forgetting, RL): --unlearn_epochs 10
    lr: float = 0.013  # SalUn README: --unlearn_lr 0.013


def random_label_epochs(model: nn.Module, data: UnlearnData, epochs: int, lr: float, ctx: Context,
                        after_backward: Callable[[], None] | None = None,
                        after_step: Callable[[], None] | None = None, desc: str = "RL") -> nn.Module:
    """`epochs` x (forget set with random labels, then retain set with true labels), one optimiser."""
    if data.num_classes <= 0:
        raise ValueError("random labels need a classifier (num_classes > 0)")
    optimizer = sgd(model, lr)
    generator = torch.Generator().manual_seed(ctx.seed)

    def random_label_loss(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        labels = torch.randint(0, data.num_classes, y.shape, generator=generator).to(y.device)
        return F.cross_entropy(m(x), labels)

    def true_label_loss(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(m(x), y)

    for _ in range(epochs):
        fit(model, data.forget, random_label_loss, optimizer, 1, ctx, desc, after_backward=after_backward,
            after_step=after_step)
        fit(model, data.retain, true_label_loss, optimizer, 1, ctx, desc, after_backward=after_backward,
            after_step=after_step)
    return model


def unlearn(model: nn.Module, data: UnlearnData, cfg: RLConfig, ctx: Context) -> nn.Module:
    return random_label_epochs(model, data, cfg.epochs, cfg.lr, ctx)
