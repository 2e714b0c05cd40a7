"""The regression task family: forget samples or a target range from a regressor (Blindspot's setting).

Dataset `diabetes`: scikit-learn's bundled diabetes data (442 patients, 10 features, no download), a fixed 75/25
train/test split (`random_state=0`), features and target standardised on the training split, an MLP 10-64-64-1
trained with L1 loss (the Blindspot code's loss). `--forget range:LOW-HIGH` forgets the training samples whose
target (original units, 25-346) lies in [LOW, HIGH], as the paper forgets an age range.
"""

from __future__ import annotations

import re

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from erase.adapters import metrics as M
from erase.adapters.api import Context, ForgetSpec, Metrics, Prepared, Task, UnlearnData
from erase.adapters.loops import TrainConfig, cka_to, predict, train_loader, train_model
from erase.adapters.methods import REGRESSION_METHODS
from erase.errors import EraseError

BATCH_SIZE = 32  # ours: ~10 steps per epoch on 331 training samples


def diabetes_mlp(hidden: int = 64) -> nn.Sequential:
    return nn.Sequential(nn.Linear(10, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))


def target_range(forget: ForgetSpec) -> tuple[float, float]:
    match = re.fullmatch(r"\s*(-?[\d.]+)\s*-\s*(-?[\d.]+)\s*", forget.arg)
    if not match or float(match[1]) > float(match[2]):
        raise EraseError(f"--forget {forget}: expected range:LOW-HIGH with LOW <= HIGH, e.g. range:25-100")
    return float(match[1]), float(match[2])


def diabetes(forget: ForgetSpec, seed: int) -> Prepared:
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    bunch = load_diabetes()
    index = np.arange(len(bunch.target))
    train_idx, test_idx = train_test_split(index, test_size=0.25, random_state=0)
    x_mean, x_std = bunch.data[train_idx].mean(0), bunch.data[train_idx].std(0)
    y_mean, y_std = bunch.target[train_idx].mean(), bunch.target[train_idx].std()
    x_all = torch.tensor((bunch.data - x_mean) / x_std, dtype=torch.float32)
    y_all = torch.tensor((bunch.target - y_mean) / y_std, dtype=torch.float32)
    n = len(train_idx)
    if forget.kind == "range":
        low, high = target_range(forget)
        is_forget = (bunch.target[train_idx] >= low) & (bunch.target[train_idx] <= high)
    elif forget.kind == "random":
        is_forget = np.zeros(n, dtype=bool)
        chosen = np.random.default_rng(seed).choice(n, size=max(1, round(forget.fraction() * n)), replace=False)
        is_forget[chosen] = True
    else:
        wanted = np.array(forget.indices())
        outside = np.setdiff1d(wanted, train_idx)
        if len(outside):
            raise EraseError(f"--forget {forget}: indices {outside[:5].tolist()} are not in the training split "
                             "(load_diabetes() order, test split fixed by random_state=0); drop them")
        is_forget = np.isin(train_idx, wanted)
    if not is_forget.any() or is_forget.all():
        raise EraseError(f"--forget {forget}: selects {int(is_forget.sum())} of {n} training samples; "
                         "choose a spec that leaves both a forget and a retain set")
    g = torch.Generator().manual_seed(seed)
    x, y = x_all[train_idx], y_all[train_idx]
    keep = torch.from_numpy(~is_forget)

    def loader(xs: torch.Tensor, ys: torch.Tensor, shuffle: bool) -> DataLoader:
        return DataLoader(TensorDataset(xs, ys), batch_size=BATCH_SIZE, shuffle=shuffle, generator=g)

    data = UnlearnData(retain=loader(x[keep], y[keep], True), forget=loader(x[~keep], y[~keep], True),
                       test=loader(x_all[test_idx], y_all[test_idx], False), num_classes=0)
    return Prepared(diabetes_mlp, data, f"diabetes: {int(keep.sum())} retain / {int((~keep).sum())} forget / "
                                        f"{len(test_idx)} test (targets standardised)")


def train(model: nn.Module, data: UnlearnData, ctx: Context) -> nn.Module:
    return train_model(model, train_loader(data, ctx.seed), 0, ctx, desc="train original")


def evaluate(model: nn.Module, data: UnlearnData, ctx: Context, reference: nn.Module | None = None) -> Metrics:
    """Forget MAE and Blindspot's loss MIA; retain and test MAE; CKA to `reference` (standardised units)."""
    (pr, yr), (pf, yf), (pt, yt) = (predict(model, loader, ctx.device)
                                    for loader in (data.retain, data.forget, data.test))
    loss_r, loss_f, loss_t = ((p.squeeze(-1) - y).abs().numpy() for p, y in ((pr, yr), (pf, yf), (pt, yt)))
    erased = {"forget_mae": M.mae(pf, yf), "loss_mia": M.loss_mia(loss_r, loss_t, loss_f)}
    retained = {"retain_mae": M.mae(pr, yr), "test_mae": M.mae(pt, yt)}
    if reference is not None:
        erased["cka_forget"] = cka_to(model, reference, data.forget, ctx.device)
        retained["cka_test"] = cka_to(model, reference, data.test, ctx.device)
    return {"erased": erased, "retained": retained}


TASK = Task(
    name="regression",
    datasets={"diabetes": diabetes},
    methods=REGRESSION_METHODS,
    train_config=TrainConfig,
    train=train,
    evaluate=evaluate,
    forget_kinds=("range", "random", "indices"),
    default_forget="range:25-100",
    headline=("erased/forget_mae", "erased/loss_mia", "retained/retain_mae", "retained/test_mae",
              "erased/cka_forget", "retained/cka_test"),
)
