"""Bad teacher (Chundawat et al., AAAI 2023; vikram2000b/bad-teaching-unlearning, `unlearn.py`).

The student (the original) distils from the competent teacher (a frozen copy) on a random share of D_r and from
an incompetent teacher (a randomly initialised model of the same architecture) on D_f, in one shuffled stream:
loss = KL(teacher_mix || student) at temperature T. The official `F.kl_div` default reduction ("mean" over
batch x classes) is replaced by "batchmean"; under Adam the two differ only by a constant factor, which Adam's
normalisation removes. Defaults as SSD's re-run of it (`forget_*_strategies.py::blindspot`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import ConcatDataset, Subset, TensorDataset

from erase.adapters.api import Context, UnlearnData, fresh_copy
from erase.adapters.loops import fit, frozen_copy, loader_of, tensors


@dataclass(frozen=True)
class BadTeacherConfig:
    epochs: int = 1  # SSD forget_*_strategies.py::blindspot: epochs=1
    lr: float = 1e-4  # ibid.: Adam lr=0.0001
    temperature: float = 1.0  # ibid.: KL_temperature = 1
    retain_fraction: float = 0.3  # ibid.: random.sample(retain, int(0.3 * len(retain)))


def unlearn(model: nn.Module, data: UnlearnData, cfg: BadTeacherConfig, ctx: Context) -> nn.Module:
    good, bad = frozen_copy(model), frozen_copy(fresh_copy(model, ctx.seed + 1))
    xr, _ = tensors(data.retain)
    xf, _ = tensors(data.forget)
    chosen = torch.randperm(len(xr), generator=torch.Generator().manual_seed(ctx.seed))[
        : int(cfg.retain_fraction * len(xr))]
    stream = ConcatDataset([Subset(TensorDataset(xr, torch.zeros(len(xr))), chosen.tolist()),
                            TensorDataset(xf, torch.ones(len(xf)))])  # 1 = forget sample

    def loss(m: nn.Module, x: torch.Tensor, is_forget: torch.Tensor) -> torch.Tensor:
        t = cfg.temperature
        w = is_forget[:, None]
        target = w * F.softmax(bad(x) / t, 1) + (1 - w) * F.softmax(good(x) / t, 1)
        return F.kl_div(F.log_softmax(m(x) / t, 1), target, reduction="batchmean")

    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    return fit(model, loader_of(stream, data.retain, seed=ctx.seed), loss, optimizer, cfg.epochs, ctx,
               desc="bad teacher")
