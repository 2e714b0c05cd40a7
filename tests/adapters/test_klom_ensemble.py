"""KLoM wired into the digits evaluation (`--klom N`); the metric itself is tested in test_metrics.py."""

import pytest

from erase.adapters.__main__ import main
from erase.adapters.run import Job, run


@pytest.fixture(scope="module")
def class_3(tmp_path_factory):
    return run(Job(forget="class:3", methods=("ft",), klom=3, overrides=("train.epochs=8", "ft.epochs=4"),
                   out=tmp_path_factory.mktemp("klom"), progress=False))


def test_klom_ranks_the_original_far_from_retrain_on_the_forgotten_class(class_3):
    m = class_3.metrics
    before = m["before"]
    # the original classifies class 3, retrained models never saw it: far apart there, close on the test set
    assert before["erased"]["klom_forget"] >= 10 * before["retained"]["klom_test"]
    assert {"klom_forget", "klom_retain", "klom_test"} <= set(m["methods"]["ft"]["erased"]) | set(
        m["methods"]["ft"]["retained"])
    assert "klom_forget" not in m["methods"]["retrain"]["erased"]  # the reference ensemble gets none
    assert "klom_forget" not in m["methods"]["ft"]["gap"]["erased"]
    assert "| klom_forget | klom_retain | klom_test |" in class_3.table


@pytest.mark.parametrize("argv, fix", [
    (["--klom", "1"], "--klom 1: give at least 2 seeds"),
    (["--task", "regression", "--forget", "range:1-2", "--klom", "3"], "--klom serves --task classifier only"),
])
def test_bad_klom_input_is_one_line(argv, fix, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fix in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())
