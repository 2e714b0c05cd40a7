"""S3T: sequence-aware sharded sliced training, exact unlearning by deactivating slices (Chowdhury et al.,
ICLR 2025, "Towards Scalable Exact Machine Unlearning Using Parameter-Efficient Fine-Tuning").

Training (`prepare`, the deployment's one-off training on D = D_r u D_f, before any request, so it never looks at
which samples will be forgotten): the data is split into `shards`; each shard trains `sequences` models (the
budget B), each on its own order of the shard's slices (one slice per layer). Layers are trained top-down and
cumulatively: the k-th trained layer sees slices 1..k of the sequence, the others frozen (paper §3.2, App. C.2).
The deployed model averages the shards' logits (first sequence of each shard).
Unlearning (`unlearn`, the request): per shard, the sequence whose first slice holding a forget sample comes latest
is kept; the layers trained with that slice and after are deactivated (reset to their initialisation, which no
data touched); if the first layer itself is affected, the deactivated layers are retrained on the shard's retained
data, SISA-style. Runs time the two apart (`prep_s` and `runtime_s`), as the paper reports unlearning time.
Deviation: at this size PEFT is not needed, so each slice trains a whole Linear layer instead of a LoRA adapter;
deactivating resets the layer instead of dropping the adapter. `shards`, `sequences` and the schedule are ours.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from erase.adapters.api import Context, UnlearnData, fresh_copy
from erase.adapters.loops import features_and_head, fit, loader_of, task_loss, tensors, train_loader
from erase.errors import EraseError


@dataclass(frozen=True)
class S3TConfig:
    shards: int = 2  # ours (toy size)
    sequences: int = 3  # ours: the budget B of slice orders per shard
    epochs: int = 20  # ours: epochs per layer stage
    lr: float = 1e-3  # ours: Adam


class Concat(nn.Module):
    """The members' representations side by side."""

    def __init__(self, parts: list[nn.Module]) -> None:
        super().__init__()
        self.parts = nn.ModuleList(parts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([f(x).flatten(1) for f in self.parts], 1)


class ShardEnsemble(nn.Module):
    """Mean of the members' logits, exposing `features` (concatenated) and `head` (block Linear) like one model."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        parts = [features_and_head(m) for m in members]
        self.features = Concat([f for f, _ in parts])
        heads = [h for _, h in parts]
        self.head = nn.Linear(sum(h.in_features for h in heads), heads[0].out_features)
        with torch.no_grad():
            self.head.weight.copy_(torch.cat([h.weight for h in heads], 1) / len(heads))
            self.head.bias.copy_(torch.stack([h.bias for h in heads]).mean(0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """Top-down: the head first."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)][::-1]


def reset_layers(model: nn.Module, init: dict[str, torch.Tensor], start: int) -> list[nn.Linear]:
    """Deactivate the top-down layers `start..`: back to their initial values. Returns all layers, top-down."""
    layers = linear_layers(model)
    names = {id(p): n for n, p in model.named_parameters()}
    with torch.no_grad():
        for layer in layers[start:]:
            for p in layer.parameters():
                p.copy_(init[names[id(p)]])
    return layers


def train_stages(model: nn.Module, init: dict[str, torch.Tensor], slices: list[TensorDataset], order: list[int],
                 num_classes: int, cfg: S3TConfig, ctx: Context, like) -> nn.Module:
    """Train every layer top-down from its initial value, stage k on slices order[:k + 1]."""
    layers = reset_layers(model, init, 0)
    for k in range(len(layers)):
        data = torch.utils.data.ConcatDataset([slices[i] for i in order[: k + 1]])
        if len(data) == 0:
            continue
        for p in model.parameters():
            p.requires_grad_(False)
        for p in layers[k].parameters():
            p.requires_grad_(True)
        fit(model, loader_of(data, like, seed=ctx.seed + k), task_loss(num_classes),
            torch.optim.Adam(layers[k].parameters(), lr=cfg.lr), cfg.epochs, ctx, desc=f"S3T stage {k}")
    for p in model.parameters():
        p.requires_grad_(True)
    return model


class S3TSequences(nn.Module):
    """What S3T training leaves: every shard's B trained sequences, their slice orders, the training-set indices
    of each slice and each shard's initial weights. Its forward is the deployed model (first sequence per shard)."""

    def __init__(self, sequences: list[list[nn.Module]], orders: list[list[list[int]]],
                 slices: list[list[np.ndarray]], inits: list[dict[str, torch.Tensor]]) -> None:
        super().__init__()
        self.sequences = nn.ModuleList(nn.ModuleList(shard) for shard in sequences)
        self.orders, self.slices, self.inits = orders, slices, inits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([shard[0](x) for shard in self.sequences]).mean(0)


def prepare(model: nn.Module, data: UnlearnData, cfg: S3TConfig, ctx: Context) -> S3TSequences:
    """S3T training on D: B slice orders per shard, every layer trained top-down from a fresh initialisation."""
    x, y = tensors(train_loader(data, ctx.seed))
    rng = np.random.default_rng(ctx.seed)
    n_layers = len(linear_layers(model))
    sequences, orders, slices, inits = [], [], [], []
    for shard in np.array_split(rng.permutation(len(y)), cfg.shards):
        slice_idx = np.array_split(shard, n_layers)
        base = fresh_copy(model, ctx.seed + len(sequences))
        init = {n: p.detach().clone() for n, p in base.named_parameters()}
        shard_orders = [list(rng.permutation(n_layers)) if s else list(range(n_layers)) for s in range(cfg.sequences)]
        datasets = [TensorDataset(x[i], y[i]) for i in slice_idx]
        sequences.append([train_stages(copy.deepcopy(base), init, datasets, order, data.num_classes, cfg, ctx,
                                       data.retain) for order in shard_orders])
        orders.append(shard_orders)
        slices.append(slice_idx)
        inits.append(init)
    return S3TSequences(sequences, orders, slices, inits)


def unlearn(model: nn.Module, data: UnlearnData, cfg: S3TConfig, ctx: Context) -> nn.Module:
    if not isinstance(model, S3TSequences):
        raise EraseError("s3t unlearns from the sharded sliced model its training makes: call "
                         "s3t.prepare(model, data, cfg, ctx) first and pass what it returns")
    x, y = tensors(train_loader(data, ctx.seed))
    n_forget = len(data.forget.dataset)
    is_forget = np.zeros(len(y), dtype=bool)
    is_forget[len(y) - n_forget:] = True  # train_loader concatenates retain, then forget
    n_layers = len(model.orders[0][0])
    members = []
    for shard, orders, slice_idx, init in zip(model.sequences, model.orders, model.slices, model.inits, strict=True):
        first_hits = [next((k for k, i in enumerate(order) if is_forget[slice_idx[i]].any()), n_layers)
                      for order in orders]
        best = max(range(len(orders)), key=lambda s: (first_hits[s], -s))  # the latest first hit; ties: first
        trained, order = copy.deepcopy(shard[best]), orders[best]
        if first_hits[best] == 0:  # 2a. the first slice is hit: retrain the shard on its retained data, SISA-style
            kept = [TensorDataset(x[i[~is_forget[i]]], y[i[~is_forget[i]]]) for i in slice_idx]
            trained = train_stages(trained, init, kept, order, data.num_classes, cfg, ctx, data.retain)
        else:  # 2b. deactivate the layers trained with an affected slice (a no-op when none is)
            reset_layers(trained, init, first_hits[best])
        members.append(trained)
    return ShardEnsemble(members).eval()
