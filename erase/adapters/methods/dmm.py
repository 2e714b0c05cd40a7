"""DMM: datamodel matching (Georgiev, Rinberg, Park, Garg, Ilyas, Madry, Neel 2024, "Attribute-to-Delete: Machine
Unlearning via Datamodel Matching"; the paper's code: `dm_direct.py::DatamodelWrappedModel`,
`oracle_matching.py::dm_matching`).

1. Attribution: a linear datamodel gives every training sample i an effect tau(x, i) on every logit of every
   input x; the predicted outputs without D_f are f(x) - sum over i in D_f of tau(x, i) (`DatamodelWrappedModel`,
   multiplier 1). The paper estimates tau with datamodels or TRAK over many trained models; our cheap, single-model
   attribution is the influence function (Koh & Liang 2017) of each sample's true-label cross-entropy on the
   logits, restricted to the last layer, where the loss is convex and its Hessian exact:
   tau(x, i) = -J(x) H^-1 g_i, with J(x) the logits' Jacobian in the head's weights, g_i = (p_i - y_i) (x) phi_i
   the sample's loss gradient and H = sum over D of (diag(p) - p p^T) (x) phi phi^T + damping I.
2. Matching (`dm_matching` defaults): fine-tune the whole model so its logits match the predicted ones (MSE) on D_f
   and 3 x |D_f| random retain samples, Adam at lr 5e-4, 5 epochs, lr x 0.95 after each, batch 512 (the toy preset
   scales it with the data, as every batch size).
Known limit (measured on digits): on a memorising original p_i ~ y_i, so influence predicts small changes (class
3's logit falls by ~1.6 when forgetting it, against a margin of ~16; 0.9-1.6 for damping in [1e-4, 1]);
retraining moves those logits far more.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader, TensorDataset

from erase.adapters.analytic import with_bias
from erase.adapters.api import Context, UnlearnData
from erase.adapters.loops import fit, loader_of, predict, rebatched, representations, tensors


@dataclass(frozen=True)
class DMMConfig:
    damping: float = 0.01  # ours: added to the head's Hessian (the outcome is flat over [1e-4, 1], see above)
    epochs: int = 5  # dm_matching: num_epochs=5
    lr: float = 5e-4  # dm_matching: learning_rate=5e-4 (optimizer "adam")
    lr_decay: float = 0.95  # finetune: ExponentialLR(gamma=0.95), stepped each epoch
    retain_multiplier: float = 3.0  # dm_matching: retain_multiplier=3.0 (retain samples per forget sample)
    batch_size: int = 512  # dm_matching: batch_size=512


HeadInputs = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def head_inputs_and_probs(model: nn.Module, loader: DataLoader, device: str) -> HeadInputs:
    """(phi with a bias column, softmax, labels, logits) over `loader`'s dataset, in float64."""
    logits, labels = predict(model, loader, device)
    phi = with_bias(representations(model, loader, device).double())
    return phi, logits.double().softmax(1), labels, logits.double()


def removal_effect(retain: HeadInputs, forget: HeadInputs, damping: float) -> torch.Tensor:
    """The head-weight change (C, d+1) predicted by removing D_f: H^-1 (over D = D_r u D_f) times the sum of D_f's
    loss gradients."""
    phi, p = torch.cat([retain[0], forget[0]]), torch.cat([retain[1], forget[1]])
    n, d = phi.shape
    c = p.shape[1]
    curvature = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]  # (n, C, C): the softmax CE Hessian in logits
    hessian = ((phi[:, None, :] * curvature.reshape(n, c * c, 1)).reshape(n, -1).T @ phi)  # (C*C*d, d)
    hessian = hessian.reshape(c, c, d, d).permute(0, 2, 1, 3).reshape(c * d, c * d)
    phi_f, p_f, y_f, _ = forget
    grads = ((p_f - F.one_hot(y_f, c).double())[:, :, None] * phi_f[:, None, :]).sum(0).reshape(-1)
    return torch.linalg.solve(hessian + damping * torch.eye(c * d, dtype=hessian.dtype), grads).reshape(c, d)


def predicted_outputs(model: nn.Module, data: UnlearnData, damping: float, ctx: Context
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_r, target_r, x_f, target_f): inputs and the datamodel's predicted logits without D_f."""
    retain, forget = (head_inputs_and_probs(model, loader, ctx.device) for loader in (data.retain, data.forget))
    delta = removal_effect(retain, forget, damping)
    predicted = [(logits + phi @ delta.T).float() for phi, _, _, logits in (retain, forget)]
    return tensors(data.retain)[0], predicted[0], tensors(data.forget)[0], predicted[1]


def unlearn(model: nn.Module, data: UnlearnData, cfg: DMMConfig, ctx: Context) -> nn.Module:
    xr, tr, xf, tf = predicted_outputs(model, data, cfg.damping, ctx)
    count = min(len(xr), int(cfg.retain_multiplier * len(xf)))
    keep = torch.randperm(len(xr), generator=torch.Generator().manual_seed(ctx.seed))[:count]
    stream = ConcatDataset([TensorDataset(xf, tf), TensorDataset(xr[keep], tr[keep])])
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=cfg.lr_decay)
    loader = rebatched(loader_of(stream, data.retain), cfg.batch_size, ctx.seed)
    return fit(model, loader, lambda m, x, t: F.mse_loss(m(x), t), optimizer, cfg.epochs, ctx, desc="DMM",
               scheduler=scheduler)
