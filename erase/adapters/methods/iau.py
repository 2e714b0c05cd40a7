"""IAU: influence approximation unlearning (Liu et al. 2025, "Efficient Machine Unlearning via Influence
Approximation"; official `IAU_unlearn.py`).

One optimiser step along the gradient of L(D_r) - L(D_f), each a full-batch mean loss (the official script
back-propagates both losses into the same `.grad`, then takes one Adam step at `--lr 0.001`). The paper also
trains the original with its gradient-restriction loss (`--model_fix_flag 1`); here the original is shared by
every method and trained plainly, so IAU starts from the same model as the others (a deviation).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from erase.adapters.api import Context, UnlearnData
from erase.adapters.loops import task_loss, tensors


@dataclass(frozen=True)
class IAUConfig:
    lr: float = 1e-3  # official utility/parser.py --lr 0.001 (Adam)
    steps: int = 1  # official IAU_unlearn.py: a single optimizer.step()


def unlearn(model: nn.Module, data: UnlearnData, cfg: IAUConfig, ctx: Context) -> nn.Module:
    loss = task_loss(data.num_classes)
    (xr, yr), (xf, yf) = tensors(data.retain), tensors(data.forget)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    model.train()
    for _ in range(cfg.steps):
        optimizer.zero_grad()
        (loss(model, xr.to(ctx.device), yr.to(ctx.device)) - loss(model, xf.to(ctx.device), yf.to(ctx.device))
         ).backward()
        optimizer.step()
    return model.eval()
