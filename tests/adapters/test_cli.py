"""`python -m erase.adapters`: bad input is one line and exit 2; a run writes the schema's metrics.json."""

import json

import pytest

from erase.adapters.__main__ import main


@pytest.mark.parametrize("argv, fix", [
    (["--task", "vision"], "unknown --task 'vision'; choose one of classifier"),
    (["--method", "magic"], "unknown --method magic for --task classifier; choose from retrain"),
    (["--dataset", "cifar"], "unknown --dataset 'cifar' for --task classifier; choose one of digits"),
    (["--forget", "class:12"], "--forget class:12: classes must be some (not all) of"),
    (["--forget", "user:3"], "this task forgets by class, random, indices"),
    (["--forget", "random:2"], "expected a fraction in (0, 1)"),
    (["--set", "ssd.beta=3"], "unknown config key 'ssd.beta'"),
    (["--set", "ssd.alpha='x'"], "config key 'ssd.alpha' in --set ssd.alpha='x' expects float"),
    (["--config", "missing.yaml"], "--config: no file at missing.yaml"),
    (["--task", "regression", "--forget", "range:9-1"], "expected range:LOW-HIGH with LOW <= HIGH"),
])
def test_bad_input_is_one_line_naming_the_fix(argv, fix, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fix in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())  # nothing written before the inputs are checked


def test_one_method_run_writes_metrics_report_and_models(capsys, tmp_path):
    assert main(["--method", "acu", "--forget", "class:3", "--set", "train.epochs=3", "--out", str(tmp_path)]) == 0
    run = next(tmp_path.iterdir())
    m = json.loads((run / "metrics.json").read_text())
    assert (m["backend"], m["method"], m["concept"], m["model"]) == ("adapters", "acu", "class:3", "classifier/digits")
    assert set(m["methods"]) == {"retrain", "acu"} and m["after"] == {k: m["methods"]["acu"][k]
                                                                    for k in ("erased", "retained")}
    assert m["methods"]["acu"]["gap"]["erased"]["ua"] == pytest.approx(
        m["methods"]["acu"]["erased"]["ua"] - m["methods"]["retrain"]["erased"]["ua"])
    assert (run / "report.html").is_file() and (run / "acu.safetensors").is_file()
    out = capsys.readouterr().out
    assert "| acu |" in out and "| retrain |" in out and "report: " in out


@pytest.mark.parametrize(("task", "spec"), [("classifier", "class:3"), ("regression", "range:25-100"),
                                            ("graph", "class:2"), ("recommender", "users:5")])
def test_without_forget_each_task_uses_its_own_default_spec(task, spec):
    from erase.adapters.run import Job, check

    assert str(check(Job(task=task, methods=("retrain",))).forget) == spec
