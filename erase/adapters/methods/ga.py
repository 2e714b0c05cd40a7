"""GA: gradient ascent on the forget set's loss (NegGrad).

Baseline of Unlearn-Sparse (Jia et al. 2023), `unlearn/GA.py`: loss = -CE on D_f; SGD, momentum 0.9, wd 5e-4.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from erase.adapters.api import Context, UnlearnData
from erase.adapters.loops import fit, sgd, task_loss


@dataclass(frozen=True)
class GAConfig:
    epochs: int = 5  # Unlearn-Sparse README: GA --unlearn_epochs 5
    lr: float = 1e-4  # Unlearn-Sparse README: GA --unlearn_lr 0.0001


def unlearn(model: nn.Module, data: UnlearnData, cfg: GAConfig, ctx: Context) -> nn.Module:
    loss = task_loss(data.num_classes)
    return fit(model, data.forget, lambda m, x, y: -loss(m, x, y), sgd(model, cfg.lr), cfg.epochs, ctx, desc="GA")
