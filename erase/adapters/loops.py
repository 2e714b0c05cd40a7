"""Shared machinery of the classifier and regression methods: the training loop, predictions, per-batch
gradients, loaders, and the split of a model into its representation and its last layer.

Methods hold only what is theirs (their loss, their schedule); everything they share lives here.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader, Dataset, TensorDataset
from tqdm.auto import tqdm

from erase.adapters.api import Context, UnlearnData
from erase.errors import EraseError

Batch = tuple[torch.Tensor, torch.Tensor]
LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]  # (model, x, y) -> scalar


@dataclass(frozen=True)
class TrainConfig:
    """The original model's training schedule (Unlearn-Sparse's recipe, scaled to toy data by the presets)."""

    epochs: int = 182  # official arg_parser.py --epochs
    lr: float = 0.1  # official arg_parser.py --lr
    momentum: float = 0.9  # official arg_parser.py --momentum
    weight_decay: float = 5e-4  # official arg_parser.py --weight_decay
    optimizer: str = "sgd"  # "sgd" (official) or "adam"
    milestones: tuple[float, ...] = (0.5, 0.75)  # official --decreasing_lr 91,136 of 182 epochs, as fractions


# Losses ------------------------------------------------------------------------


def task_loss(num_classes: int) -> LossFn:
    """Cross-entropy for classifiers (`num_classes > 0`), L1 for regressors (Blindspot's official loss)."""
    if num_classes > 0:
        return lambda model, x, y: F.cross_entropy(model(x), y)
    return lambda model, x, y: F.l1_loss(model(x).squeeze(-1), y)


# Optimisation ------------------------------------------------------------------------


def optimizer_for(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise EraseError(f"train.optimizer must be 'sgd' or 'adam', got {cfg.optimizer!r}")


def sgd(model: nn.Module, lr: float, momentum: float = 0.9, weight_decay: float = 5e-4) -> torch.optim.SGD:
    """The unlearning optimiser of Unlearn-Sparse / SalUn (`unlearn/impl.py`): SGD, momentum 0.9, wd 5e-4."""
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)


def fit(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    ctx: Context,
    desc: str,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    after_backward: Callable[[], None] | None = None,
    after_step: Callable[[], None] | None = None,
) -> nn.Module:
    """Minimise `loss_fn(model, *batch)` over `loader` for `epochs`; hooks run after each backward and step."""
    model.train()
    for _ in tqdm(range(epochs), desc=desc, disable=not ctx.progress, leave=False):
        for batch in loader:
            optimizer.zero_grad()
            loss_fn(model, *(t.to(ctx.device) for t in batch)).backward()
            if after_backward is not None:
                after_backward()
            optimizer.step()
            if after_step is not None:
                after_step()
        if scheduler is not None:
            scheduler.step()
    model.eval()
    return model


def train_model(model: nn.Module, loader: DataLoader, num_classes: int, ctx: Context, desc: str,
                after_backward: Callable[[], None] | None = None, loss_fn: LossFn | None = None) -> nn.Module:
    """Train `model` on `loader` with the schedule `ctx.train` (the original's and retrain's recipe); `loss_fn`
    replaces the task loss (a method that trains its own original with an extra term)."""
    cfg: TrainConfig = ctx.train
    optimizer = optimizer_for(model.parameters(), cfg)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=[round(f * cfg.epochs) for f in cfg.milestones], gamma=0.1)  # official: gamma 0.1
    return fit(model.to(ctx.device), loader, loss_fn or task_loss(num_classes), optimizer, cfg.epochs, ctx, desc,
               scheduler, after_backward=after_backward)


# Data ------------------------------------------------------------------------


def loader_of(dataset: Dataset, like: DataLoader, shuffle: bool = True, seed: int = 0) -> DataLoader:
    """A DataLoader over `dataset` with `like`'s batch size, shuffled with a seeded generator."""
    return DataLoader(dataset, batch_size=like.batch_size or 64, shuffle=shuffle,
                      generator=torch.Generator().manual_seed(seed))


def rebatched(loader: DataLoader, batch_size: int, seed: int = 0) -> DataLoader:
    """`loader`'s dataset at another batch size (a method's own official batch size), shuffled with a seed."""
    return DataLoader(loader.dataset, batch_size=batch_size, shuffle=True,
                      generator=torch.Generator().manual_seed(seed))


def train_loader(data: UnlearnData, seed: int) -> DataLoader:
    """retain ∪ forget: the original training set."""
    return loader_of(ConcatDataset([data.retain.dataset, data.forget.dataset]), data.retain, seed=seed)


