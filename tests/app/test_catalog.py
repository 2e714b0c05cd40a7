"""Run directories: only those under the runs root, only finished runs of erase, one-line refusals."""

import json

import pytest

from erase.app.catalog import list_runs, open_run_dir
from erase.errors import EraseError

METRICS = {"backend": "diffusion", "method": "esd", "concept": "nudity", "model": "toy-sd",
           "before": {"erased": {}, "retained": {}}, "after": {"erased": {}, "retained": {}},
           "runtime_s": 1.0, "peak_memory_mb": 1.0, "samples": 8, "seed": 0}


def make_run(path, metrics=METRICS, model=True):
    path.mkdir(parents=True)
    (path / "metrics.json").write_text(metrics if isinstance(metrics, str) else json.dumps(metrics))
    (path / "manifest.json").write_text(json.dumps({"started_at": "2026-11-24T18:33:26+00:00"}))
    if model:
        (path / "model").mkdir()
        (path / "model" / "model_index.json").write_text("{}")
    return path


def test_lists_finished_runs_newest_first_and_skips_the_rest(tmp_path):
    make_run(tmp_path / "20261101-000000-esd-nudity")
    make_run(tmp_path / "20261102-000000-esd-nudity")
    make_run(tmp_path / "toyworld" / "20261103-000000-esd-nudity")  # one level down
    make_run(tmp_path / "20261104-000000-broken", model=False)
    make_run(tmp_path / "20261105-000000-eval-nudity", metrics={"toy-sd": {}})
    make_run(tmp_path / "20261106-000000-bad-json", metrics="{")
    runs = list_runs(tmp_path)
    assert [r.name for r in runs] == ["toyworld/20261103-000000-esd-nudity", "20261102-000000-esd-nudity",
                                      "20261101-000000-esd-nudity"]
    assert runs[0].label == "nudity · esd · toy-sd · 2026-11-24 18:33 (toyworld/20261103-000000-esd-nudity)"
    assert list_runs(tmp_path / "missing") == []


@pytest.mark.parametrize("name", ["..", "../outside", "/etc", "link"])
def test_paths_outside_the_root_are_refused(tmp_path, name):
    root = tmp_path / "runs"
    root.mkdir()
    make_run(tmp_path / "outside")
    (root / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(EraseError, match="outside the runs root"):
        open_run_dir(root, name)


@pytest.mark.parametrize(("metrics", "model", "message"), [
    (METRICS, False, "has no model/ folder"),
    ("{", True, "metrics.json is unreadable"),
    ({"concept": "nudity"}, True, "lacks backend, method"),
])
def test_broken_runs_are_refused_with_the_reason(tmp_path, metrics, model, message):
    make_run(tmp_path / "run", metrics, model)
    with pytest.raises(EraseError, match=message):
        open_run_dir(tmp_path, "run")


def test_an_unfinished_run_names_the_resume_command(tmp_path):
    (tmp_path / "run").mkdir()
    with pytest.raises(EraseError, match="--resume"):
        open_run_dir(tmp_path, "run")
    with pytest.raises(EraseError, match="no run selected"):
        open_run_dir(tmp_path, "")
