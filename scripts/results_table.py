"""Print the README's results tables from run directories' metrics.json (never typed by hand).

    python scripts/results_table.py runs/*/

Diffusion runs give one row each; an adapter run (`python -m erase.adapters`) gives one table per run: a row per
method, each metric with its gap to the reference (retrain).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from erase.adapters.run import runtime_cell

ERASED = ("detection_rate", "paraphrase_detection_rate", "implicit_detection_rate", "attack_success_rate")
RETAINED = ("detection_rate", "clip_score", "fid")


def adapter_rows(run: Path) -> list[str]:
    m = json.loads((run / "metrics.json").read_text())
    keys = [(g, k) for g in ("erased", "retained") for k in m["before"][g]]
    header = ["method", *(k for _, k in keys), "runtime (s)"]
    lines = [f"{m['model']}, forget {m['forget']} (seed {m['seed']}; gap to {m['reference']} in brackets):", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    ref = m["methods"][m["reference"]]
    lines.append("| original | " + " | ".join(_gap(m["before"][g][k], ref[g].get(k)) for g, k in keys) + " | |")
    for name, r in m["methods"].items():
        cells = [_gap(r[g].get(k), None if name == m["reference"] else ref[g].get(k)) for g, k in keys]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {runtime_cell(r)} |")
    return lines


def _gap(value: float | None, ref: float | None) -> str:
    if value is None or math.isnan(value):  # as the CLI's table: a metric the setting does not define
        return ""
    return f"{value:.2f}" if ref is None else f"{value:.2f} ({value - ref:+.2f})"


def rows(run_dirs: list[Path]) -> list[str]:
    header = ["concept", "method", *(f"{k} before→after" for k in ERASED),
              *(f"retained {k} before→after" for k in RETAINED), "largest retained drop", "runtime (s)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for run in run_dirs:
        m = json.loads((run / "metrics.json").read_text())
        cells = [m["concept"], m["method"]]
        cells += [_pair(m, "erased", k) for k in ERASED] + [_pair(m, "retained", k) for k in RETAINED]
        cells.append(_largest_drop(m["before"]["retained"]["concepts"], m["after"]["retained"]["concepts"]))
        lines.append("| " + " | ".join([*cells, f"{m['runtime_s']:.0f}"]) + " |")
    return lines


def _pair(m: dict, group: str, key: str) -> str:
    before, after = m["before"][group].get(key), m["after"][group].get(key)
    return "" if before is None or after is None else f"{before:.2f} → {after:.2f}"


def _largest_drop(before: dict[str, float], after: dict[str, float]) -> str:
    name = min(before, key=lambda k: after[k] - before[k])
    return f"{name} {after[name] - before[name]:+.2f}"


def _backend(run: Path) -> str:
    return json.loads((run / "metrics.json").read_text())["backend"]


if __name__ == "__main__":
    runs = [Path(p) for p in sys.argv[1:] if (Path(p) / "metrics.json").is_file()]
    diffusion = [r for r in runs if _backend(r) != "adapters"]
    if diffusion:
        print("\n".join(rows(diffusion)))
    for run in (r for r in runs if _backend(r) == "adapters"):
        print("\n".join(["", *adapter_rows(run)]))
