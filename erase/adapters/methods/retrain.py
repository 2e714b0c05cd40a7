"""Retrain: a fresh model trained on the retain set with the original's schedule; the reference of every table.

Unlearn-Sparse `unlearn/retrain.py` trains from scratch on D_r with the original recipe (README: 160 epochs at
lr 0.1 for CIFAR-10); here the schedule is the run's `train` section, the same one that trained the original.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from erase.adapters.api import Context, UnlearnData, fresh_copy
from erase.adapters.loops import train_model


@dataclass(frozen=True)
class RetrainConfig:
    """No knobs of its own: retrain reuses `train` (epochs, lr, ...), as the anchors do."""


def unlearn(model: nn.Module, data: UnlearnData, cfg: RetrainConfig, ctx: Context) -> nn.Module:
    return train_model(fresh_copy(model, ctx.seed), data.retain, data.num_classes, ctx, desc="retrain")
