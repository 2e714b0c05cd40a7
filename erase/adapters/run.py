"""One adapter run: forget a set from a trained model with one method or several, measured against retraining.

`run()` reads as the steps a user expects: check inputs, build the data, train the original, retrain (the
reference), unlearn with each method (timed), evaluate everything, save the models, write the report.

metrics.json follows DESIGN.md's schema with `backend: "adapters"`, `concept`: the forget spec, `model`:
`task/dataset`, `before`: the original, `after`: the (last) method's result -- for `--compare`, the reference,
retrain -- and these additions: `task`, `dataset`, `forget`, `reference`, and `methods`: name -> {erased,
retained, runtime_s[, prep_s], gap} where `gap` is every metric minus retrain's and `prep_s` is a method's one-off
preparation (`Method.prepare`), timed apart from its unlearning request.

`Job.corrective` hands the whole run to the corrective mode (corrective.py); `Job.klom` adds KLoM over an
ensemble of seeds to every model's metrics (ensemble.py).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from erase.adapters.api import Context, ForgetSpec, Method, Metrics, Task, parse_forget
from erase.adapters.tasks import get_task
from erase.config import load_config
from erase.errors import EraseError
from erase.runs import Run, create_run

logger = logging.getLogger(__name__)
CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "adapters"


@dataclass(frozen=True)
class Job:
    task: str = "classifier"
    dataset: str | None = None  # None: the task's first dataset
    forget: str | None = None  # None: the task's default_forget
    methods: tuple[str, ...] = ("ssd",)  # ("all",) for every method of the task
    out: Path = Path("runs")
    config_file: Path | None = None
    overrides: tuple[str, ...] = ()
    seed: int = 0
    device: str | None = None
    argv: tuple[str, ...] = ()
    progress: bool = True  # a bar over the methods
    verbose: bool = False  # also each method's own bars
    corrective: str | None = None  # e.g. "poison:0.1": the corrective mode instead of `forget` (corrective.py)
    known: str = "1"  # corrective mode: the fractions of the manipulated samples known, e.g. "0.1,0.5,1"
    klom: int = 0  # > 1: also KLoM over this many seeds of the original, retrain and every method (ensemble.py)


def config_class(task: Task) -> type:
    """The run's config: the task's `train` schedule and one section per method, keyed by the method's name."""
    return dataclasses.make_dataclass(f"{task.name.title()}RunConfig", [
        ("train", task.train_config, field(default_factory=task.train_config)),
        *((name, m.config, field(default_factory=m.config)) for name, m in task.methods.items()),
    ], frozen=True)


def resolve_config(task: Task, dataset: str, config_file: Path | None, overrides: tuple[str, ...]) -> Any:
    """Defaults (papers' values) <- configs/adapters/<task>/<dataset>.yaml (toy scaling) <- --config <- --set."""
    preset = CONFIGS / task.name / f"{dataset}.yaml"
    return load_config(config_class(task), preset=preset if preset.is_file() else None, config_file=config_file,
                       overrides=overrides)


@dataclass(frozen=True)
class Checked:
    task: Task
    dataset: str
    forget: ForgetSpec
    methods: tuple[str, ...]
    cfg: Any
    device: str


def check(job: Job) -> Checked:
    """Every user input, before any data is built or model trained."""
    task = get_task(job.task)
    dataset = job.dataset or next(iter(task.datasets))
    if dataset not in task.datasets:
        raise EraseError(f"unknown --dataset {dataset!r} for --task {task.name}; "
                         f"choose one of {', '.join(task.datasets)}")
    methods = tuple(task.methods) if job.methods == ("all",) else job.methods
    unknown = [m for m in methods if m not in task.methods]
    if unknown or not methods:
        raise EraseError(f"unknown --method {', '.join(unknown) or '(none)'} for --task {task.name}; choose from "
                         f"{', '.join(task.methods)} (or --compare all)")
    methods = (task.reference, *(m for m in methods if m != task.reference))
    if job.config_file is not None and not job.config_file.is_file():
        raise EraseError(f"--config: no file at {job.config_file}")
    cfg = resolve_config(task, dataset, job.config_file, job.overrides)
    device = job.device or "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise EraseError(f"--device {device}: no CUDA device here; use --device cpu")
    forget = parse_forget(job.forget or task.default_forget, task.forget_kinds)
    return Checked(task, dataset, forget, methods, cfg, device)


