"""Corrective unlearning as an evaluation mode of the classifier family.

Goel et al., "Corrective Machine Unlearning" (TMLR 2024; official code drimpossible/corrective-unlearning-bench):
part of the training set was manipulated, the original model is trained on it, and only a fraction of the
manipulated samples is identified. Each method unlearns that known subset (`forget`; `retain` keeps the
unknown manipulated samples), and success is the accuracy on the manipulated distribution with clean labels,
as a function of the known fraction. `python -m erase.adapters --corrective poison:2% --known 0.1,0.5,1`.

Manipulations (official `src/datasets.py::manip_dataset` and `DatasetWrapper`):

- `poison:F`: BadNet poisoning of a random fraction F of the training set: a square of the data's maximum
  value in the bottom-right corner of the image (side scaled from PATCH), and the label TARGET_CLASS.
- `confuse:F`: interclass confusion of round(F * N) samples, half from each of CONFUSED_CLASSES, each relabelled
  as the other class.

Metrics, in % (official `logs/visualize.py::parse_unpath`), "erased" being what unlearning should repair:

- `acc_corr`: clean-label accuracy on the manipulated test distribution (poison: every test image with the
  trigger; confuse: the test images of the two confused classes);
- `asr`: share of that distribution predicted as the manipulation teaches (poison: the target class, over test
  images of the other classes; confuse: the other class of the pair) -- the attack's success;
- `manip_acc`: clean-label accuracy on all manipulated training samples, known or not (with the trigger);
- `acc_retain` ("retained"): clean test accuracy (confuse: on the classes not confused).

The known subsets are nested (the first k of one seeded permutation of the manipulated samples; the official
code draws each deletion set independently). One original is trained on the manipulated data; every known
fraction runs retrain and each method from it. The reference row is retrain at the largest known fraction (with
1, a model trained on clean data only); method keys in metrics.json are `name@fraction`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from erase.adapters import metrics as M
from erase.adapters.api import Context, ForgetSpec, Metrics, UnlearnData
from erase.adapters.loops import loader_of, predict, tensors
from erase.adapters.run import (
    Job,
    Outcome,
    check,
    forget_size,
    gap,
    peak_memory_mb,
    save_models,
    table_rows,
    timings,
    unlearn_each,
    write_outputs,
)
from erase.errors import EraseError
from erase.runs import create_run

logger = logging.getLogger(__name__)

KINDS = ("poison", "confuse")
TARGET_CLASS = 0  # official manip_dataset: every poisoned sample is relabelled 0
PATCH = (3, 32)  # official opts.py --patch_size 3 on 32x32 CIFAR; scaled with the image side (8x8 digits: 1)
CONFUSED_CLASSES = (3, 5)  # official utils.get_targeted_classes for CIFAR-10 (cat, dog); on digits, 3 and 5
HEADLINE = ("erased/acc_corr", "erased/asr", "erased/manip_acc", "retained/acc_retain")
KNOWN_DEFAULT = 1.0  # official main.py: --deletion_size None means every manipulated sample is known


@dataclass(frozen=True)
class Manipulation:
    """`--corrective KIND:FRACTION`, e.g. poison:2% or confuse:0.1."""

    kind: str
    fraction: float

    def __str__(self) -> str:
        return f"{self.kind}:{self.fraction:g}"


def parse_manipulation(text: str) -> Manipulation:
    """`poison:2%` or `poison:0.02` -> Manipulation("poison", 0.02); the fraction strictly between 0 and 1."""
    kind, _, arg = text.partition(":")
    try:
        value = float(arg[:-1]) / 100 if arg.endswith("%") else float(arg)
    except ValueError:
        value = float("nan")
    if kind not in KINDS or not 0 < value < 1:
        raise EraseError(f"bad --corrective {text!r}: expected poison:F or confuse:F with F in (0, 1), "
                         "e.g. poison:2% or confuse:0.1")
    return Manipulation(kind, value)


def parse_known(text: str) -> tuple[float, ...]:
    """`--known 0.1,0.5,1` -> (0.1, 0.5, 1.0): distinct fractions in (0, 1], ascending."""
    try:
        values = sorted({float(t) for t in text.split(",") if t.strip()})
    except ValueError:
        values = []
    if not values or not all(0 < v <= 1 for v in values):
        raise EraseError(f"bad --known {text!r}: expected fractions in (0, 1], e.g. 0.1,0.5,1")
    return tuple(values)


@dataclass
class Manipulated:
    """The manipulated training set and the evaluation sets of one manipulation."""

    x: torch.Tensor  # training inputs, manipulated ones included
    y: torch.Tensor  # training labels as trained on
    order: np.ndarray  # indices of the manipulated samples; the first round(k * len) are known at fraction k
    manip: DataLoader  # the manipulated training samples (with their trigger) and their clean labels
    corr: DataLoader  # the manipulated test distribution, clean labels
    misled: torch.Tensor  # per `corr` sample: the label the manipulation teaches (-1: not counted in `asr`)
    retain_test: DataLoader  # the clean test samples `acc_retain` is measured on
    test: DataLoader  # the whole clean test set (the methods' `test`)


def with_trigger(x: torch.Tensor, value: float) -> torch.Tensor:
    """`x` with its bottom-right square (PATCH scaled to the image side) set to `value`: (N, H, W) or
    (N, C, H, W) images, or flat (N, D) ones with D a square (digits: 64 = 8 x 8)."""
    out = x.clone()
    images = out
    if x.dim() == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise EraseError(f"--corrective poison: inputs of {x.shape[1]} features are not square images")
        images = out.view(len(x), side, side)
    size = max(1, round(PATCH[0] * images.shape[-1] / PATCH[1]))
    images[..., -size:, -size:] = value
    return out


def manipulate(train: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor],
               m: Manipulation, like: DataLoader, seed: int) -> Manipulated:
    """Manipulate a seeded share of `train` as `m` says and build the evaluation sets from `test`."""
    (x, y), (xt, yt) = train, test
    rng = np.random.default_rng(seed)
    n = max(2, round(m.fraction * len(y)))
    x, y = x.clone(), y.clone()
    clean_y = y.clone()

    def eval_loader(xs: torch.Tensor, ys: torch.Tensor) -> DataLoader:
        return DataLoader(TensorDataset(xs, ys), batch_size=1024, shuffle=False)

    if m.kind == "poison":
        value = float(x.max())  # official: the maximum pixel value of the (normalised) training set
        chosen = rng.choice(len(y), size=n, replace=False)
        x[chosen] = with_trigger(x[chosen], value)
        y[chosen] = TARGET_CLASS
        corr_x, corr_y = with_trigger(xt, value), yt
        misled = torch.where(yt == TARGET_CLASS, -1, TARGET_CLASS)
        retain = torch.ones(len(yt), dtype=torch.bool)
    else:
        a, b = CONFUSED_CLASSES
        pools = [np.flatnonzero(y.numpy() == c) for c in (a, b)]
        if min(len(p) for p in pools) < n // 2:
            raise EraseError(f"--corrective {m}: {n // 2} samples of each of classes {a} and {b} are needed; "
                             f"there are {[len(p) for p in pools]}; lower the fraction")
        chosen = np.concatenate([rng.choice(p, size=n // 2, replace=False) for p in pools])
        y[chosen] = torch.where(clean_y[chosen] == a, b, a)
        pair = (yt == a) | (yt == b)
        corr_x, corr_y = xt[pair], yt[pair]
        misled = torch.where(corr_y == a, b, a)
        retain = ~pair
    return Manipulated(x=x, y=y, order=rng.permutation(chosen),
                       manip=eval_loader(x[chosen], clean_y[chosen]), corr=eval_loader(corr_x, corr_y),
                       misled=misled, retain_test=eval_loader(xt[retain], yt[retain]),
                       test=loader_of(TensorDataset(xt, yt), like, shuffle=False))


def known_split(man: Manipulated, known: float, like: DataLoader, num_classes: int, seed: int) -> UnlearnData:
    """forget = the known manipulated samples (as trained on); retain = every other training sample."""
    forget = np.zeros(len(man.y), dtype=bool)
    forget[man.order[: max(1, round(known * len(man.order)))]] = True
    mask = torch.from_numpy(forget)
    return UnlearnData(retain=loader_of(TensorDataset(man.x[~mask], man.y[~mask]), like, seed=seed),
                       forget=loader_of(TensorDataset(man.x[mask], man.y[mask]), like, seed=seed),
                       test=man.test, num_classes=num_classes)


def evaluate(model: torch.nn.Module, man: Manipulated, device: str) -> Metrics:
    """acc_corr, asr and manip_acc ("erased"), acc_retain ("retained"); see the module docstring."""
    logits, labels = predict(model, man.corr, device)
    counted = man.misled >= 0
    asr = 100.0 * float((logits.argmax(1)[counted] == man.misled[counted]).float().mean())
    return {"erased": {"acc_corr": M.accuracy(logits, labels), "asr": asr,
                       "manip_acc": M.accuracy(*predict(model, man.manip, device))},
            "retained": {"acc_retain": M.accuracy(*predict(model, man.retain_test, device))}}


def run_corrective(job: Job) -> Outcome:
    """The corrective run of `job` (`job.corrective` set): one table, a block of rows per known fraction."""
    # 1. Check inputs.
    m, known = parse_manipulation(job.corrective), parse_known(job.known)
    if job.task != "classifier":
        raise EraseError(f"--corrective serves --task classifier only, not {job.task}")
    if job.klom:
        raise EraseError("--klom is not available with --corrective; drop one of them")
    c = check(job)
    task = c.task

    # 2. The task's data, rejoined into the whole training set (any split serves), then manipulated.
    prepared = task.datasets[c.dataset](ForgetSpec("random", "0.5"), job.seed)
    data = prepared.data
    train = [torch.cat(t) for t in zip(tensors(data.retain), tensors(data.forget), strict=True)]
    man = manipulate((train[0], train[1]), tensors(data.test), m, data.retain, job.seed)
    logger.info("%s: %d of %d training samples manipulated", m, len(man.order), len(man.y))
    label = "all" if job.methods == ("all",) else "+".join(n for n in c.methods if n != task.reference) or "retrain"
    run_ = create_run(job.out, f"{task.name}-{c.dataset}-corrective-{m.kind}-{label}", c.cfg, list(job.argv),
                      job.seed, model_id=f"{task.name}/{c.dataset}", device=c.device)
    ctx = Context(seed=job.seed, device=c.device, dir=run_.dir, train=c.cfg.train, progress=job.verbose)
    started = time.time()

    # 3. The original: trained on the manipulated training set (retain ∪ forget of any known split).
    torch.manual_seed(job.seed)
    splits = {k: known_split(man, k, data.retain, data.num_classes, job.seed) for k in known}
    original = task.train(prepared.make_model().to(c.device), splits[known[0]], ctx)

    # 4-5. For each known fraction: retrain and every method from the original, evaluated.
    results, runtimes, preps, models = {}, {}, {}, {}
    for k, split in splits.items():
        logger.info("known %g: %d of %d manipulated samples", k, forget_size(split), len(man.order))
        unlearned, times, prep = unlearn_each(task, c.methods, original, split, c.cfg, ctx, job.progress)
        for name, model in unlearned.items():
            key = f"{name}@{k:g}"
            models[key], results[key] = model, evaluate(model, man, c.device)
            runtimes[key], preps[key] = times[name], prep.get(name)
    before = evaluate(original, man, c.device)

    # 6-7. Save the models, report against retrain at the largest known fraction.
    save_models(models, run_.dir)
    reference = f"{task.reference}@{known[-1]:g}"
    methods = {key: {**r, **timings(runtimes[key], preps[key]), "gap": gap(r, results[reference]),
                     "known": float(key.rpartition("@")[2])} for key, r in results.items()}
    concept = f"{m}, known {','.join(f'{k:g}' for k in known)}"
    metrics = {
        "backend": "adapters", "method": "all" if job.methods == ("all",) else c.methods[-1], "concept": concept,
        "model": f"{task.name}/{c.dataset}", "before": before, "after": results[reference],
        "runtime_s": round(time.time() - started, 1), "peak_memory_mb": peak_memory_mb(c.device),
        "samples": len(man.order), "seed": job.seed, "task": task.name, "dataset": c.dataset, "forget": concept,
        "reference": reference, "methods": methods, "corrective": {"manipulation": m.kind, "fraction": m.fraction,
                                                                   "manipulated": len(man.order), "known": known},
    }
    header, rows = table_rows(dataclasses.replace(task, headline=HEADLINE, reference=reference), before, methods)
    title = f"{task.name}/{c.dataset}, corrective {concept}: each metric (gap to {reference})"
    return Outcome(run_, metrics, write_outputs(run_, metrics, title, header, rows))
