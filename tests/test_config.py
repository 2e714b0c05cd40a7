from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import pytest

from erase.config import dump_yaml, load_config, parse_set, to_dict
from erase.errors import EraseError


@dataclasses.dataclass(frozen=True)
class Train:
    lr: float = 1e-5
    steps: int = 100
    betas: tuple[float, float] = (0.9, 0.999)


@dataclasses.dataclass(frozen=True)
class Cfg:
    method: Literal["esd", "doco"] = "esd"
    seed: int = 0
    prompts: tuple[str, ...] = ("a person",)
    guidance: float | None = None
    fast: bool = False
    out: Path = Path("runs")
    train: Train = dataclasses.field(default_factory=Train)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_without_layers():
    assert load_config(Cfg) == Cfg()


def test_layers_apply_in_order_and_later_wins(tmp_path):
    preset = write(tmp_path / "preset.yaml", "seed: 1\ntrain: {lr: 0.1, steps: 5}\n")
    config = write(tmp_path / "config.yaml", "seed: 2\ntrain: {lr: 0.2}\n")
    cfg = load_config(Cfg, preset, config, ["seed=3"])
    assert cfg.seed == 3  # --set beats --config beats preset
    assert cfg.train.lr == 0.2  # --config beats preset
    assert cfg.train.steps == 5  # preset beats defaults; siblings are not reset by later layers
    assert cfg.train.betas == (0.9, 0.999)  # untouched default


def test_nested_set_and_value_parsing():
    cfg = load_config(Cfg, overrides=["train.steps=7", "train.lr=1", "method=doco", "prompts=['x', 'y']",
                                      "guidance=7.5", "fast=True", "out=/tmp/o"])
    assert cfg.train.steps == 7
    assert cfg.train.lr == 1.0 and isinstance(cfg.train.lr, float)  # int accepted for float
    assert cfg.method == "doco"  # bare word stays a string
    assert cfg.prompts == ("x", "y")  # list accepted for tuple
    assert cfg.guidance == 7.5 and load_config(Cfg, overrides=["guidance=None"]).guidance is None
    assert cfg.fast is True and cfg.out == Path("/tmp/o")
    assert load_config(Cfg, overrides=["fast=true"]).fast is True  # YAML's spelling, as in the presets
    assert load_config(Cfg, overrides=["fast=false", "method=esd"]).fast is False


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (["train.nope=1"], ["unknown config key 'train.nope'", "--set", "train.lr"]),
        (["nope=1"], ["unknown config key 'nope'", "known keys", "seed"]),
        (["seed=1.5"], ["'seed'", "int", "1.5"]),
        (["seed=True"], ["'seed'", "int", "True"]),  # a bool is not an int
        (["train.lr=fast"], ["'train.lr'", "float", "'fast'"]),
        (["method=sgd"], ["'method'", "Literal", "'sgd'"]),
        (["train.betas=(0.9,)"], ["'train.betas'", "tuple[float, float]"]),
        (["train=3"], ["'train'", "Train", "3"]),
        (["fast=None"], ["'fast'", "bool"]),
    ],
)
def test_bad_overrides_name_the_key(overrides, words):
    with pytest.raises(EraseError) as info:
        load_config(Cfg, overrides=overrides)
    for word in words:
        assert word in str(info.value)


def test_unknown_key_in_yaml_names_the_file(tmp_path):
    preset = write(tmp_path / "p.yaml", "train:\n  lr: 0.1\n  momentum: 0.9\n")
    with pytest.raises(EraseError, match=r"unknown config key 'train.momentum' in .*p\.yaml"):
        load_config(Cfg, preset)


@pytest.mark.parametrize("item", ["seed", "=3", "train..lr=1"])
def test_bad_set_syntax_shows_the_form(item):
    with pytest.raises(EraseError, match="key=value"):
        parse_set(item)


def test_missing_and_malformed_yaml(tmp_path):
    with pytest.raises(EraseError, match="missing.yaml"):
        load_config(Cfg, tmp_path / "missing.yaml")
    with pytest.raises(EraseError, match="invalid YAML at line 2"):
        load_config(Cfg, config_file=write(tmp_path / "bad.yaml", "seed: 1\n  - x: [\n"))
    with pytest.raises(EraseError, match="must map keys"):
        load_config(Cfg, config_file=write(tmp_path / "list.yaml", "- 1\n"))


def test_dump_yaml_round_trips(tmp_path):
    cfg = load_config(Cfg, overrides=["train.steps=9", "prompts=('a', 'b')", "guidance=3"])
    dump_yaml(cfg, tmp_path / "config.yaml")
    assert load_config(Cfg, config_file=tmp_path / "config.yaml") == cfg
    assert to_dict(cfg)["train"] == {"lr": 1e-5, "steps": 9, "betas": [0.9, 0.999]}
