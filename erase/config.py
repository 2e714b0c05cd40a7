"""Strict layered configs: dataclass defaults <- YAML preset <- `--config FILE` <- `--set a.b=value`.

A config is a frozen dataclass; a field may itself be a dataclass, reached with dotted keys
(`--set train.lr=1e-5`). Each layer is type-checked against the annotations: an unknown key or a
value of the wrong type is an `EraseError` naming the key, the source and what was expected.
Accepted conversions are the lossless ones: an int for a float field, a list for a tuple field (and
the reverse), a string for a `Path` field. A bool is never an int.
"""

from __future__ import annotations

import ast
import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from erase.errors import EraseError

T = TypeVar("T")

SET_FORM = "--set key=value (e.g. --set train.lr=1e-5 or --set prompts=['a','b'])"


def load_config(
    cls: type[T],
    preset: str | Path | None = None,
    config_file: str | Path | None = None,
    overrides: Sequence[str] = (),
    base: T | None = None,
) -> T:
    """Build a `cls` from its defaults (or `base`), then a YAML preset, a YAML config file and `--set` strings.

    Every field of `cls` (and of its nested dataclasses) needs a default.
    """
    cfg = cls() if base is None else base
    for path in (preset, config_file):
        if path is not None:
            cfg = _apply(cfg, _read_yaml(Path(path)), source=str(path))
    for item in overrides:
        key, value = parse_set(item)
        nested: Any = value
        for part in reversed(key.split(".")):
            nested = {part: nested}
        cfg = _apply(cfg, nested, source=f"--set {item}")
    return cfg


def parse_set(item: str) -> tuple[str, Any]:
    """Split `a.b=value`; the value is a Python literal, a YAML boolean (`true`, `false`), or the raw string for
    bare words."""
    key, sep, raw = item.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise EraseError(f"bad --set {item!r}: expected {SET_FORM}")
    try:
        return key, ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return key, {"true": True, "false": False}.get(raw.lower(), raw)


def to_dict(cfg: Any) -> Any:
    """A config as plain YAML/JSON data: dataclasses -> dicts, tuples -> lists, paths -> strings."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, Mapping):
        return {key: to_dict(value) for key, value in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return [to_dict(value) for value in cfg]
    if isinstance(cfg, Path):
        return str(cfg)
    return cfg


def dump_yaml(cfg: Any, path: str | Path) -> None:
    """Write a config as YAML, atomically; `load_config(type(cfg), config_file=path)` reads it back."""
    from erase.runs import atomic_write_text  # imported here: runs imports this module

    atomic_write_text(Path(path), yaml.safe_dump(to_dict(cfg), sort_keys=False))


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise EraseError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise EraseError(f"{path}: invalid YAML{where}; fix the file or pass another one") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EraseError(f"{path}: a config file must map keys to values, got a {type(data).__name__}")
    return data


def _apply(cfg: T, updates: Mapping[str, Any], source: str, prefix: str = "") -> T:
    """Return `cfg` with `updates` applied, checking every key and value against the annotations."""
    hints = typing.get_type_hints(type(cfg))
    names = [f.name for f in dataclasses.fields(cfg)]
    changes = {}
    for name, value in updates.items():
        key = f"{prefix}{name}"
        if name not in names:
            known = ", ".join(f"{prefix}{n}" for n in names)
            raise EraseError(f"unknown config key '{key}' in {source}; known keys: {known}")
        sub_cls = _dataclass_of(hints[name])
        if sub_cls is not None and isinstance(value, Mapping):
            current = getattr(cfg, name)
            changes[name] = _apply(current if current is not None else sub_cls(), value, source, f"{key}.")
        else:
            changes[name] = _check(value, hints[name], key, source)
    return dataclasses.replace(cfg, **changes)


def _dataclass_of(tp: Any) -> type | None:
    """The dataclass in `tp` (`Sub`, `Sub | None`), or None."""
    for arm in (tp, *typing.get_args(tp)) if _is_union(tp) else (tp,):
        if isinstance(arm, type) and dataclasses.is_dataclass(arm):
            return arm
    return None


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


class _Mismatch(Exception):
    """Internal: a value does not fit a type; turned into an EraseError at the top."""


def _check(value: Any, tp: Any, key: str, source: str) -> Any:
    try:
        return _coerce(value, tp)
    except _Mismatch:
        raise EraseError(
            f"config key '{key}' in {source} expects {_type_name(tp)}, got {value!r}"
        ) from None


def _coerce(value: Any, tp: Any) -> Any:
    """`value` converted to `tp` where lossless, else _Mismatch."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if tp is type(None):
        if value is None:
            return None
        raise _Mismatch
    if _is_union(tp):
        for arm in args:
            try:
                return _coerce(value, arm)
            except _Mismatch:
                continue
        raise _Mismatch
    if origin is typing.Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        raise _Mismatch
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Mismatch
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _Mismatch
    if tp is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
        raise _Mismatch
    if tp is tuple or origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        if not args or args[-1] is Ellipsis:
            return tuple(_coerce(v, args[0]) if args else v for v in value)
        if len(value) != len(args):
            raise _Mismatch
        return tuple(_coerce(v, a) for v, a in zip(value, args, strict=True))
    if tp is list or origin is list:
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        return [_coerce(v, args[0]) if args else v for v in value]
    if tp is dict or origin is dict:
        if not isinstance(value, Mapping):
            raise _Mismatch
        if not args:
            return dict(value)
        return {_coerce(k, args[0]): _coerce(v, args[1]) for k, v in value.items()}
    if isinstance(value, origin or tp):
        return value
    raise _Mismatch


def _type_name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else str(tp).replace("typing.", "")
