"""The run directories the app may read: only those under its runs root.

A run is named by its path relative to the root (what the run picker holds); `open_run_dir` resolves
it, refuses anything that lands outside the root (`..`, absolute paths, symlinks), and checks that the
run finished: `metrics.json` with its stable keys and a `model/` folder.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from erase.errors import EraseError
from erase.eval.report import REQUIRED_KEYS

logger = logging.getLogger(__name__)
MAX_DEPTH = 3  # runs/<run>, runs/<group>/<run>, ... (the toy world's training runs sit one level down)


@dataclass(frozen=True)
class RunInfo:
    name: str  # path relative to the runs root, as the picker holds it
    dir: Path
    metrics: dict[str, Any]

    @property
    def label(self) -> str:
        m = self.metrics
        return f"{m['concept']} · {m['method']} · {m['model']} · {started_at(self.dir)} ({self.name})"


def started_at(run_dir: Path) -> str:
    """The run's start time from its manifest ("YYYY-mm-dd HH:MM"), or '?' where it has none."""
    try:
        stamp = json.loads((run_dir / "manifest.json").read_text())["started_at"]
    except (OSError, ValueError, KeyError, TypeError):
        return "?"
    return str(stamp)[:16].replace("T", " ")


def resolve_inside(root: Path, name: str) -> Path:
    """`root / name`, resolved; EraseError if it is not under `root`."""
    if not name or not name.strip():
        raise EraseError("no run selected; pick one from the runs list (or make one in the Erase tab)")
    root = root.resolve()
    path = (root / name.strip()).resolve()
    if not path.is_relative_to(root):
        raise EraseError(f"run {name!r} is outside the runs root {root}; the app reads runs only under it "
                         "(start it with --runs DIR to serve another root)")
    return path


def open_run_dir(root: Path, name: str) -> RunInfo:
    """The finished run `name` under `root`; one-line EraseError for a missing, unfinished or broken run."""
    path = resolve_inside(root, name)
    if not path.is_dir():
        raise EraseError(f"no run directory {name!r} under {root}; refresh the runs list")
    metrics_file = path / "metrics.json"
    if not metrics_file.is_file():
        raise EraseError(f"run {name!r} has no metrics.json: it is still running or was killed "
                         f"(continue it with python -m erase.diffusion --resume {path})")
    try:
        metrics = json.loads(metrics_file.read_text())
    except (OSError, ValueError) as exc:
        raise EraseError(f"run {name!r}: metrics.json is unreadable ({exc})") from exc
    missing = [k for k in REQUIRED_KEYS if not isinstance(metrics, dict) or k not in metrics]
    if missing:
        raise EraseError(f"run {name!r}: metrics.json lacks {', '.join(missing)}; it is not a run of erase")
    if not (path / "model" / "model_index.json").is_file():
        raise EraseError(f"run {name!r} has no model/ folder with a model_index.json; it is broken")
    return RunInfo(name, path, metrics)


def list_runs(root: Path) -> list[RunInfo]:
    """Finished runs under `root` (up to MAX_DEPTH levels), newest first; broken ones are logged and skipped."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for depth in range(1, MAX_DEPTH + 1):
        for metrics_file in root.glob("/".join(["*"] * depth) + "/metrics.json"):
            name = metrics_file.parent.relative_to(root).as_posix()
            try:
                found.append(open_run_dir(root, name))
            except EraseError as exc:
                logger.info("skipping %s: %s", name, exc)
    return sorted(found, key=lambda r: r.dir.name, reverse=True)
