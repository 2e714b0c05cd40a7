"""A run's results: `metrics.json` (the stable schema of DESIGN.md) and a self-contained `report.html`.

The report needs nothing but the file: images and charts are inline base64 PNGs, styles are inline,
there is no script and no external reference. Every text that reaches the HTML is escaped.
"""

from __future__ import annotations

import base64
import html
import io
import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from erase.eval.attacks import AttackOutcome
from erase.runs import atomic_write_json, atomic_write_text

REQUIRED_KEYS = ("backend", "method", "concept", "model", "before", "after", "runtime_s", "peak_memory_mb",
                 "samples", "seed")
GROUPS = ("erased", "retained")
CELL_PX = 128  # displayed image size: small images are upscaled by whole factors (nearest), big ones shrunk


@dataclass
class Grid:
    """One prompt set drawn before and after erasure on the same seeds: image i comes from prompts[i]."""

    name: str
    prompts: list[str]
    before: np.ndarray  # (N, H, W, 3) uint8
    after: np.ndarray  # (N, H, W, 3) uint8
    before_scores: np.ndarray | None = None  # (N,) detector scores, shown under each image
    after_scores: np.ndarray | None = None

    def __post_init__(self) -> None:
        assert len(self.prompts) == len(self.before) == len(self.after), (
            len(self.prompts), len(self.before), len(self.after))


def _check_schema(metrics: Mapping[str, Any]) -> None:
    for key in REQUIRED_KEYS:
        assert key in metrics, f"metrics.json needs {key!r}; got keys {sorted(metrics)}"
    for side in ("before", "after"):
        for group in GROUPS:
            assert isinstance(metrics[side].get(group), Mapping), f"metrics[{side!r}] needs a {group!r} dict"


def write_metrics(run_dir: Path, metrics: Mapping[str, Any]) -> Path:
    """Write `run_dir/metrics.json` atomically after checking the stable keys (extra keys are kept)."""
    _check_schema(metrics)
    path = Path(run_dir) / "metrics.json"
    atomic_write_json(path, metrics)
    return path


# HTML pieces -------------------------------------------------------------------------------------------


def _e(text: Any) -> str:
    return html.escape(str(text))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fmt(value: Any) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{value:.4g}" if _is_number(value) else _e(value)


def _img(png: bytes, alt: str = "") -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _png(image: np.ndarray) -> str:
    """An <img> of an (H, W, 3) uint8 image, brought near CELL_PX: upscaled by a whole factor (nearest
    neighbour, so 32x32 pixels stay sharp) or shrunk."""
    h, w = image.shape[:2]
    if max(h, w) < CELL_PX:
        k = CELL_PX // max(h, w)
        pil = Image.fromarray(image).resize((w * k, h * k), Image.NEAREST)
    else:
        pil = Image.fromarray(image)
        pil.thumbnail((2 * CELL_PX, 2 * CELL_PX), Image.LANCZOS)
    buf = io.BytesIO()
    pil.save(buf, format="png")
    return _img(buf.getvalue())


def _metric_table(metrics: Mapping[str, Any]) -> str:
    rows = []
    for group in GROUPS:
        before, after = metrics["before"][group], metrics["after"][group]
        for key in dict.fromkeys([*before, *after]):
            b, a = before.get(key), after.get(key)
            change = f"{a - b:+.4g}" if _is_number(a) and _is_number(b) else "&ndash;"
            rows.append(f"<tr><td>{_e(group)}</td><td>{_e(key)}</td><td>{_fmt(b)}</td><td>{_fmt(a)}</td>"
                        f"<td>{change}</td></tr>")
    return ("<table><tr><th>set</th><th>metric</th><th>before</th><th>after</th><th>change</th></tr>"
            + "".join(rows) + "</table>")


