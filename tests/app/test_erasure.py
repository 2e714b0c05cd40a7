"""The Erase tab's erasure is the CLI's: a run directory like `python -m erase.diffusion` writes, with the
equivalent command in its manifest, and the concept erased."""

import json


def test_the_erase_tab_writes_a_run_of_the_main_job(runs_root):
    root, erasure = runs_root
    run_dir = erasure.run.dir
    for name in ("config.yaml", "manifest.json", "metrics.json", "report.html", "model/model_index.json"):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "manifest.json").read_text())["argv"] == erasure.argv
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["method"] == "doco" and m["concept"] == "nudity"
    assert m["after"]["erased"]["detection_rate"] < m["before"]["erased"]["detection_rate"]
    assert erasure.name == run_dir.relative_to(root).as_posix()
