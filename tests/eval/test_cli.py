"""`python -m erase.eval`: one table over several models on the same prompts and seeds."""

import csv
import json
import shutil

from erase.eval.__main__ import main

FAST = ["--set", "samples=4", "--set", "retain_samples=2", "--set", "clip_samples=4", "--set", "fid_samples=8",
        "--set", "attack_prompts=2", "--set", "attack.timesteps=1", "--set", "attack.iterations=1",
        "--set", "sampler.steps=3", "--set", "attack.steps=3"]


def test_two_models_one_table(tiny_pipeline_dir, tmp_path, capsys):
    run = tmp_path / "fake-run"
    shutil.copytree(tiny_pipeline_dir, run / "model")  # an "erased" model identical to its base: the mechanics
    (run / "manifest.json").write_text(json.dumps({"model_id": str(tiny_pipeline_dir)}))
    assert main([str(tiny_pipeline_dir), str(run), "--out", str(tmp_path / "out"), *FAST]) == 0
    out = capsys.readouterr().out
    assert sum(line.startswith("|") for line in out.splitlines()) == 4  # header, separator, two rows
    assert "| fake-run |" in out
    table = next((tmp_path / "out").iterdir()) / "table.csv"
    rows = list(csv.reader(table.open()))
    assert rows[0][0] == "model" and len(rows) == 3
    assert rows[1][1:] == rows[2][1:]  # the same model on the same seeds gives the same numbers


def test_a_run_without_a_model_is_refused(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "manifest.json").write_text("{}")
    assert main([str(tmp_path / "run")]) == 2
    assert "has no model/" in capsys.readouterr().err
