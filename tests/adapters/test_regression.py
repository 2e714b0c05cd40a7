"""Outcome test on diabetes: Blindspot forgets a target range about as retraining does."""

import pytest

from erase.adapters.run import Job, run


@pytest.fixture(scope="module")
def low_range(tmp_path_factory):
    return run(Job(task="regression", forget="range:25-100", methods=("ft", "blindspot"),
                   out=tmp_path_factory.mktemp("reg"), progress=False)).metrics


def test_blindspot_moves_forget_error_to_retrain(low_range):
    original_gap = abs(low_range["before"]["erased"]["forget_mae"]
                       - low_range["methods"]["retrain"]["erased"]["forget_mae"])
    blindspot = low_range["methods"]["blindspot"]
    assert abs(blindspot["gap"]["erased"]["forget_mae"]) < 0.25 * original_gap
    assert abs(blindspot["gap"]["erased"]["loss_mia"]) < abs(low_range["methods"]["ft"]["gap"]["erased"]["loss_mia"])
    assert blindspot["retained"]["test_mae"] <= low_range["before"]["retained"]["test_mae"] + 0.2


def test_range_spec_outside_targets_is_refused(tmp_path):
    from erase.errors import EraseError

    with pytest.raises(EraseError, match="selects 0 of"):
        run(Job(task="regression", forget="range:1000-2000", methods=("ft",), out=tmp_path, progress=False))
