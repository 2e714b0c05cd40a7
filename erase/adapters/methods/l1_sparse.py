"""l1-sparse: fine-tune on the retain set with an l1 penalty on all weights whose weight decays linearly to 0.

Jia et al. (NeurIPS 2023), "Model Sparsity Can Simplify Machine Unlearning", OPTML-Group/Unlearn-Sparse
`unlearn/FT.py::FT_l1` (the README's `--unlearn FT_prune`): loss = CE + alpha_t * ||theta||_1 with
alpha_t = alpha * (1 - t / (epochs - no_l1_epochs)), 0 afterwards.

alpha: the official README leaves `--alpha ${alpha}` to the user, and `arg_parser.py`'s default 0.2 belongs to the
flag it shares with Fisher forgetting ("unlearn noise"; 0.2 x ||theta||_1 would zero the model). The default here
is 1e-4, the value public runs of the official code pass (JingWu321/Scissorhands `Classification/sh/*.sh`: CIFAR-10,
SVHN, CelebA-HQ); the paper's appendix value could not be checked from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from erase.adapters.api import Context, UnlearnData
from erase.adapters.loops import fit, sgd, task_loss


@dataclass(frozen=True)
class L1SparseConfig:
    epochs: int = 10  # Unlearn-Sparse README: FT_prune --unlearn_epochs 10
    lr: float = 0.01  # Unlearn-Sparse README: FT_prune --unlearn_lr 0.01
    alpha: float = 1e-4  # --alpha 1e-4 of public runs of the official code (see the module docstring)
    no_l1_epochs: int = 0  # official arg_parser.py --no-l1-epochs


def unlearn(model: nn.Module, data: UnlearnData, cfg: L1SparseConfig, ctx: Context) -> nn.Module:
    loss = task_loss(data.num_classes)
    optimizer = sgd(model, cfg.lr)
    l1_epochs = cfg.epochs - cfg.no_l1_epochs
    for epoch in range(cfg.epochs):
        alpha = cfg.alpha * (1 - epoch / l1_epochs) if epoch < l1_epochs else 0.0

        def penalised(m: nn.Module, x: torch.Tensor, y: torch.Tensor, alpha: float = alpha) -> torch.Tensor:
            return loss(m, x, y) + alpha * sum(p.abs().sum() for p in m.parameters())

        fit(model, data.retain, penalised, optimizer, 1, ctx, desc="l1-sparse")
    return model
