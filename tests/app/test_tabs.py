"""The tabs' logic without a browser: input checks, the report's table, the Erase tab's command line."""

import pytest

from erase.app.tabs.compare import check_inputs
from erase.app.tabs.erasure import PRESETS, erase_argv
from erase.app.tabs.report import metric_rows
from erase.errors import EraseError


@pytest.mark.parametrize(("args", "message"), [
    (("", 0, 25, 5.0), "type a prompt"),
    (("x" * 301, 0, 25, 5.0), "at most 300"),
    (("a cat", -1, 25, 5.0), "seed must be"),
    (("a cat", 0.5, 25, 5.0), "seed must be"),
    (("a cat", 0, 0, 5.0), "steps must be"),
    (("a cat", 0, 101, 5.0), "steps must be"),
    (("a cat", 0, 25, -1.0), "guidance must be"),
    (("a cat", 0, 25, None), "guidance must be"),
])
def test_check_inputs_refuses(args, message):
    with pytest.raises(EraseError, match=message):
        check_inputs(*args)


def test_metric_rows_flatten_and_subtract():
    metrics = {"before": {"erased": {"detection_rate": 1.0}, "retained": {"concepts": {"hat": 0.5}, "fid": None}},
               "after": {"erased": {"detection_rate": 0.25}, "retained": {"concepts": {"hat": 0.75}, "fid": 3.0}}}
    assert metric_rows(metrics) == [["erased", "detection_rate", 1.0, 0.25, -0.75],
                                    ["retained", "concepts.hat", 0.5, 0.75, 0.25],
                                    ["retained", "fid", None, 3.0, None]]


def test_erase_argv_is_the_cli_command_of_the_preset(tmp_path):
    argv = erase_argv(tmp_path, "nudity", "esd", "quick", 3)
    assert argv[:10] == ["--concept", "nudity", "--method", "esd", "--model", "toy-sd", "--out", str(tmp_path),
                         "--seed", "3"]
    assert argv[10:] == [a for v in PRESETS["quick"] for a in ("--set", v)]
    assert erase_argv(tmp_path, "nudity", "esd", "toy", 0)[10:] == []
    with pytest.raises(EraseError, match="unknown preset"):
        erase_argv(tmp_path, "nudity", "esd", "slow", 0)
    with pytest.raises(EraseError, match="toy-world concepts"):
        erase_argv(tmp_path, "real:nudity", "esd", "toy", 0)


@pytest.mark.parametrize("method", ["advunlearn", "doco", "esd"])
def test_every_preset_is_a_valid_config(method):
    from erase.config import load_config
    from erase.diffusion.run import config_class

    for overrides in PRESETS.values():
        load_config(config_class(method), overrides=overrides)  # unknown keys or wrong types raise
