"""The adapter layer's one interface: forget training data from a model you own, measured against retraining.

Every method of every task family is one function::

    unlearn(model, data, cfg, ctx) -> model

`model` is the original (trained) `torch.nn.Module`, which a method may modify in place or copy; `data`
is the family's data object (for classifiers and regressors an `UnlearnData` of DataLoaders
{retain, forget, test[, val]}); `cfg` is the method's frozen config dataclass (defaults from the paper or
the official code, each with a one-line citation); `ctx` is a `Context` (seed, device, run directory, the
original model's training schedule). `retrain` (train a fresh model on the retain set) is every family's
reference method: every table reports each metric's gap to it.

Using it from Python with your own model and data::

    from erase.adapters import get_task, UnlearnData, Context
    task = get_task("classifier")
    data = UnlearnData(retain=retain_loader, forget=forget_loader, test=test_loader, num_classes=10)
    ctx = Context(seed=0, train=task.train_config())
    method = task.methods["ssd"]
    unlearned = method.unlearn(my_model, data, method.config(), ctx)
    print(task.evaluate(unlearned, data, ctx, reference=None))

A method whose paper assumes an original trained its own way (IAU's gradient-restricted training, S3T's sharded
sliced training) also has ``prepare(model, data, cfg, ctx) -> model``: the one-off training a deployment does
before any unlearning request. Runs time it apart from `unlearn` (`prep_s` beside `runtime_s`); from Python, call
it first.

What a task family module must expose (`erase/adapters/<family>/__init__.py`, registered by one line in
`erase/adapters/tasks.py`): a module-level ``TASK = Task(...)`` with

- ``name``: the `--task` value;
- ``datasets``: a literal dict, `--dataset` value -> ``builder(forget: ForgetSpec, seed: int) -> Prepared``;
  a builder makes the data (offline, from files shipped in packages), splits it by the forget spec and
  returns ``Prepared(make_model, data, description)``, where ``make_model()`` builds a fresh, untrained
  model (seeded by the caller). Raise `EraseError` for a spec the dataset cannot serve (e.g. a class that
  does not exist), naming the fix;
- ``methods``: the family's literal ``METHODS`` registry, name -> ``Method(unlearn, config[, prepare])``; it must
  hold ``retrain``. The key is the `--method` value and the method's file name;
- ``train_config``: the frozen dataclass of the original model's training schedule (the run config's
  ``train`` section; `Context.train` holds its value);
- ``train(model, data, ctx) -> model``: trains the original model on retain ∪ forget;
- ``evaluate(model, data, ctx, reference) -> Metrics``: ``{"erased": {...}, "retained": {...}}``, flat
  dicts of floats: "erased" holds what should move towards the retrained model (e.g. UA, MIA on the
  forget set), "retained" what should stay (RA, TA, ...). `reference` is the retrained model (or None)
  for representation metrics such as CKA. Keys are stable: tables and tests read them;
- ``forget_kinds``: the `--forget` kinds the family serves (``class``, ``random``, ``indices``, or its own,
  e.g. ``user``); the CLI rejects any other before building data; ``default_forget`` is the spec used when
  `--forget` is not given;
- ``headline``: the metric keys (``group/key``) printed in the CLI's table, in order.

Nothing may be imported, downloaded or trained at module import time; optional packages
(torch-geometric, ...) are imported inside the builder with an install hint in an `EraseError`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.utils.data import DataLoader

from erase.errors import EraseError

Metrics = dict[str, dict[str, float]]  # {"erased": {...}, "retained": {...}}
UnlearnFn = Callable[[nn.Module, Any, Any, "Context"], nn.Module]  # also the signature of `Method.prepare`


@dataclass
class UnlearnData:
    """The DataLoaders every classifier and regression method takes.

    `retain` and `forget` partition the original training set; `test` is held out (for class forgetting,
    the test samples of the retained classes; `test_forget` holds those of the forgotten ones).
    `num_classes` is 0 for regression.
    """

    retain: DataLoader
    forget: DataLoader
    test: DataLoader
    val: DataLoader | None = None
    num_classes: int = 0
    test_forget: DataLoader | None = None
    forget_classes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Context:
    """What a method gets besides model, data and its config (the `run` of DESIGN.md's signature)."""

    seed: int = 0
    device: str = "cpu"
    dir: Path | None = None  # the run directory (None from the Python API)
    train: Any = None  # the original model's training schedule (the task's train_config)
    progress: bool = True  # show tqdm bars


class Method(NamedTuple):
    """A registry entry: the method's function, its config dataclass and, for a method that needs an original
    trained its own way, the one-off `prepare` that trains it (timed apart from `unlearn`)."""

    unlearn: UnlearnFn
    config: type
    prepare: UnlearnFn | None = None


class Prepared(NamedTuple):
    """What a dataset builder returns."""

    make_model: Callable[[], nn.Module]
    data: Any
    description: str  # one line: sizes of retain / forget / test


@dataclass(frozen=True)
class Task:
    """A task family: its datasets, methods, training and evaluation (see the module docstring)."""

    name: str
    datasets: Mapping[str, Callable[[ForgetSpec, int], Prepared]]
    methods: Mapping[str, Method]
    train_config: type
    train: Callable[[nn.Module, Any, Context], nn.Module]
    evaluate: Callable[..., Metrics]
    forget_kinds: tuple[str, ...] = ("class", "random", "indices")
    default_forget: str = "class:3"  # the --forget spec when none is given
    headline: tuple[str, ...] = ()
    reference: str = "retrain"


# The --forget spec ------------------------------------------------------------------------------------

FORGET_FORMS = "class:3 (or class:3,5), random:10% (or random:0.1), indices:FILE (one index a line)"


@dataclass(frozen=True)
class ForgetSpec:
    """`--forget KIND:ARG`, parsed; the typed accessors raise `EraseError` on a malformed ARG."""

    kind: str
    arg: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.arg}"

    def classes(self) -> tuple[int, ...]:
        """`class:3,5` -> (3, 5)."""
        parts = [p.strip() for p in self.arg.split(",")]
        if not all(re.fullmatch(r"\d+", p) for p in parts):
            raise EraseError(f"--forget {self}: expected class:K or class:K1,K2 with integer classes")
        return tuple(sorted({int(p) for p in parts}))

    def fraction(self) -> float:
        """`random:10%` or `random:0.1` -> 0.1 (strictly between 0 and 1)."""
        text = self.arg.strip()
        try:
            value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            value = float("nan")
        if not 0 < value < 1:
            raise EraseError(f"--forget {self}: expected a fraction in (0, 1), e.g. random:10% or random:0.1")
        return value

    def indices(self) -> tuple[int, ...]:
        """`indices:FILE` -> the sorted, distinct indices listed in FILE (whitespace or comma separated)."""
        path = Path(self.arg)
        if not path.is_file():
            raise EraseError(f"--forget {self}: no file at {path}; give a text file of training-set indices")
        tokens = path.read_text().replace(",", " ").split()
        if not tokens or not all(re.fullmatch(r"\d+", t) for t in tokens):
            raise EraseError(f"--forget {self}: {path} must list non-negative integer indices, one or more")
        return tuple(sorted({int(t) for t in tokens}))


