"""Find and load models: a shipped toy model, a local folder, or a Hugging Face hub id.

`--model` accepts three things, tried in this order:
1. a toy name (`toy-sd`, ...): the folder shipped in `erase/toyworld/weights/<name>/`;
2. an existing local path: used as is, after checking its JSON config names the expected class;
3. anything else shaped like a hub id (`org/name`): passed to `from_pretrained`. Offline or missing
   models fail with one line saying what to do, never a deep traceback.
Nothing heavy is imported here: diffusers and transformers come in with the class a caller passes.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any, TypeVar

from erase.errors import EraseError

logger = logging.getLogger(__name__)

T = TypeVar("T")

TOY_MODELS = ("toy-sd", "toy-clip", "toy-detector", "toy-stylegan", "toy-vlm")
TOY_WEIGHTS_DIR = Path(__file__).parent / "toyworld" / "weights"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_TRUE = {"1", "ON", "YES", "TRUE"}  # how huggingface_hub reads boolean environment variables


def toy_path(name: str) -> Path:
    """The shipped folder of toy model `name`; EraseError with the build command if it is missing."""
    if name not in TOY_MODELS:
        raise EraseError(f"unknown toy model '{name}'; known toy models: {', '.join(TOY_MODELS)}")
    path = TOY_WEIGHTS_DIR / name
    if not path.is_dir():
        raise EraseError(f"toy model '{name}' is not built; run `python -m erase.toyworld train {name}`")
    return path


def resolve_model(name_or_path: str | Path) -> Path | str:
    """A toy name or an existing path -> a local `Path`; a hub id -> the id, unchanged."""
    name = str(name_or_path)
    if name.startswith("toy-"):
        return toy_path(name)
    path = Path(name).expanduser()
    if path.exists():
        return path
    if isinstance(name_or_path, Path) or not _HUB_ID.match(name):
        raise EraseError(
            f"no model folder at '{name}'; pass an existing folder, a toy model "
            f"({', '.join(TOY_MODELS)}) or a hub id such as CompVis/stable-diffusion-v1-4"
        )
    return name


def load_pretrained(cls: type[T], name_or_path: str | Path, **kwargs: Any) -> T:
    """`cls.from_pretrained` on a toy name, a local folder or a hub id, with one-line errors.

    A local folder is checked with `check_model_folder` before any weights load. With
    HF_HUB_OFFLINE set, a hub id is looked up in the local cache only, so it fails in seconds.
    """
    source = resolve_model(name_or_path)
    if isinstance(source, Path):
        check_model_folder(source / kwargs.get("subfolder", ""), cls)
        try:
            return cls.from_pretrained(source, **kwargs)
        except OSError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EraseError(f"could not load '{source}' as {cls.__name__}: {reason}") from exc
    offline = _offline()
    if offline:
        kwargs.setdefault("local_files_only", True)
    pipeline_logger = logging.getLogger("diffusers.pipelines.pipeline_utils")
    pipeline_logger.addFilter(_without_hub_retry_warning)
    try:
        return cls.from_pretrained(source, **kwargs)
    except _hub_errors() as exc:
        logger.debug("loading %s from the hub failed", source, exc_info=True)
        raise EraseError(
            f"could not load '{source}' from the Hugging Face hub (offline?): pass a local model folder "
            f"instead, or connect{' and unset HF_HUB_OFFLINE' if offline else ''}"
        ) from exc
    finally:
        pipeline_logger.removeFilter(_without_hub_retry_warning)


def _without_hub_retry_warning(record: logging.LogRecord) -> bool:
    """Drops diffusers' two-line "Couldn't connect to the Hub ... Will try to load from local cache": a hub id
    that is not cached then fails in our one line, and a cached one loads under huggingface_hub's own notice."""
    return not record.getMessage().startswith("Couldn't connect to the Hub")


def check_model_folder(path: Path, cls: type) -> None:
    """Refuse a folder that does not hold a `cls`, reading only its JSON config.

    Diffusers pipelines need `model_index.json`, diffusers models `config.json`, whose
    `_class_name` is `cls`, one of its bases, or a diffusers subclass of `cls`. Transformers models
    need `config.json` whose `architectures` name `cls` or whose `model_type` is `cls`'s (or
    contains it, as a CLIP folder contains a CLIP text model). Other classes (tokenizers,
    schedulers, processors, Auto classes) are left to their own `from_pretrained`.
    """
    if not path.is_dir():
        raise EraseError(f"'{path}' is not a folder; pass a model folder or a hub id")
    index = _read_json(path / "model_index.json")
    config = _read_json(path / "config.json")
    if _has_base(cls, "DiffusionPipeline"):
        ok = index is not None and _names_class(index.get("_class_name"), cls)
    elif _has_base(cls, "ModelMixin"):
        ok = config is not None and _names_class(config.get("_class_name"), cls)
    elif _has_base(cls, "PreTrainedModel"):
        ok = config is not None and _fits_transformers(config, cls)
    else:
        return
    if not ok:
        raise EraseError(f"'{path}' is not a {cls.__name__} folder (found {_describe(index, config)})")


def _offline() -> bool:
    return any(os.environ.get(var, "").upper() in _TRUE for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _hub_errors() -> tuple[type[BaseException], ...]:
    """What `from_pretrained` raises for a hub id it cannot reach or find.

    OSError covers the libraries' own "can't load" errors and huggingface_hub's
    LocalEntryNotFoundError, RepositoryNotFoundError, other HfHubHTTPErrors and OfflineModeIsEnabled.
    Transport errors of its HTTP client (httpx, or httpx2 in newer releases) can escape unwrapped.
    """
    from huggingface_hub.errors import EntryNotFoundError

    errors: list[type[BaseException]] = [OSError, EntryNotFoundError]
    for client in ("httpx2", "httpx"):
        try:
            errors.append(importlib.import_module(client).HTTPError)
        except ImportError:
            continue
    return tuple(errors)


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EraseError(f"{path}: invalid JSON ({exc}); fix or replace the file") from exc
    return data if isinstance(data, dict) else None


def _has_base(cls: type, name: str) -> bool:
    return any(base.__name__ == name for base in cls.__mro__)


def _names_class(class_name: Any, cls: type) -> bool:
    """`class_name` is `cls`, a base of `cls` (loading into a subclass), or a diffusers subclass of `cls`."""
    if not isinstance(class_name, str):
        return False
    if class_name in {base.__name__ for base in cls.__mro__}:
        return True
    found = getattr(importlib.import_module("diffusers"), class_name, None)
    return isinstance(found, type) and issubclass(found, cls)


def _fits_transformers(config: dict[str, Any], cls: type) -> bool:
    if cls.__name__ in (config.get("architectures") or []):
        return True
    wanted = getattr(getattr(cls, "config_class", None), "model_type", "")
    found = config.get("model_type")
    if not wanted or found == wanted:
        return True
    from transformers import CONFIG_MAPPING

    if found not in CONFIG_MAPPING:
        return False
    return cls.config_class in getattr(CONFIG_MAPPING[found], "sub_configs", {}).values()


def _describe(index: dict[str, Any] | None, config: dict[str, Any] | None) -> str:
    if index is not None:
        return f"model_index.json of {index.get('_class_name')}"
    if config is not None:
        names = config.get("architectures") or config.get("_class_name") or config.get("model_type")
        return f"config.json of {', '.join(names) if isinstance(names, list) else names}"
    return "no model_index.json or config.json"
