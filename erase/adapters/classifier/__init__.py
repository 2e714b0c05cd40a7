"""The classifier task family: forget classes or samples from an image classifier, measured against retraining.

Dataset `digits`: scikit-learn's bundled 8x8 handwritten digits (1,797 images, no download), pixels scaled to
[0, 1], an MLP 64-384-384-10. Fixed stratified splits (`random_state=0`, independent of `--seed`, so
`indices:FILE` names stable samples: indices of `sklearn.datasets.load_digits()` that fall in the training
split): 25% test (450 images), and the training split is half of the rest (674 images; the other 673 are not
used). Class forgetting (`class:3`) moves the forgotten class's test samples out of `test` into `test_forget`,
so TA is measured on the retained classes as Unlearn-Sparse does.

Why a half training split: the anchors' CIFAR ResNets memorise their training data (train accuracy 100%, test
~95%), which is what MIA-efficacy measures. On all 1,347 training digits the MLP generalises so well (test 97-98%)
that a retrained model's forget samples look like training samples (its MIA-efficacy on random:10% was 2.2%, a
difference of 3 samples from FT's 0%). On 674 images, trained without weight decay (the toy preset), the original
reaches 100% train and ~96% test accuracy, and the retrained model's MIA-efficacy is 5-10% against 0% for the
original and FT. The test split (450) stays smaller than the retain set, so the SVC MIA's shadow members (the
first |D_test| retain samples) and non-members stay balanced.

Why width 384: the anchors' ResNet-18 has ~250 parameters per training image (11.2 M / 45,000 CIFAR-10 images);
the MLP at width 384 has 176,650 / 674 = 262. The official step sizes (Adam and SGD learning rates, SSD's alpha,
l1 weights) move a model's function in proportion to how many parameters they move, so the ratio is what keeps
them meaningful. Measured against width 128 (26 k parameters, 39 per image; seed 0, class:3, toy preset): SSD's
TA went from -5.2 to +0.2 points of the original's (UA 100 both) and ModHiFi-U's from -2.0 to -2.5; every
other method's UA stayed where it was, and the run takes 38 s instead of 24 on one core.

Why an MLP and not a small CNN with BatchNorm like the anchors' ResNets (measured at width 128, seed 0, same
split and preset; two 3x3 conv layers of 32 and 64 channels with BatchNorm, max-pool, global average pool,
Linear(64, 10)): it memorises at the official train lr 0.1 (train 100%, test 99.3%; retrain's MIA-efficacy on
random:10% 4.5 vs 0.0; at lr 0.025 only 3.0) but meets fewer class:3 bars. Only ACU passes; RL and SalUn stay at
UA 0 and LAF at 47, SSD forgets with TA 78.0 (vs 99.3), and S3T and ModHiFi-U, whose slices and components are
Linear layers, train or prune only the head (S3T TA 86.4, ModHiFi-U UA 0). SCRUB, bad teacher, l1-sparse,
prune+FT, IAU and DMM stay at UA 0 (SCRUB reaches 60 at lr 0.025: BatchNorm's batch statistics move the student
off the KL=0 point). A BatchNorm MLP (width 512) lets FT and GA move (UA 13 and 93) but fails LAF (59) and
ModHiFi-U (84) and leaves SCRUB, bad teacher, IAU and DMM at UA 0-6.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from erase.adapters import metrics as M
from erase.adapters.api import Context, ForgetSpec, Metrics, Prepared, Task, UnlearnData
from erase.adapters.loops import TrainConfig, cka_to, predict, train_loader, train_model
from erase.adapters.methods import CLASSIFIER_METHODS
from erase.errors import EraseError

BATCH_SIZE = 4  # official 256 on 45,000 CIFAR-10 images, scaled by the data ratio (674 / 45,000 ~ 1/67): the same
# steps per epoch (168 over the training set; CIFAR-10: 176)
TEST_FRACTION = 0.25  # of load_digits(), stratified, random_state=0
TRAIN_FRACTION = 0.5  # of the rest, stratified, random_state=0 (see the module docstring)


def digits_mlp(hidden: int = 384, num_classes: int = 10) -> nn.Sequential:
    """The digits model: an nn.Sequential ending in its last Linear (methods find the head there)."""
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, num_classes))


def split_by_forget(x: torch.Tensor, y: torch.Tensor, forget: ForgetSpec, seed: int) -> np.ndarray:
    """A boolean mask over the training samples: which ones to forget."""
    n = len(y)
    if forget.kind == "class":
        classes = forget.classes()
        known = sorted(set(y.tolist()))
        if not set(classes) <= set(known) or len(classes) >= len(known):
            raise EraseError(f"--forget {forget}: classes must be some (not all) of {known}")
        return np.isin(y.numpy(), classes)
    if forget.kind == "random":
        k = max(1, round(forget.fraction() * n))
        mask = np.zeros(n, dtype=bool)
        mask[np.random.default_rng(seed).choice(n, size=k, replace=False)] = True
        return mask
    raise AssertionError(forget.kind)


def digits(forget: ForgetSpec, seed: int) -> Prepared:
    """Build the digits data split by `forget` (see the module docstring) and the MLP factory."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    index = np.arange(len(bunch.target))
    rest, test_idx = train_test_split(index, test_size=TEST_FRACTION, stratify=bunch.target, random_state=0)
    train_idx, _ = train_test_split(rest, train_size=TRAIN_FRACTION, stratify=bunch.target[rest], random_state=0)
    x_all = torch.tensor(bunch.data / 16.0, dtype=torch.float32)
    y_all = torch.tensor(bunch.target, dtype=torch.long)
    x, y = x_all[train_idx], y_all[train_idx]
    if forget.kind == "indices":
        wanted = np.array(forget.indices())
        outside = np.setdiff1d(wanted, train_idx)
        if len(outside):
            raise EraseError(f"--forget {forget}: indices {outside[:5].tolist()} are not in the training split "
                             f"(load_digits() order, splits fixed by random_state=0); drop them")
        is_forget = np.isin(train_idx, wanted)
    else:
        is_forget = split_by_forget(x, y, forget, seed)
    forget_classes = forget.classes() if forget.kind == "class" else ()
    test_keep = ~np.isin(y_all[test_idx].numpy(), forget_classes)
    def loader(xs: torch.Tensor, ys: torch.Tensor, shuffle: bool) -> DataLoader:
        """Each loader shuffles with its own seeded generator (reset before each method by
        `run.reseed_loaders`, so a method's batches do not depend on which methods ran before it)."""
        return DataLoader(TensorDataset(xs, ys), batch_size=BATCH_SIZE, shuffle=shuffle,
                          generator=torch.Generator().manual_seed(seed))

    keep = torch.from_numpy(~is_forget)
    xt, yt = x_all[test_idx], y_all[test_idx]
    data = UnlearnData(
        retain=loader(x[keep], y[keep], True), forget=loader(x[~keep], y[~keep], True),
        test=loader(xt[test_keep], yt[test_keep], False), num_classes=10,
        test_forget=loader(xt[~test_keep], yt[~test_keep], False) if forget_classes else None,
        forget_classes=forget_classes)
    description = (f"digits: {int(keep.sum())} retain / {int((~keep).sum())} forget / {int(test_keep.sum())} test"
                   + (f" / {int((~test_keep).sum())} test of the forgotten classes" if forget_classes else ""))
    return Prepared(make_model=digits_mlp, data=data, description=description)