def parse_forget(text: str, kinds: tuple[str, ...] = ("class", "random", "indices")) -> ForgetSpec:
    """`class:3` -> ForgetSpec("class", "3"); an unknown kind or a missing argument is an `EraseError`."""
    kind, sep, arg = text.partition(":")
    if not sep or not arg.strip():
        raise EraseError(f"bad --forget {text!r}: expected KIND:ARG, e.g. {FORGET_FORMS}")
    if kind not in kinds:
        raise EraseError(f"bad --forget {text!r}: this task forgets by {', '.join(kinds)}; e.g. {FORGET_FORMS}")
    return ForgetSpec(kind, arg.strip())


# Helpers every family may use ------------------------------------------------------------------------


def fresh_copy(model: nn.Module, seed: int) -> nn.Module:
    """A copy of `model` with every parameter re-initialised (seeded): what `retrain` starts from.

    Calls `reset_parameters()` on every submodule that has one; a submodule holding parameters of its
    own without that method is an `EraseError` (give `retrain` a model whose layers can be reset).
    """
    clone = copy.deepcopy(model)
    torch.manual_seed(seed)
    for name, module in clone.named_modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
        elif any(True for _ in module.parameters(recurse=False)):
            raise EraseError(f"retrain: submodule {name or type(module).__name__!r} has parameters but no "
                             "reset_parameters(); add one so a fresh model can be trained")
    return clone
