"""ModHiFi-U: remove the components with the highest subset fidelity for the forget set (Kashyap et al.,
NeurIPS 2025, "ModHiFi: Identifying High Fidelity predictive components for Model Modification").

No gradients, no labels, no fine-tuning. For every Linear layer fed by hidden units, the output z = W a is a sum
of per-unit parts z_j = W[:, j] a_j; a unit's fidelity on a set S is the share of the output it reconstructs,
F_j(S) = E_S<z_j, z> / E_S ||z||^2 (the single-component Subset Fidelity; with uncorrelated units the optimal
subset is made of the top single scores). A unit is forget-specific when F_j(D_f) - F_j(D_r) is large; the top
`fraction` of units of each layer by that score are removed (their outgoing weights zeroed). The official code
(DhruvaKashyap/modhifi) was not reachable here: this follows the paper's definitions, with the retain set as the
"distributional access" the paper gets from synthetic data; `fraction` is ours.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from erase.adapters.api import Context, UnlearnData
from erase.adapters.loops import tensors


@dataclass(frozen=True)
class ModHiFiConfig:
    fraction: float = 0.1  # ours: share of each layer's input units removed


def layer_inputs(model: nn.Module, x: torch.Tensor) -> dict[nn.Linear, torch.Tensor]:
    """The input of every Linear layer on `x`."""
    seen: dict[nn.Linear, torch.Tensor] = {}
    hooks = [m.register_forward_hook(lambda mod, inp, out: seen.__setitem__(mod, inp[0].detach()))
             for m in model.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return seen


def fidelity(layer: nn.Linear, a: torch.Tensor) -> torch.Tensor:
    """(in_features,) share of the layer's output (bias excluded) reconstructed by each input unit."""
    z = a @ layer.weight.T  # (N, out)
    parts = a[:, :, None] * layer.weight.T[None]  # (N, in, out)
    return (parts * z[:, None]).sum((0, 2)) / z.pow(2).sum().clamp_min(1e-12)


@torch.no_grad()
def unlearn(model: nn.Module, data: UnlearnData, cfg: ModHiFiConfig, ctx: Context) -> nn.Module:
    model.eval()
    first = next(m for m in model.modules() if isinstance(m, nn.Linear))
    inputs_f = layer_inputs(model, tensors(data.forget)[0].to(ctx.device))
    inputs_r = layer_inputs(model, tensors(data.retain)[0].to(ctx.device))
    for layer, a_f in inputs_f.items():
        if layer is first:  # its inputs are pixels, not components
            continue
        score = fidelity(layer, a_f) - fidelity(layer, inputs_r[layer])
        k = int(round(cfg.fraction * layer.in_features))
        layer.weight[:, torch.argsort(score, descending=True)[:k]] = 0.0
    return model
