"""Blindspot unlearning for regression (Tarun et al., ICML 2023, "Deep Regression Unlearning";
ayushkumartarun/deep-regression-unlearning).

1. A blindspot (proxy) model: a fresh model trained briefly on D_r only (notebook: 2 epochs, `fit_one_cycle`,
   Adam lr 0.01).
2. The original learns on D_r u D_f in one stream: retain samples by L1 to their labels, forget samples by L1 to
   the blindspot model's output plus AT_beta x the attention-transfer distance of every hidden activation
   (`forget_loss`); each part weighted by its share of the batch (`fit_one_forget_cycle`, Adam lr 0.001, 1 epoch).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import ConcatDataset, TensorDataset

from erase.adapters.api import Context, UnlearnData, fresh_copy
from erase.adapters.loops import fit, frozen_copy, loader_of, task_loss, tensors


@dataclass(frozen=True)
class BlindspotConfig:
    proxy_epochs: int = 2  # notebook: blindspot model, epochs = 2
    proxy_lr: float = 0.01  # utils.py fit_one_cycle default lr=0.01 (Adam)
    epochs: int = 1  # notebook: unlearning, epochs = 1
    lr: float = 1e-3  # notebook: fit_one_forget_cycle(..., lr = 0.001)
    at_beta: float = 50.0  # unlearn.py forget_loss: AT_beta = 50


def hidden_activations(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The output and every nonlinearity's output (the activations attention transfer compares)."""
    acts: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: acts.append(out))
             for m in model.modules() if isinstance(m, (nn.ReLU, nn.GELU, nn.Tanh, nn.SiLU))]
    try:
        out = model(x)
    finally:
        for h in hooks:
            h.remove()
    return out.squeeze(-1), acts


def attention(a: torch.Tensor) -> torch.Tensor:
    """Attention-transfer map (Zagoruyko & Komodakis): normalised mean of squares over channels."""
    return F.normalize(a.pow(2).mean(1).view(len(a), -1) if a.dim() > 2 else a.pow(2), dim=1)


def unlearn(model: nn.Module, data: UnlearnData, cfg: BlindspotConfig, ctx: Context) -> nn.Module:
    proxy = fresh_copy(model, ctx.seed + 1)
    fit(proxy, data.retain, task_loss(data.num_classes), torch.optim.Adam(proxy.parameters(), lr=cfg.proxy_lr),
        cfg.proxy_epochs, ctx, desc="blindspot proxy")
    proxy = frozen_copy(proxy)
    (xr, yr), (xf, yf) = tensors(data.retain), tensors(data.forget)
    stream = ConcatDataset([TensorDataset(xr, yr, torch.zeros(len(xr))), TensorDataset(xf, yf, torch.ones(len(xf)))])

    def loss(m: nn.Module, x: torch.Tensor, y: torch.Tensor, is_forget: torch.Tensor) -> torch.Tensor:
        out, acts = hidden_activations(m, x)
        f = is_forget.bool()
        total = out.new_zeros(())
        if (~f).any():
            total = total + (~f).float().mean() * F.l1_loss(out[~f], y[~f])
        if f.any():
            with torch.no_grad():
                p_out, p_acts = hidden_activations(proxy, x)
            at = sum((attention(a[f]) - attention(b[f])).pow(2).mean() for a, b in zip(acts, p_acts, strict=True))
            total = total + f.float().mean() * (F.l1_loss(out[f], p_out[f]) + cfg.at_beta * at)
        return total

    return fit(model, loader_of(stream, data.retain, seed=ctx.seed), loss,
               torch.optim.Adam(model.parameters(), lr=cfg.lr), cfg.epochs, ctx, desc="blindspot")
