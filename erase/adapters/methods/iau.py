"""IAU: influence approximation unlearning (Liu, Wu, Lian and Chen 2025, "Efficient Machine Unlearning via Influence
Approximation"; official code: `train_model.py`, `IAU_unlearn.py`, `utility/parser.py`).

1. Preparation (`prepare`, the paper's pipeline): the original is trained with the gradient-restriction (GR) loss,
   l(z) + alpha * sum over parameter tensors of ||grad_tensor l(z)||_2 of the batch loss (`train_model.py
   --model_fix_flag=1 --alpha=0.005`). The run's shared original is trained without it, so IAU trains its own: a
   fresh copy of the architecture (same seed, hence the same initialisation), the run's `train` schedule and data
   D = D_r u D_f, plus the GR term. This is the deployed model's one-off training, not part of an unlearning
   request, so runs report it apart (`prep_s`), as the paper reports unlearning time. Deviation: the official
   script trains with Adam at lr 1e-3, batch 64 and early stopping on a validation split; we keep the run's
   schedule so the GR term is the only difference from the shared original.
2. Unlearning (`unlearn`): one optimiser step along the gradient of L(D_r) - L(D_f), each a full-batch mean loss
   (`IAU_unlearn.py` back-propagates both losses into the same `.grad`, then takes one Adam step at lr 1e-3).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from erase.adapters.api import Context, UnlearnData, fresh_copy
from erase.adapters.loops import LossFn, task_loss, tensors, train_loader, train_model


@dataclass(frozen=True)
class IAUConfig:
    lr: float = 1e-3  # official utility/parser.py --lr 0.001 (Adam)
    steps: int = 1  # official IAU_unlearn.py: a single optimizer.step()
    alpha: float = 0.005  # official README: train_model.py --model_fix_flag=1 --alpha=0.005 (GR coefficient)
    restricted_original: bool = True  # prepare the GR original (the paper's pipeline); False: step from `model`


def gradient_restricted(loss: LossFn, alpha: float) -> LossFn:
    """The GR loss: `loss` + alpha * the sum over parameter tensors of the L2 norm of its gradient (double
    back-propagation, as the official `create_graph=True`)."""

    def gr_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        value = loss(model, x, y)
        grads = torch.autograd.grad(value, list(model.parameters()), create_graph=True)
        return value + alpha * sum(g.norm() for g in grads)

    return gr_loss


def prepare(model: nn.Module, data: UnlearnData, cfg: IAUConfig, ctx: Context) -> nn.Module:
    """The GR-trained original IAU unlearns from (`model` itself when `restricted_original` is off)."""
    if not cfg.restricted_original:
        return model
    return train_model(fresh_copy(model, ctx.seed), train_loader(data, ctx.seed), data.num_classes, ctx,
                       desc="IAU: GR original", loss_fn=gradient_restricted(task_loss(data.num_classes), cfg.alpha))


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
