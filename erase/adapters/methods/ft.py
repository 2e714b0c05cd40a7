"""FT: fine-tune the original on the retain set only (catastrophic forgetting as unlearning).

Baseline of Unlearn-Sparse (Jia et al. 2023), `unlearn/FT.py`; SGD with momentum 0.9 and weight decay 5e-4
(`unlearn/impl.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from erase.adapters.api import Context, UnlearnData
from erase.adapters.loops import fit, sgd, task_loss


@dataclass(frozen=True)
class FTConfig:
    epochs: int = 10  # Unlearn-Sparse README: FT --unlearn_epochs 10
    lr: float = 0.01  # Unlearn-Sparse README: FT --unlearn_lr 0.01


def unlearn(model: nn.Module, data: UnlearnData, cfg: FTConfig, ctx: Context) -> nn.Module:
    return fit(model, data.retain, task_loss(data.num_classes), sgd(model, cfg.lr), cfg.epochs, ctx, desc="FT")
