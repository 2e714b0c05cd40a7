"""Run directories, atomic writes, the manifest, and checkpoints that resume exactly.

Every command writes into a new directory `out_root/<YYYYmmdd-HHMMSS>-<name>` (never reused):
`config.yaml` (the resolved config), `manifest.json` (versions, seed, command line, model id and
hash, device, start time) and `checkpoints/step-N/`. `--resume RUN_DIR` opens an existing run
with `open_run`; a missing run is an error, never a silent fresh start.

Checkpoints are our own safetensors files rather than `accelerate`'s `save_state`: `save_state`
pickles the optimizer, the RNG states and the samplers (`torch.save`), and this project loads no
pickle. A checkpoint folder holds one `<name>.safetensors` per state (a module's or an optimizer's
`state_dict()`; nested structure and non-tensor values are kept as JSON in the file's metadata),
`rng.safetensors` (torch RNG states as uint8 tensors) and `state.json` (step, python and numpy RNG
states, the caller's `extra`). Under `accelerate`, pass `accelerator.unwrap_model(m).state_dict()`
and save on the main process only.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import random
import re
import shutil
import sys
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from erase import __version__
from erase.config import dump_yaml
from erase.errors import EraseError

logger = logging.getLogger(__name__)

HASHED_SUFFIXES = (".safetensors", ".json", ".txt")
UNHASHED = {"quality.json", "train_seconds.txt"}  # a toy model card's measurements, rewritten by `evaluate`
STRUCTURE_KEY = "erase.structure"  # safetensors metadata key holding a state's JSON skeleton
_STATE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_RESERVED_NAMES = ("rng", "state")


# Atomic writes --------------------------------------------------------------------------------


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never a partial one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    """`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write `obj` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


def atomic_save_dir(save_fn: Callable[[Path], object], dest: Path) -> Path:
    """Call `save_fn(tmp_dir)` on a sibling temp folder, then rename it to `dest`.

    `dest` must not exist: outputs are never overwritten. If `save_fn` fails, the temp folder is
    removed and `dest` is not created.
    """
    dest = Path(dest)
    if dest.exists():
        raise EraseError(f"'{dest}' already exists; choose a new output path (outputs are never overwritten)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.mkdir()
    try:
        save_fn(tmp)
        if dest.exists():  # created while we were saving
            raise EraseError(f"'{dest}' appeared while saving; choose a new output path")
        tmp.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


# Runs -------------------------------------------------------------------------------------------


class Checkpoint(NamedTuple):
    """A loaded checkpoint: `step, state, extra = run.load_checkpoint(path)`."""

    step: int
    state: dict[str, Any]  # name -> the state dict as saved (tensors on the CPU)
    extra: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Run:
    """A run directory: `config.yaml`, `manifest.json`, `checkpoints/step-N/`, and the outputs."""

    dir: Path

    @property
    def checkpoints_dir(self) -> Path:
        return self.dir / "checkpoints"

    def save_checkpoint(
        self,
        step: int,
        state: Mapping[str, Mapping[str, Any]],
        extra: Mapping[str, Any] | None = None,
        keep: int = 2,
    ) -> Path:
        """Save `state` (name -> state dict), the RNG states and `extra` as `checkpoints/step-N/`.

        The folder appears atomically; afterwards only the newest `keep` checkpoints are kept.
        """
        for name in state:
            if not _STATE_NAME.match(name) or name in _RESERVED_NAMES:
                raise ValueError(f"checkpoint state name {name!r} must match {_STATE_NAME.pattern} "
                                 f"and not be one of {_RESERVED_NAMES}")
        info = {"step": step, "rng": _python_numpy_rng_state(), "extra": dict(extra or {})}
        text = json.dumps(info, indent=2) + "\n"  # serialise before writing: bad `extra` fails early

        def write(tmp: Path) -> None:
            for name, sd in state.items():
                tensors: dict[str, torch.Tensor] = {}
                structure = _encode(sd, "", tensors)
                save_file(_savable(tensors), tmp / f"{name}.safetensors",
                          metadata={STRUCTURE_KEY: json.dumps(structure)})
            save_file(_torch_rng_state(), tmp / "rng.safetensors")
            (tmp / "state.json").write_text(text)

        path = atomic_save_dir(write, self.checkpoints_dir / f"step-{step}")
        for old in self._checkpoints()[:-keep] if keep > 0 else []:
            shutil.rmtree(old)
        logger.info("saved checkpoint %s", path)
        return path

    def latest_checkpoint(self) -> Path | None:
        """The newest `checkpoints/step-N/` folder, or None if the run has none yet."""
        checkpoints = self._checkpoints()
        return checkpoints[-1] if checkpoints else None

    def load_checkpoint(self, path: Path | None = None, restore_rng: bool = True) -> Checkpoint:
        """Load a checkpoint (default: the latest) and, unless told not to, restore the RNG states."""
        path = Path(path) if path is not None else self.latest_checkpoint()
        if path is None:
            raise EraseError(f"--resume: run {self.dir} has no checkpoint yet; start a new run instead")
        if not (path / "state.json").is_file():
            raise EraseError(f"--resume: no checkpoint at {path}; pass a checkpoints/step-N folder")
        info = json.loads((path / "state.json").read_text())
        state = {}
        for file in sorted(path.glob("*.safetensors")):
            if file.stem in _RESERVED_NAMES:
                continue
            with safe_open(file, framework="pt") as f:
                structure = json.loads(f.metadata()[STRUCTURE_KEY])
            state[file.stem] = _decode(structure, load_file(file))
        if restore_rng:
            _set_python_numpy_rng_state(info["rng"])
            _set_torch_rng_state(load_file(path / "rng.safetensors"))
        return Checkpoint(info["step"], state, info["extra"])

    def _checkpoints(self) -> list[Path]:
        """Complete checkpoint folders, oldest first (temp folders start with a dot and are skipped)."""
        found = [p for p in self.checkpoints_dir.glob("step-*") if re.fullmatch(r"step-\d+", p.name)]
        return sorted(found, key=lambda p: int(p.name.removeprefix("step-")))


def create_run(
    out_root: Path,
    name: str,
    cfg: Any,
    argv: list[str] | None,
    seed: int,
    model_id: str | None = None,
    model_path: Path | None = None,
    device: str | None = None,
) -> Run:
    """Make a new run directory under `out_root` and write its `config.yaml` and `manifest.json`.

    `argv` is the command line as the CLI received it (None: `sys.argv[1:]`); `model_path`, when
    given, is hashed with `model_hash`; `device` defaults to "cuda" when available, else "cpu".
    """
    run = Run(_new_dir(Path(out_root), re.sub(r"[^A-Za-z0-9_.-]+", "-", name)))
    dump_yaml(cfg, run.dir / "config.yaml")
    manifest = {
        "erase": __version__,
        "python": platform.python_version(),
        **{pkg: _version(pkg) for pkg in ("torch", "diffusers", "transformers", "accelerate")},
        "seed": seed,
        "argv": list(sys.argv[1:] if argv is None else argv),
        "model_id": model_id,
        "model_hash": model_hash(Path(model_path)) if model_path is not None else None,
        "device": device or ("cuda" if torch.cuda.is_available() else "cpu"),
        "started_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    atomic_write_json(run.dir / "manifest.json", manifest)
    logger.info("run directory: %s", run.dir)
    return run


def open_run(run_dir: str | Path) -> Run:
    """Open an existing run for `--resume RUN_DIR`; a missing run is an error, never a fresh start."""
    run_dir = Path(run_dir)
    if not (run_dir / "manifest.json").is_file():
        raise EraseError(f"--resume: no run at {run_dir}; pass a directory created by a previous run")
    return Run(run_dir)


def model_hash(path: Path) -> str:
    """16 hex digits of sha256 over a model file, or a folder's weights and configs with their paths."""
    path = Path(path)
    if not path.exists():
        raise EraseError(f"cannot hash model: no file or folder at {path}")
    files = [path] if path.is_file() else sorted(
        (p for p in path.rglob("*") if p.is_file() and p.suffix in HASHED_SUFFIXES and p.name not in UNHASHED),
        key=lambda p: p.relative_to(path).as_posix(),
    )
    digest = hashlib.sha256()
    for file in files:
        if file != path:
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with open(file, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def _new_dir(out_root: Path, name: str) -> Path:
    """Create `out_root/<timestamp>-<name>`, adding -2, -3, ... rather than reusing a directory."""
    out_root.mkdir(parents=True, exist_ok=True)
    base = f"{datetime.datetime.now():%Y%m%d-%H%M%S}-{name}"
    for i in range(1, 10_000):
        candidate = out_root / (base if i == 1 else f"{base}-{i}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise EraseError(f"too many runs named {base} in {out_root}; choose another --out")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


# Nested state <-> flat tensors + JSON skeleton -----------------------------------------------------


def _encode(obj: Any, key: str, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """A JSON skeleton of `obj` with each tensor replaced by its flat key in `tensors`.

    Every node is tagged ({"tensor": k}, {"dict": [[key, node], ...]}, {"list": ...}, {"tuple": ...},
    {"value": v}) so that int keys (optimizer param ids) and tuples (Adam's betas) come back as such.
    """
    if isinstance(obj, torch.Tensor):
        if key in tensors:
            raise ValueError(f"two tensors flatten to the same key {key!r}")
        tensors[key] = obj
        return {"tensor": key}
    if isinstance(obj, Mapping):
        return {"dict": [[k, _encode(v, f"{key}.{k}" if key else str(k), tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, f"{key}.{i}" if key else str(i), tensors) for i, v in enumerate(obj)]
        return {"list" if isinstance(obj, list) else "tuple": items}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    raise TypeError(f"cannot checkpoint {type(obj).__name__} at {key!r}: use tensors, numbers, strings")


def _decode(node: dict[str, Any], tensors: dict[str, torch.Tensor]) -> Any:
    ((tag, value),) = node.items()
    if tag == "tensor":
        return tensors[value]
    if tag == "dict":
        return {k: _decode(v, tensors) for k, v in value}
    if tag == "list":
        return [_decode(v, tensors) for v in value]
    if tag == "tuple":
        return tuple(_decode(v, tensors) for v in value)
    return value


def _savable(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CPU, contiguous, and no two tensors sharing memory (tied weights), as safetensors requires."""
    out, seen = {}, set()
    for key, t in tensors.items():
        t = t.detach().cpu().contiguous()
        ptr = t.untyped_storage().data_ptr()
        out[key] = t.clone() if ptr in seen else t
        seen.add(ptr)
    return out


# RNG states -----------------------------------------------------------------------------------------


def _python_numpy_rng_state() -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    return {
        "python": [version, list(internal), gauss],
        "numpy": [name, keys.tolist(), pos, has_gauss, cached],
    }


def _set_python_numpy_rng_state(rng: dict[str, Any]) -> None:
    version, internal, gauss = rng["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = rng["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


def _torch_rng_state() -> dict[str, torch.Tensor]:
    states = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states |= {f"cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())}
    return states


def _set_torch_rng_state(states: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(states["torch"])
    cuda = [states[f"cuda.{i}"] for i in range(len(states) - 1)]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    elif cuda:
        logger.warning("checkpoint has CUDA RNG states for %d devices; not restored here", len(cuda))