@dataclass
class Outcome:
    """What a run produced: the run directory, metrics.json's content and the markdown table."""

    run: Run
    metrics: dict[str, Any]
    table: str


def run(job: Job) -> Outcome:
    """Run `job` on one CPU thread: the models are small, and sums split over threads change the trained models
    (measured: digits class:3 LAF UA 98.5 with one thread, 60.3 with two), so one thread makes the tables repeat
    on every machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(job)
    finally:
        torch.set_num_threads(threads)


def _run(job: Job) -> Outcome:
    if job.corrective is not None:
        from erase.adapters.corrective import run_corrective

        return run_corrective(job)
    # 1. Check inputs.
    c = check(job)
    task = c.task
    if job.klom:
        from erase.adapters.ensemble import check_klom

        check_klom(task, job.klom)

    # 2. Build the data (offline) and the original's architecture, seeded.
    prepared = task.datasets[c.dataset](c.forget, job.seed)
    logger.info("%s", prepared.description)
    torch.manual_seed(job.seed)
    original = prepared.make_model().to(c.device)
    label = "all" if job.methods == ("all",) else "+".join(m for m in c.methods if m != task.reference) or "retrain"
    run_ = create_run(job.out, f"{task.name}-{c.dataset}-{c.forget.kind}-{label}", c.cfg, list(job.argv), job.seed,
                      model_id=f"{task.name}/{c.dataset}", device=c.device)
    ctx = Context(seed=job.seed, device=c.device, dir=run_.dir, train=c.cfg.train, progress=job.verbose)
    started = time.time()

    # 3. Train the original on retain ∪ forget.
    original = task.train(original, prepared.data, ctx)

    # 4. Unlearn with each method, retrain first (the reference), each from a copy of the original.
    models, runtimes, prep = unlearn_each(task, c.methods, original, prepared.data, c.cfg, ctx, job.progress)

    # 5. Evaluate: the original and every method, against the retrained model; KLoM over seeds if asked.
    reference = models[task.reference]
    before = task.evaluate(original, prepared.data, ctx, reference=reference)
    results = {name: task.evaluate(m, prepared.data, ctx, reference=reference) for name, m in models.items()}
    if job.klom:
        from erase.adapters.ensemble import KLOM_KEYS, add_klom

        add_klom(task, prepared, c.methods, c.cfg, ctx, job.klom, {"original": original, **models},
                 {"original": before, **results}, job.progress)
        task = dataclasses.replace(task, headline=(*task.headline, *KLOM_KEYS))

    # 6. Save the models (safetensors state dicts).
    save_models(models, run_.dir)

    # 7. Report.
    methods = {name: {**results[name], **timings(runtimes[name], prep.get(name)),
                      "gap": gap(results[name], results[task.reference])} for name in c.methods}
    last = c.methods[-1] if job.methods != ("all",) else task.reference
    metrics = {
        "backend": "adapters", "method": "all" if job.methods == ("all",) else last, "concept": str(c.forget),
        "model": f"{task.name}/{c.dataset}", "before": before, "after": results[last],
        "runtime_s": round(time.time() - started, 1), "peak_memory_mb": peak_memory_mb(c.device),
        "samples": forget_size(prepared.data), "seed": job.seed, "task": task.name, "dataset": c.dataset,
        "forget": str(c.forget), "reference": task.reference, "methods": methods,
    }
    header, rows = table_rows(task, before, methods)
    title = f"{task.name}/{c.dataset}, forget {c.forget}: each metric (gap to {task.reference})"
    return Outcome(run_, metrics, write_outputs(run_, metrics, title, header, rows))


def unlearn_each(task: Task, names: tuple[str, ...], original: nn.Module, data: Any, cfg: Any, ctx: Context,
                 progress: bool = True) -> tuple[dict[str, nn.Module], dict[str, float], dict[str, float]]:
    """Each method in `names` from its own copy of `original`, seeded with `ctx.seed`: the models in eval mode,
    the seconds each `unlearn` took, and the seconds of each one-off `prepare` (methods that have one)."""
    models, runtimes, prep = {}, {}, {}
    for name in tqdm(names, desc="unlearn", disable=not progress):
        method, method_cfg = task.methods[name], getattr(cfg, name)
        torch.manual_seed(ctx.seed)
        reseed_loaders(data, ctx.seed)
        model, seconds = prepared_start(method, copy.deepcopy(original), data, method_cfg, ctx)
        if seconds is not None:
            prep[name] = seconds
            logger.info("%s: prepared in %.2f s", name, seconds)
        t0 = time.perf_counter()
        models[name] = method.unlearn(model, data, method_cfg, ctx).eval()
        runtimes[name] = time.perf_counter() - t0
        logger.info("%s: %.2f s", name, runtimes[name])
    return models, runtimes, prep


def prepared_start(method: Method, model: nn.Module, data: Any, cfg: Any, ctx: Context
                   ) -> tuple[nn.Module, float | None]:
    """The model `method` unlearns from: `model`, or what its one-off `prepare` makes of it, with the seconds
    that took (None without a `prepare`)."""
    if method.prepare is None:
        return model, None
    t0 = time.perf_counter()
    return method.prepare(model, data, cfg, ctx), time.perf_counter() - t0


def timings(runtime: float, prep: float | None) -> dict[str, float]:
    """`runtime_s`, and `prep_s` for a method with a one-off preparation."""
    return {"runtime_s": round(runtime, 3), **({} if prep is None else {"prep_s": round(prep, 3)})}


def reseed_loaders(data: Any, seed: int) -> None:
    """Reset the shuffle generator of every DataLoader in `data` (a dataclass), so each method sees the batches
    it would see alone, whichever methods iterated the loaders before it."""
    if not dataclasses.is_dataclass(data):
        return
    for f in dataclasses.fields(data):
        loader = getattr(data, f.name)
        if isinstance(loader, DataLoader) and loader.generator is not None:
            loader.generator.manual_seed(seed)


def save_models(models: dict[str, nn.Module], run_dir: Path) -> None:
    """Each model's state dict as `<name>.safetensors` in the run directory."""
    for name, m in models.items():
        save_file({k: v.contiguous() for k, v in m.state_dict().items()}, run_dir / f"{name}.safetensors")


