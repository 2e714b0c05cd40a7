"""Print the README's results table from run directories' metrics.json (never typed by hand).

    python scripts/results_table.py runs/*/
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ERASED = ("detection_rate", "paraphrase_detection_rate", "implicit_detection_rate", "attack_success_rate")
RETAINED = ("detection_rate", "clip_score", "fid")


def rows(run_dirs: list[Path]) -> list[str]:
    header = ["concept", "method", *(f"{k} before→after" for k in ERASED),
              *(f"retained {k} before→after" for k in RETAINED), "runtime (s)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for run in run_dirs:
        m = json.loads((run / "metrics.json").read_text())
        cells = [m["concept"], m["method"]]
        cells += [_pair(m, "erased", k) for k in ERASED] + [_pair(m, "retained", k) for k in RETAINED]
        lines.append("| " + " | ".join([*cells, f"{m['runtime_s']:.0f}"]) + " |")
    return lines


def _pair(m: dict, group: str, key: str) -> str:
    before, after = m["before"][group].get(key), m["after"][group].get(key)
    return "" if before is None or after is None else f"{before:.2f} → {after:.2f}"


if __name__ == "__main__":
    print("\n".join(rows([Path(p) for p in sys.argv[1:] if (Path(p) / "metrics.json").is_file()])))
