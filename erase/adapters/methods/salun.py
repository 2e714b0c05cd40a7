"""SalUn: saliency-masked random labelling (Fan et al., ICLR 2024; OPTML-Group/Unlearn-Saliency).

1. Saliency: |sum over forget batches of the gradient of -CE| (`Classification/generate_mask.py`); the mask keeps
   the global top `threshold` fraction of weights (the README's `mask/with_0.5.pt`).
2. RL under the mask: gradients outside it are zeroed and, as `_restore_masked_params` does, weights outside it
   are put back after each step (weight decay and momentum would otherwise move them).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from erase.adapters.api import Context, UnlearnData
from erase.adapters.loops import mask_grads, summed_grads, task_loss, top_fraction_mask
from erase.adapters.methods.rl import random_label_epochs


@dataclass(frozen=True)
class SalUnConfig:
    threshold: float = 0.5  # SalUn README: mask/with_0.5.pt (top 50% salient weights)
    epochs: int = 10  # SalUn README: --unlearn_epochs 10
    lr: float = 0.013  # SalUn README: --unlearn_lr 0.013


def saliency_mask(model: nn.Module, data: UnlearnData, threshold: float, device: str) -> dict[str, torch.Tensor]:
    loss = task_loss(data.num_classes)
    grads = summed_grads(model, data.forget, lambda m, x, y: -loss(m, x, y), device)
    return top_fraction_mask({name: g.abs() for name, g in grads.items()}, threshold)


def unlearn(model: nn.Module, data: UnlearnData, cfg: SalUnConfig, ctx: Context) -> nn.Module:
    mask = saliency_mask(model, data, cfg.threshold, ctx.device)
    frozen = {name: p.detach().clone() for name, p in model.named_parameters()}

    def restore() -> None:
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(torch.where(mask[name].bool(), p, frozen[name]))

    return random_label_epochs(model, data, cfg.epochs, cfg.lr, ctx, after_backward=mask_grads(model, mask),
                               after_step=restore, desc="SalUn")