def write_outputs(run_: Run, metrics: dict[str, Any], title: str, header: list[str], rows: list[list]) -> str:
    """metrics.json, report.html (with the table under `title`) and table.md; returns the markdown table."""
    from erase.eval.report import write_metrics, write_report

    write_metrics(run_.dir, metrics)
    write_report(run_.dir, metrics, [], tables={title: (header, rows)})
    table = markdown(header, rows)
    (run_.dir / "table.md").write_text(table + "\n")
    return table


def forget_size(data: Any) -> int:
    """Samples in the forget set: a DataLoader's dataset, or the family's own `forget_size` (graph nodes,
    recommender interactions)."""
    forget = data.forget
    return len(forget.dataset) if hasattr(forget, "dataset") else int(data.forget_size)


def gap(result: Metrics, reference: Metrics) -> Metrics:
    """Every metric minus the reference's."""
    return {group: {k: v - reference[group][k] for k, v in values.items() if k in reference[group]}
            for group, values in result.items()}


def table_rows(task: Task, before: Metrics, methods: dict[str, dict[str, Any]]) -> tuple[list[str], list[list]]:
    """One row per model (the original first), one column per headline metric present: "value (gap)"."""
    keys = [k for k in task.headline if k.split("/")[1] in before[k.split("/")[0]]]
    header = ["method", *(k.split("/")[1] for k in keys), "runtime (s)"]
    reference = methods[task.reference]
    rows = [["original", *(cell(before, reference, k) for k in keys), ""]]
    for name, m in methods.items():
        gaps = name != task.reference
        rows.append([name, *(cell(m, reference, k, gaps) for k in keys), runtime_cell(m)])
    return header, rows


def runtime_cell(method: dict[str, Any]) -> str:
    """The unlearning run time, and a method's one-off preparation beside it: "0.01 (+4.50 prep)"."""
    prep = f" (+{method['prep_s']:.2f} prep)" if "prep_s" in method else ""
    return f"{method['runtime_s']:.2f}{prep}"


def cell(result: dict[str, Any], reference: dict[str, Any], key: str, with_gap: bool = True) -> str:
    group, name = key.split("/")
    value, ref = result[group].get(name), reference[group].get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.2f}" + (f" ({value - ref:+.2f})" if with_gap and ref is not None else "")


def markdown(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(str(v) for v in row) + " |" for row in rows)])


def peak_memory_mb(device: str) -> float:
    if device.startswith("cuda"):
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