def _rate_chart(metrics: Mapping[str, Any]) -> str:
    """Grouped bars of every `*_rate` metric before and after, as an inline PNG ('' if there is none)."""
    from matplotlib.figure import Figure

    keys = [(g, k) for g in GROUPS for k in dict.fromkeys([*metrics["before"][g], *metrics["after"][g]])
            if k.endswith("rate")]
    if not keys:
        return ""
    x = np.arange(len(keys))
    fig = Figure(figsize=(max(4.0, 1.3 * len(keys)), 3.0), dpi=100)
    ax = fig.add_subplot()
    for offset, side, color in ((-0.2, "before", "#9aa5b1"), (0.2, "after", "#d9534f")):
        values = [metrics[side][g].get(k) for g, k in keys]
        ax.bar(x + offset, [v if _is_number(v) else 0.0 for v in values], width=0.4, label=side, color=color)
    ax.set_xticks(x, [f"{g}\n{textwrap.fill(k.replace('_', ' '), 16)}" for g, k in keys], fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel("rate")
    ax.legend(fontsize=7, ncols=2, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return _img(buf.getvalue(), "detection rates before and after")


def _cell(image: np.ndarray, score: float | None) -> str:
    caption = "" if score is None else f"<figcaption>{float(score):.2f}</figcaption>"
    return f"<figure>{_png(image)}{caption}</figure>"


def _grid(grid: Grid) -> str:
    """One row per prompt (in order of first use): its images before, then after."""
    rows = []
    for prompt in dict.fromkeys(grid.prompts):
        index = [i for i, p in enumerate(grid.prompts) if p == prompt]
        cells = {}
        for side, images, scores in (("before", grid.before, grid.before_scores),
                                     ("after", grid.after, grid.after_scores)):
            cells[side] = "".join(_cell(images[i], None if scores is None else scores[i]) for i in index)
        rows.append(f'<tr><td class="prompt">{_e(prompt)}</td><td>{cells["before"]}</td>'
                    f'<td>{cells["after"]}</td></tr>')
    return (f"<h3>{_e(grid.name)}</h3><table class=\"grid\"><tr><th>prompt</th><th>before</th><th>after</th></tr>"
            + "".join(rows) + "</table>")


def _attack(attack: AttackOutcome) -> str:
    rows = "".join(f'<tr><td class="prompt">{_e(p)}</td><td>{_cell(image, None)}</td></tr>'
                   for p, image in zip(attack.prompts, attack.images, strict=True))
    return (f"<h2>Adversarial prompts</h2><p>attack success rate: {_fmt(attack.pre_asr)} with the plain prompts, "
            f"{_fmt(attack.asr)} after the attack</p>"
            f"<table class=\"grid\"><tr><th>adversarial prompt</th><th>image</th></tr>{rows}</table>")


STYLE = """body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
figure{display:inline-block;margin:2px;text-align:center}figcaption{font-size:11px}
img{image-rendering:pixelated}td.prompt{max-width:18em}"""


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(run_dir: Path, metrics: Mapping[str, Any], grids: Sequence[Grid],
                 attack: AttackOutcome | None = None,
                 tables: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]] | None = None) -> Path:
    """Write `run_dir/report.html`: the run's title line, every metric before/after with its change,
    a chart of detection rates, extra `tables` (title -> (header, rows)), before/after grids per prompt set,
    and the attack's prompts and images."""
    _check_schema(metrics)
    title = f"erase: {metrics['concept']} by {metrics['method']} from {metrics['model']}"
    summary = (f"runtime {_fmt(metrics['runtime_s'])} s &middot; peak memory {_fmt(metrics['peak_memory_mb'])} MB "
               f"&middot; {_fmt(metrics['samples'])} samples &middot; seed {_fmt(metrics['seed'])} "
               f"&middot; backend {_e(metrics['backend'])}")
    parts = [f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{_e(title)}</title>"
             f"<style>{STYLE}</style></head><body>",
             f"<h1>{_e(title)}</h1><p>{summary}</p>",
             "<h2>Metrics</h2>", _metric_table(metrics), _rate_chart(metrics)]
    for title, (header, rows) in (tables or {}).items():
        parts += [f"<h2>{_e(title)}</h2>", _table(header, rows)]
    if grids:
        parts += ["<h2>Before and after, same seeds</h2>", *(_grid(g) for g in grids)]
    if attack is not None:
        parts.append(_attack(attack))
    parts.append("</body></html>\n")
    path = Path(run_dir) / "report.html"
    atomic_write_text(path, "\n".join(parts))
    return path
