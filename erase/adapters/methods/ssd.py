"""SSD: selective synaptic dampening (Foster et al., AAAI 2024; if-loops/selective-synaptic-dampening).

No training. Importances are the diagonal Fisher estimated as in `src/ssd.py::calc_importance`: the mean over
batches of the squared batch gradient of CE, on D_f and on the full training set D (`full_train_dl`). A weight
is selected where []_f > alpha []_D and multiplied by min(lambda []_D / []_f, 1) (`modify_weight`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

from erase.adapters.api import Context, UnlearnData
from erase.adapters.loops import LossFn, batch_grads, rebatched, task_loss, train_loader


@dataclass(frozen=True)
class SSDConfig:
    alpha: float = 10.0  # official forget_*_main.py: "selection_weighting": 10 * model_size_scaler (1 for ResNet18)
    dampening: float = 1.0  # official forget_*_main.py: "dampening_constant": 1 (lambda)
    batch_size: int = 64  # official forget_*_main.py: -b default 64 (the importances are means over batches)


def importance(model: nn.Module, loader: DataLoader, loss: LossFn, device: str) -> dict[str, torch.Tensor]:
    """Mean over batches of the squared batch gradient."""
    total, batches = {}, 0
    for grads in batch_grads(model, loader, loss, device):
        batches += 1
        for name, g in grads.items():
            total[name] = total.get(name, 0) + g.pow(2)
    return {name: t / batches for name, t in total.items()}


@torch.no_grad()
def dampen(model: nn.Module, full: dict[str, torch.Tensor], forget: dict[str, torch.Tensor],
           alpha: float, dampening: float) -> None:
    """The SSD update in place."""
    for name, p in model.named_parameters():
        selected = forget[name] > alpha * full[name]
        factor = (dampening * full[name] / forget[name]).clamp(max=1.0)
        p.mul_(torch.where(selected, factor, torch.ones_like(factor)))


def unlearn(model: nn.Module, data: UnlearnData, cfg: SSDConfig, ctx: Context) -> nn.Module:
    loss = task_loss(data.num_classes)
    forget = importance(model, rebatched(data.forget, cfg.batch_size, ctx.seed), loss, ctx.device)
    full = importance(model, rebatched(train_loader(data, ctx.seed), cfg.batch_size, ctx.seed), loss, ctx.device)
    dampen(model, full, forget, cfg.alpha, cfg.dampening)
    return model