def train(model: nn.Module, data: UnlearnData, ctx: Context) -> nn.Module:
    """The original model: trained on retain ∪ forget with `ctx.train`."""
    return train_model(model, train_loader(data, ctx.seed), data.num_classes, ctx, desc="train original")


def evaluate(model: nn.Module, data: UnlearnData, ctx: Context, reference: nn.Module | None = None) -> Metrics:
    """UA, the two MIAs and (class forgetting) the forgotten classes' test accuracy; RA, TA; CKA to `reference`."""
    outputs = {name: predict(model, loader, ctx.device) for name, loader in
               (("retain", data.retain), ("forget", data.forget), ("test", data.test))}
    (lr, yr), (lf, yf), (lt, yt) = outputs["retain"], outputs["forget"], outputs["test"]
    shadow = M.confidence(lr, yr)[: len(yt)]  # official: the first |D_test| samples of D_r
    erased = {
        "ua": 100.0 - M.accuracy(lf, yf),
        "mia_efficacy": M.svc_mia_efficacy(shadow.numpy(), M.confidence(lt, yt).numpy(), M.confidence(lf, yf).numpy()),
        "entropy_mia": M.entropy_mia(M.entropy(lr).numpy(), M.entropy(lt).numpy(), M.entropy(lf).numpy()),
    }
    if data.test_forget is not None:
        erased["forget_test_acc"] = M.accuracy(*predict(model, data.test_forget, ctx.device))
    retained = {"ra": M.accuracy(lr, yr), "ta": M.accuracy(lt, yt)}
    if reference is not None:
        erased["cka_forget"] = cka_to(model, reference, data.forget, ctx.device)
        retained["cka_test"] = cka_to(model, reference, data.test, ctx.device)
    return {"erased": erased, "retained": retained}


TASK = Task(
    name="classifier",
    datasets={"digits": digits},
    methods=CLASSIFIER_METHODS,
    train_config=TrainConfig,
    train=train,
    evaluate=evaluate,
    forget_kinds=("class", "random", "indices"),
    headline=("erased/ua", "erased/mia_efficacy", "erased/entropy_mia", "erased/forget_test_acc", "retained/ra",
              "retained/ta", "erased/cka_forget", "retained/cka_test"),
)
