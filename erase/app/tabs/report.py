"""Report: the selected run's metrics as a table, and its report.html (grids, plots) as the run wrote it."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

from erase.app.catalog import open_run_dir, started_at
from erase.app.shell import AppContext, Tab
from erase.errors import EraseError

HEADERS = ["set", "metric", "before", "after", "change"]


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"concepts": {"hat": 1.0}} -> {"concepts.hat": 1.0}."""
    flat = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return round(float(value), 4) if ok else None


def metric_rows(metrics: Mapping[str, Any]) -> list[list[Any]]:
    """One row per metric of the erased concept and of what was retained: before, after, change."""
    rows = []
    for group in ("erased", "retained"):
        before, after = flatten(metrics["before"].get(group, {})), flatten(metrics["after"].get(group, {}))
        for key in dict.fromkeys([*before, *after]):
            b, a = _number(before.get(key)), _number(after.get(key))
            rows.append([group, key, b, a, None if a is None or b is None else round(a - b, 4)])
    return rows


def report(ctx: AppContext, run_name: str) -> tuple[str, list[list[Any]], str]:
    """(a summary line, the metric rows, report.html in an iframe), or the reason the run cannot be shown."""
    try:
        run = open_run_dir(ctx.runs_root, run_name)
    except EraseError as exc:
        return f"⚠ {exc}", [], ""
    m = run.metrics
    summary = (f"**{m['concept']}** erased by **{m['method']}** from {m['model']} · started {started_at(run.dir)} · "
               f"runtime {m['runtime_s']} s · {m['samples']} samples per prompt set · seed {m['seed']} · `{run.dir}`")
    page = run.dir / "report.html"
    if not page.is_file():
        return summary + "\n\n⚠ this run has no report.html", metric_rows(m), ""
    frame = (f'<iframe title="report.html" srcdoc="{html.escape(page.read_text())}" '
             'style="width:100%;height:900px;border:1px solid #ccc"></iframe>')
    return summary, metric_rows(m), frame


def build(ctx: AppContext) -> None:
    import gradio as gr

    summary = gr.Markdown(elem_id="report-summary")
    table = gr.Dataframe(headers=HEADERS, datatype=["str", "str", "number", "number", "number"],
                         interactive=False, label="metrics.json", elem_id="report-metrics")
    page = gr.HTML(elem_id="report-html")
    ctx.run.change(lambda name: report(ctx, name), inputs=ctx.run, outputs=[summary, table, page],
                   api_name="report")


TAB = Tab("Report", build)
