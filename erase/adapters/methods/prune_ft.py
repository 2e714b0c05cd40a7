"""Prune first, then unlearn (Jia et al., NeurIPS 2023, OPTML-Group/Unlearn-Sparse).

1. One-shot magnitude pruning (OMP, `pruner/omp.py`): keep the largest (1 - rate) fraction of the weights of
   every Linear/Conv layer, globally by |w|.
2. The sparse original: the pruned model trained on D = D_r u D_f with the mask fixed, on the run's `train`
   schedule. Deviation: the official `rewind_lt` rewinds to the weights of epoch 8 before that training; we
   continue from the trained weights (no epoch-8 checkpoint exists for the shared original).
3. Unlearn with FT on D_r, the mask fixed (the paper's headline pairing, "sparsity-aware FT").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from erase.adapters.api import Context, UnlearnData
from erase.adapters.loops import fit, mask_grads, sgd, task_loss, top_fraction_mask, train_loader, train_model


@dataclass(frozen=True)
class PruneFTConfig:
    rate: float = 0.95  # Unlearn-Sparse arg_parser.py --rate 0.95 (OMP)
    epochs: int = 10  # Unlearn-Sparse README: FT --unlearn_epochs 10
    lr: float = 0.01  # Unlearn-Sparse README: FT --unlearn_lr 0.01


def magnitude_mask(model: nn.Module, rate: float) -> dict[str, torch.Tensor]:
    """1 for the global top (1 - rate) |w| among weight matrices/kernels; biases stay dense."""
    weights = {n: p.detach().abs() for n, p in model.named_parameters() if p.dim() > 1}
    mask = top_fraction_mask(weights, 1.0 - rate)
    return {n: mask.get(n, torch.ones_like(p)) for n, p in model.named_parameters()}


def unlearn(model: nn.Module, data: UnlearnData, cfg: PruneFTConfig, ctx: Context) -> nn.Module:
    mask = magnitude_mask(model, cfg.rate)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.mul_(mask[name])
    keep_sparse = mask_grads(model, mask)
    train_model(model, train_loader(data, ctx.seed), data.num_classes, ctx, "sparse original", keep_sparse)
    return fit(model, data.retain, task_loss(data.num_classes), sgd(model, cfg.lr), cfg.epochs, ctx,
               desc="prune+FT", after_backward=keep_sparse)
