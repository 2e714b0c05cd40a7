"""The app's frame: a shared run picker above a row of tabs, each made by one builder function.

A tab is `Tab(title, build)`: `build(ctx)` makes its components inside the tab and wires its events,
reading the selected run from `ctx.run` (and may update it, as the Erase tab does with a new run).
Tabs know nothing of each other, so a backend adds one by listing it in `erase.app.tabs.TABS`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from erase.app.catalog import list_runs
from erase.app.models import Models
from erase.errors import EraseError

logger = logging.getLogger(__name__)
TITLE = "erase: before and after"
# Toy images are 32x32: shown filling their frame, pixels kept sharp.
CSS = ("#base-image img, #erased-image img {width: 100%; height: 100%; object-fit: contain; "
       "image-rendering: pixelated}")
QUEUE_SIZE = 16


@dataclass
class AppContext:
    """What every tab shares: the runs root, the default base model, the loaded models, the run picker."""

    runs_root: Path
    base_model: str = "toy-sd"
    models: Models = field(default_factory=Models)
    run: Any = None  # the shared run picker (gr.Dropdown); made by `build_app` before the tabs

    def run_choices(self, select: str | None = None) -> dict[str, Any]:
        """An update of the run picker: every finished run under the root, `select` (or the newest) chosen."""
        import gradio as gr

        runs = list_runs(self.runs_root)
        value = select if select is not None else (runs[0].name if runs else None)
        return gr.update(choices=[(r.label, r.name) for r in runs], value=value)


@dataclass(frozen=True)
class Tab:
    title: str
    build: Callable[[AppContext], None]


def shows_errors(fn: Callable) -> Callable:
    """Wrap an event handler: an EraseError appears in the app as its one-line message, not a traceback."""
    import gradio as gr

    @functools.wraps(fn)
    def handler(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except EraseError as exc:
            logger.info("refused: %s", exc)
            raise gr.Error(str(exc), print_exception=False) from exc

    return handler


def build_app(ctx: AppContext, tabs: Sequence[Tab]):
    """The gr.Blocks of the app: a title, the run picker, then one gr.Tab per entry of `tabs`."""
    import gradio as gr

    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"## {TITLE}\nRuns under `{ctx.runs_root}`; the base model and the erased run draw the same "
                    "prompt from the same noise, and the run's concept detector scores both.")
        with gr.Row():
            ctx.run = gr.Dropdown(label="Erased run (concept · method · model · started)", allow_custom_value=True,
                                  elem_id="run", scale=5)
            refresh = gr.Button("Refresh runs", scale=1, size="sm")
        with gr.Tabs():
            for tab in tabs:
                with gr.Tab(tab.title, id=tab.title.lower()):
                    tab.build(ctx)
        refresh.click(ctx.run_choices, outputs=ctx.run, api_name=False)
        demo.load(ctx.run_choices, outputs=ctx.run, api_name=False)
    return demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)  # one generation at a time


def launch(demo, host: str = "127.0.0.1", port: int = 7860, share: bool = False, block: bool = True) -> str:
    """Serve `demo` on host:port (a share link only if asked); returns the local URL."""
    try:
        _, url, _ = demo.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=not block,
                                css=CSS, footer_links=["api"], quiet=not block)
    except OSError as exc:
        raise EraseError(f"cannot serve on {host}:{port} ({exc}); pass another --port or --host") from exc
    return url
