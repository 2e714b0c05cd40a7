"""The main job: erase concepts from a Stable Diffusion pipeline and prove it.

`run()` reads as the steps a user expects: check inputs, load the model, evaluate before, erase each
concept, save the diffusers folder, evaluate after, write the report.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from erase.concepts import Concept
from erase.config import load_config
from erase.diffusion.methods import advunlearn, doco, esd
from erase.errors import EraseError
from erase.eval.evaluate import EvalConfig, EvalTools, evaluate, sample_cache_key
from erase.parallel import process_dir, process_state
from erase.runs import Run, atomic_save_dir, create_run, open_run

logger = logging.getLogger(__name__)
CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "diffusion"
EVAL_CONFIGS = CONFIGS.parent / "eval"


# The registry: the key is the --method value, the file under methods/ and the preset folder under configs/.
METHODS: dict[str, tuple[Callable, type]] = {
    "advunlearn": (advunlearn.erase, advunlearn.AdvUnlearnConfig),
    "doco": (doco.erase, doco.DoCoConfig),
    "esd": (esd.erase, esd.ESDConfig),
}


def config_class(method: str) -> type:
    """The run's config: the method's hyperparameters and the evaluation's, layered as one."""
    method_cls = METHODS[method][1]
    return dataclasses.make_dataclass(f"{method_cls.__name__}Run", [
        ("method", method_cls, field(default_factory=method_cls)),
        ("eval", EvalConfig, field(default_factory=EvalConfig)),
    ], frozen=True)


def resolve_config(method: str, family: str, config_file: Path | None, overrides: tuple[str, ...]):
    """Defaults <- the family's evaluation preset <- the method's preset <- --config <- --set."""
    cls = config_class(method)
    eval_preset = EVAL_CONFIGS / f"{family}.yaml"
    base = cls(eval=load_config(EvalConfig, preset=eval_preset if eval_preset.is_file() else None))
    preset = CONFIGS / method / f"{family}.yaml"
    return load_config(cls, preset=preset if preset.is_file() else None, config_file=config_file,
                       overrides=overrides, base=base)


def model_family(pipe) -> str:
    """`toy` for the toy world's small pipelines, `sd-v1` otherwise (the preset's file name)."""
    return "toy" if pipe.unet.config.sample_size <= 16 else "sd-v1"


@dataclass(frozen=True)
class Job:
    concepts: list[Concept]
    method: str
    model: str
    out: Path
    config_file: Path | None = None
    overrides: tuple[str, ...] = ()
    resume: Path | None = None
    seed: int = 0
    device: str | None = None
    argv: tuple[str, ...] = ()


def check(job: Job) -> None:
    if job.method not in METHODS:
        raise EraseError(f"unknown --method {job.method!r}; choose one of {', '.join(METHODS)}")
    if job.config_file is not None and not job.config_file.is_file():
        raise EraseError(f"--config: no file at {job.config_file}")
    load_config(config_class(job.method), config_file=job.config_file, overrides=job.overrides)  # keys and types
    if job.resume is not None:
        open_run(job.resume)
    if job.device is not None and job.device.startswith("cuda") and not torch.cuda.is_available():
        raise EraseError(f"--device {job.device}: no CUDA device here; use --device cpu")


def run(job: Job) -> tuple[Run, dict[str, Any]]:
    """Erase `job.concepts` one after another; returns the run and its metrics."""
    # 1. Check inputs (before the pipeline classes import, seconds, and any weights load).
    check(job)
    from accelerate.utils import set_seed
    from diffusers import StableDiffusionPipeline

    from erase.hub import load_pretrained, resolve_model

    erase_fn, _ = METHODS[job.method]

    # 2. Load the model and resolve the config for its family.
    pipe = load_pretrained(StableDiffusionPipeline, job.model)
    pipe.set_progress_bar_config(disable=True)
    state = process_state()  # under `accelerate launch`: data-parallel, the first process writes the outputs
    device = job.device or str(state.device)
    pipe.to(device)
    if job.resume is not None:
        run_ = open_run(job.resume)
        cfg = load_config(config_class(job.method), config_file=run_.dir / "config.yaml")
    else:
        cfg = resolve_config(job.method, model_family(pipe), job.config_file, job.overrides)
        cfg = dataclasses.replace(cfg, method=dataclasses.replace(cfg.method, seed=job.seed))
        name = f"{job.method}-{'+'.join(c.name.replace(':', '-') for c in job.concepts)}"
        source = resolve_model(job.model)
        run_ = create_run(job.out, name, cfg, list(job.argv), job.seed, model_id=job.model,
                          model_path=source if isinstance(source, Path) else None,
                          device=device) if state.is_main_process else None
    run_ = Run(process_dir(run_.dir if run_ else None))
    set_seed(cfg.method.seed)  # what draws from the global generators (DoCo's discriminator init), every process alike
    original = copy.deepcopy(pipe)
    tools = EvalTools.for_pipeline(pipe, cache_key=sample_cache_key(job.model))
    started = time.time()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()

    # 3. Evaluate before, 4. erase, 5. save, 6. evaluate after -- concept by concept.
    results = {}
    for index, concept in enumerate(job.concepts):
        before = evaluate(original, concept, cfg.eval, tools, original=original)
        sub_run = Run(run_.dir / f"concept-{index}-{concept.name.replace(':', '-')}") if len(job.concepts) > 1 else run_
        pipe = erase_fn(pipe, concept, cfg.method, sub_run)
        after = evaluate(pipe, concept, cfg.eval, tools, original=original, cache=False)
        results[concept.name] = (before, after)
    if not state.is_main_process:
        return run_, {}
    atomic_save_dir(pipe.save_pretrained, run_.dir / "model")

    # 7. Report.
    from erase.eval.report import write_metrics, write_report

    runtime = time.time() - started
    metrics = {}
    for concept in job.concepts:
        before, after = results[concept.name]
        metrics[concept.name] = {
            "backend": "diffusion", "method": job.method, "concept": concept.name, "model": job.model,
            "before": before.metrics, "after": after.metrics, "runtime_s": round(runtime, 1),
            "peak_memory_mb": _peak_memory_mb(device), "samples": cfg.eval.samples, "seed": job.seed,
        }
    main = metrics[job.concepts[-1].name]
    if len(job.concepts) > 1:
        main = {**main, "concepts": metrics}
    write_metrics(run_.dir, main)
    before, after = results[job.concepts[-1].name]
    write_report(run_.dir, main, before.grids_against(after), after.attack)
    return run_, metrics


def _peak_memory_mb(device: str) -> float:
    if device == "cuda":
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
