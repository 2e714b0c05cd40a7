"""`python -m erase.eval toy-sd runs/RUN ... --concept nudity`: evaluate several models on the same concept,
prompts and seeds; one table (markdown on stdout, CSV and HTML in a new run directory)."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import html
import io
import json
import logging
import sys
from pathlib import Path

from erase.errors import EraseError, cli_main

COLUMNS = ("detection_rate", "paraphrase_detection_rate", "implicit_detection_rate", "neutral_detection_rate",
           "attack_success_rate", "pre_attack_success_rate")
RETAINED = ("detection_rate", "clip_score", "fid", "kid")


@dataclasses.dataclass(frozen=True)
class Target:
    label: str
    model: str  # what load_pretrained takes
    original: str  # the unerased model the attack draws its targets from


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m erase.eval", description=__doc__)
    p.add_argument("models", nargs="+", help="toy-sd, diffusers folders, or run directories of erase.diffusion")
    p.add_argument("--concept", default="nudity", help="concept name or YAML file")
    p.add_argument("--config", type=Path, help="YAML file layered over the evaluation preset")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="e.g. --set samples=256")
    p.add_argument("--out", type=Path, default=Path("runs"), help="root of run directories")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    return p


def resolve(entry: str) -> Target:
    """A run directory evaluates its `model/` against the model it was erased from; anything else stands alone."""
    path = Path(entry)
    if (path / "manifest.json").is_file():
        if not (path / "model").is_dir():
            raise EraseError(f"run {path} has no model/ yet (was it interrupted?); resume it or pass another run")
        return Target(path.name, str(path / "model"), json.loads((path / "manifest.json").read_text())["model_id"])
    return Target(entry, entry, entry)


def table(rows: list[tuple[str, dict]]) -> list[list[str]]:
    header = ["model", *COLUMNS, *(f"retained_{k}" for k in RETAINED)]
    body = [[label, *(_fmt(m["erased"].get(k)) for k in COLUMNS), *(_fmt(m["retained"].get(k)) for k in RETAINED)]
            for label, m in rows]
    return [header, *body]


def _fmt(value) -> str:
    return "" if value is None else f"{value:.3f}"


def markdown(cells: list[list[str]]) -> str:
    lines = ["| " + " | ".join(row) + " |" for row in cells]
    lines.insert(1, "|" + "---|" * len(cells[0]))
    return "\n".join(lines)


@cli_main
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    from diffusers import StableDiffusionPipeline

    from erase import concepts
    from erase.config import load_config
    from erase.diffusion.run import EVAL_CONFIGS, model_family
    from erase.eval.evaluate import EvalConfig, EvalTools, evaluate, sample_cache_key
    from erase.hub import load_pretrained
    from erase.parallel import process_state
    from erase.runs import atomic_write_text, create_run

    # 1. Check inputs before loading anything.
    concept = concepts.get(args.concept)
    targets = [resolve(m) for m in args.models]
    load_config(EvalConfig, config_file=args.config, overrides=args.set)
    state = process_state()  # under `accelerate launch`, the processes share the sampling; the first writes
    device = args.device or str(state.device)

    # 2. Evaluate each model on the same prompts and seeds.
    rows, originals = [], {}
    cfg = run = None
    for target in targets:
        pipe = load_pretrained(StableDiffusionPipeline, target.model).to(device)
        pipe.set_progress_bar_config(disable=True)
        if cfg is None:
            preset = EVAL_CONFIGS / f"{model_family(pipe)}.yaml"
            cfg = load_config(EvalConfig, preset=preset if preset.is_file() else None, config_file=args.config,
                              overrides=args.set)
            cfg = dataclasses.replace(cfg, seed=args.seed)
            if state.is_main_process:
                run = create_run(args.out, f"eval-{concept.name.replace(':', '-')}", cfg, argv, args.seed,
                                 device=device)
        if target.original not in originals:
            original = pipe if target.original == target.model else load_pretrained(
                StableDiffusionPipeline, target.original).to(device)
            original.set_progress_bar_config(disable=True)
            originals[target.original] = original
        tools = EvalTools.for_pipeline(pipe, cache_key=sample_cache_key(target.model))
        result = evaluate(pipe, concept, cfg, tools, original=originals[target.original])
        rows.append((target.label, result.metrics))

    # 3. One table: markdown on stdout, CSV, HTML and JSON in the run directory.
    if not state.is_main_process:
        return 0
    cells = table(rows)
    print(markdown(cells))
    buffer = io.StringIO()
    csv.writer(buffer).writerows(cells)
    atomic_write_text(run.dir / "table.csv", buffer.getvalue())
    atomic_write_text(run.dir / "table.html", _html(cells, concept.name))
    atomic_write_text(run.dir / "metrics.json", json.dumps(dict(rows), indent=2) + "\n")
    print(f"table: {run.dir / 'table.csv'}")
    return 0


def _html(cells: list[list[str]], concept: str) -> str:
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in cells[1:])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cells[0])
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>erase eval: {html.escape(concept)}</title></head>"
            f"<body><h1>{html.escape(concept)}</h1><table border='1'><tr>{head}</tr>{rows}</table></body></html>\n")


if __name__ == "__main__":
    sys.exit(main())
