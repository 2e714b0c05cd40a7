"""Build a toy model end to end: train it in a run directory, save it there as a
`from_pretrained` folder, and (when asked) install it as the shipped weights."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from erase.errors import EraseError
from erase.runs import Run, atomic_save_dir
from erase.training import TRAIN_SECONDS

logger = logging.getLogger(__name__)
WEIGHTS_DIR = Path(__file__).parent / "weights"


def _build_detector(run: Run, out: Path, init: Path | None) -> None:
    from erase.toyworld.train_detector import train_detector

    if init is not None:
        raise EraseError("toy-detector trains in one stage; run it without --init")
    train_detector(run).save_pretrained(out)


def _build_clip(run: Run, out: Path, init: Path | None) -> None:
    from erase.toyworld.train_clip import save_clip, train_clip

    save_clip(*train_clip(run, init), out)


def _build_sd(run: Run, out: Path, init: Path | None) -> None:
    from erase.toyworld.train_sd import train_sd

    pipe = train_sd(run, clip_dir=WEIGHTS_DIR / "toy-clip", detector_dir=WEIGHTS_DIR / "toy-detector", init=init)
    pipe.save_pretrained(out)
    for config in out.glob("*/config.json"):  # parts loaded from `init` would ship this machine's path
        fields = json.loads(config.read_text())
        if fields.pop("_name_or_path", None) is not None:
            config.write_text(json.dumps(fields, indent=2, sort_keys=True) + "\n")


BUILDERS: dict[str, Callable[[Run, Path, Path | None], None]] = {
    "toy-detector": _build_detector,
    "toy-clip": _build_clip,
    "toy-sd": _build_sd,
}


def build(name: str, run: Run, install: bool, init: bool = False) -> Path:
    """Train `name` in `run`, save it to `run/model`, and copy it to the shipped weights if `install`.
    With `init`, start from the shipped weights and run only the model's last stage."""
    def save(tmp: Path) -> None:
        BUILDERS[name](run, tmp, WEIGHTS_DIR / name if init else None)
        seconds = sum(float(p.read_text()) for p in run.dir.rglob(TRAIN_SECONDS))
        (tmp / TRAIN_SECONDS).write_text(f"{seconds:.0f}\n")

    model_dir = atomic_save_dir(save, run.dir / "model")
    if install:
        target = WEIGHTS_DIR / name
        staged = atomic_save_dir(lambda tmp: shutil.copytree(model_dir, tmp, dirs_exist_ok=True),
                                 WEIGHTS_DIR / f".{name}.new")
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
        logger.info("installed %s", target)
    return model_dir
