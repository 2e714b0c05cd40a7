"""`python app.py`: serve the before/after app on 127.0.0.1 (a share link only with --share)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from erase.errors import EraseError, cli_main

logger = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python app.py", description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--runs", type=Path, default=Path("runs"), help="runs root: the app reads runs only under it")
    p.add_argument("--base", default="toy-sd", help="default base model: toy-sd or a local diffusers folder")
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    return p


@cli_main
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # gradio's own startup requests
    if not 0 < args.port < 65536:
        raise EraseError(f"--port must be from 1 to 65535, got {args.port}")
    try:
        import gradio  # noqa: F401
    except ImportError as exc:
        raise EraseError("the app needs gradio: pip install -e '.[app]'") from exc
    from erase.app.models import Models
    from erase.app.shell import AppContext, build_app, launch
    from erase.app.tabs import TABS

    ctx = AppContext(runs_root=args.runs, base_model=args.base, models=Models(args.device))
    launch(build_app(ctx, TABS), host=args.host, port=args.port, share=args.share)
    return 0