def tensors(loader: DataLoader) -> Batch:
    """All (x, y) of a loader's dataset, in dataset order."""
    xs, ys = zip(*DataLoader(loader.dataset, batch_size=1024, shuffle=False), strict=True)
    return torch.cat(xs), torch.cat(ys)


def relabelled(loader: DataLoader, labels: torch.Tensor, seed: int) -> DataLoader:
    """`loader`'s inputs with new labels (in dataset order)."""
    x, _ = tensors(loader)
    return loader_of(TensorDataset(x, labels), loader, seed=seed)


def cycle(loader: DataLoader) -> Iterator[Batch]:
    """Endless batches (for pairing a small forget loader with a large retain loader)."""
    return itertools.chain.from_iterable(itertools.repeat(loader))


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: str = "cpu") -> Batch:
    """Outputs and targets over `loader`'s dataset in order, in eval mode."""
    model.eval()
    x, y = tensors(loader)
    return torch.cat([model(chunk.to(device)).cpu() for chunk in x.split(1024)]), y


# Gradients ------------------------------------------------------------------------


def batch_grads(model: nn.Module, loader: DataLoader, loss_fn: LossFn, device: str = "cpu"
                ) -> Iterator[dict[str, torch.Tensor]]:
    """Per-batch gradients of `loss_fn` (name -> tensor); the model's own grads are left zeroed."""
    model.eval()
    for x, y in loader:
        model.zero_grad()
        loss_fn(model, x.to(device), y.to(device)).backward()
        yield {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()


def summed_grads(model: nn.Module, loader: DataLoader, loss_fn: LossFn, device: str = "cpu"
                 ) -> dict[str, torch.Tensor]:
    """The sum over batches of the batch gradients."""
    total: dict[str, torch.Tensor] = {}
    for grads in batch_grads(model, loader, loss_fn, device):
        for name, g in grads.items():
            total[name] = total[name] + g if name in total else g
    return total


def mask_grads(model: nn.Module, mask: dict[str, torch.Tensor]) -> Callable[[], None]:
    """A hook that zeroes the gradients outside `mask` (1 = trainable)."""

    def hook() -> None:
        for name, p in model.named_parameters():
            if p.grad is not None and name in mask:
                p.grad.mul_(mask[name])

    return hook


def top_fraction_mask(scores: dict[str, torch.Tensor], fraction: float) -> dict[str, torch.Tensor]:
    """1 where a score is among the global top `fraction` of all scores, else 0 (ties broken by order)."""
    flat = torch.cat([s.flatten() for s in scores.values()])
    k = int(round(fraction * flat.numel()))
    keep = torch.zeros_like(flat)
    keep[torch.argsort(flat, descending=True, stable=True)[:k]] = 1.0
    out, start = {}, 0
    for name, s in scores.items():
        out[name] = keep[start:start + s.numel()].view_as(s)
        start += s.numel()
    return out


# Model anatomy ------------------------------------------------------------------------


def features_and_head(model: nn.Module) -> tuple[nn.Module, nn.Linear]:
    """The representation (everything before the last layer) and the last `nn.Linear`.

    Works for an `nn.Sequential` ending in a Linear, or any module with `features` and `head` attributes.
    """
    if isinstance(model, nn.Sequential) and isinstance(model[-1], nn.Linear):
        return model[:-1], model[-1]
    features, head = getattr(model, "features", None), getattr(model, "head", None)
    if isinstance(features, nn.Module) and isinstance(head, nn.Linear):
        return features, head
    raise EraseError(f"this method needs the model's representation and last layer: give {type(model).__name__} "
                     "`features` (a module) and `head` (an nn.Linear) attributes, or use an nn.Sequential "
                     "ending in nn.Linear")


@torch.no_grad()
def representations(model: nn.Module, loader: DataLoader, device: str = "cpu") -> torch.Tensor:
    """The penultimate representations of `loader`'s inputs, in dataset order."""
    features, _ = features_and_head(model)
    return predict(features, loader, device)[0].flatten(1)


def cka_to(model: nn.Module, reference: nn.Module, loader: DataLoader, device: str = "cpu") -> float:
    """Linear CKA between two models' representations of `loader`'s inputs."""
    from erase.adapters.metrics import linear_cka

    return linear_cka(representations(model, loader, device), representations(reference, loader, device))


def frozen_copy(model: nn.Module) -> nn.Module:
    """A deep copy in eval mode with gradients off (a teacher)."""
    teacher = copy.deepcopy(model).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher
