"""KLoM over an ensemble of seeds (`--klom N`), where an ensemble is cheap: the classifier family.

Georgiev et al., "Attribute-to-Delete: Machine Unlearning via Datamodel Matching" (2024): for each sample, the
margins of N unlearned models (each unlearned from an original trained with its own seed) form one distribution
and those of N retrained models another; KLoM is the KL divergence of the first from the second, summarised
by the 95th percentile over the samples of a set. The paper bins the margins of 100 models per side (20 bins,
reference implementation RoyRin/data-unlearning-bench `eval.py::compute_binned_KL_div`); at the few seeds
affordable here such histograms saturate (measured on digits class:3 with 10 seeds: 10.4 on the forget set of
the original, 8.7 on its test set, 10.2 between two halves of the retrained ensemble), so `metrics.klom` fits a
Gaussian to each side (same runs: 159, 1.7 and 1.5-3.3). Compare methods at the same N. Seed `job.seed` reuses
the run's own models; seeds `job.seed + 1 ... + N - 1` train an original, retrain and unlearn with every method
again, so `--klom N` costs N times the run. The retrained ensemble is the reference, so retrain gets no KLoM of
its own; the original does.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import torch
from torch import nn

from erase.adapters import metrics as M
from erase.adapters.api import Context, Metrics, Prepared, Task
from erase.adapters.loops import predict
from erase.adapters.run import unlearn_each
from erase.errors import EraseError

logger = logging.getLogger(__name__)

SPLITS = {"forget": "erased/klom_forget", "retain": "retained/klom_retain", "test": "retained/klom_test"}
KLOM_KEYS = tuple(SPLITS.values())


def check_klom(task: Task, n: int) -> None:
    """--klom N needs a classifier (margins of logits) and at least two seeds (a variance)."""
    if task.name != "classifier":
        raise EraseError(f"--klom serves --task classifier only, not {task.name}; drop --klom")
    if n < 2:
        raise EraseError(f"--klom {n}: give at least 2 seeds (0 turns KLoM off)")


def margins(model: nn.Module, data: Any, device: str) -> dict[str, torch.Tensor]:
    """The model's margins (`metrics.margin`) on each sample of forget, retain and test."""
    return {split: M.margin(*predict(model, getattr(data, split), device)) for split in SPLITS}


def add_klom(task: Task, prepared: Prepared, names: tuple[str, ...], cfg: Any, ctx: Context, n: int,
             first: dict[str, nn.Module], results: dict[str, Metrics], progress: bool = True) -> None:
    """Add KLoM on forget / retain / test to `results` (name -> metrics, with "original") for every model but the
    reference; `first` holds the run's own models (seed `ctx.seed`), the other n - 1 seeds are trained here."""
    seen = {name: [margins(m, prepared.data, ctx.device)] for name, m in first.items()}
    for seed in range(ctx.seed + 1, ctx.seed + n):
        logger.info("KLoM: seed %d", seed)
        seeded = dataclasses.replace(ctx, seed=seed)
        torch.manual_seed(seed)
        original = task.train(prepared.make_model().to(ctx.device), prepared.data, seeded)
        models, _, _ = unlearn_each(task, names, original, prepared.data, cfg, seeded, progress)
        for name, m in {"original": original, **models}.items():
            seen[name].append(margins(m, prepared.data, ctx.device))
    stacked = {name: {s: torch.stack([m[s] for m in runs]) for s in SPLITS} for name, runs in seen.items()}
    reference = stacked[task.reference]
    for name, per_split in stacked.items():
        if name == task.reference:
            continue
        for split, key in SPLITS.items():
            group, metric = key.split("/")
            results[name][group][metric] = M.klom(per_split[split], reference[split])
