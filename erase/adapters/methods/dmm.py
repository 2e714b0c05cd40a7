"""DMM: datamodel matching (Georgiev et al. 2024, "Attribute-to-Delete: Machine Unlearning via Datamodel
Matching"; MadryLab).

1. Attribution: a datamodel predicts how each output of the model changes when the forget set is removed. The
   paper uses TRAK; on this small data we use an exact cheap one: a ridge regression of the model's logits on its
   last-layer representations, with the forget rows removed in closed form (`analytic.rls_remove`):
   predicted logits f(x) + phi(x) (W_without_f - W).
2. Oracle matching: fine-tune the whole model so its logits match the predicted ones (MSE) on the forget set and
   a random share of the retain set, as OM does with oracle outputs.
Defaults of step 2 are ours (the paper tunes epochs and lr per dataset); the ridge gamma as ACU's.
Known gap: this datamodel is degenerate. The logits are exactly linear in the last-layer representations (they
are the head's output), so the ridge fit reproduces the head with ~0 residuals and removing the forget rows
(W' = W + R' Phi_f^T (Phi_f W - Y_f)) predicts ~no change: DMM then matches the original's own outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import ConcatDataset, TensorDataset

from erase.adapters.analytic import ridge_fit, rls_remove, with_bias
from erase.adapters.api import Context, UnlearnData
from erase.adapters.loops import fit, loader_of, predict, representations, sgd, tensors, train_loader


@dataclass(frozen=True)
class DMMConfig:
    gamma: float = 1.0  # ridge regularisation of the last-layer datamodel (as ACU)
    epochs: int = 10  # ours: oracle-matching epochs (paper tunes per dataset)
    lr: float = 0.01  # ours: SGD lr of oracle matching
    retain_fraction: float = 0.3  # ours: share of D_r matched besides D_f


def predicted_outputs(model: nn.Module, data: UnlearnData, gamma: float, ctx: Context
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_r, target_r, x_f, target_f): inputs and the datamodel's predicted logits without D_f."""
    full = train_loader(data, ctx.seed)
    r, w = ridge_fit(with_bias(representations(model, full, ctx.device)), predict(model, full, ctx.device)[0], gamma)
    phi_f = with_bias(representations(model, data.forget, ctx.device))
    _, w_removed = rls_remove(r, w, phi_f, predict(model, data.forget, ctx.device)[0])
    out = []
    for loader in (data.retain, data.forget):
        phi = with_bias(representations(model, loader, ctx.device)).double()
        out += [tensors(loader)[0], (predict(model, loader, ctx.device)[0] + phi @ (w_removed - w)).float()]
    return out[0], out[1], out[2], out[3]


def unlearn(model: nn.Module, data: UnlearnData, cfg: DMMConfig, ctx: Context) -> nn.Module:
    xr, tr, xf, tf = predicted_outputs(model, data, cfg.gamma, ctx)
    keep = torch.randperm(len(xr), generator=torch.Generator().manual_seed(ctx.seed))[
        : int(cfg.retain_fraction * len(xr))]
    stream = ConcatDataset([TensorDataset(xr[keep], tr[keep]), TensorDataset(xf, tf)])
    return fit(model, loader_of(stream, data.retain, seed=ctx.seed), lambda m, x, t: F.mse_loss(m(x), t),
               sgd(model, cfg.lr), cfg.epochs, ctx, desc="DMM")
