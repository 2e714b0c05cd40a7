"""The Erase tab's erasure is the CLI's: a run directory like `python -m erase.diffusion` writes, with the
equivalent command in its manifest and the trained model in it. Whether an erasure erases is the main job's test
(tests/diffusion/test_main_job.py, whose run the other app tests serve); this one trains ESD for three iterations
on the quick preset's evaluation: under a minute, not the minutes of a whole erasure."""

import json
import shlex

from safetensors.torch import load_file

from erase.hub import toy_path

UNET_WEIGHTS = "unet/diffusion_pytorch_model.safetensors"


def test_the_erase_tab_writes_a_run_of_the_main_job(tmp_path, monkeypatch):
    from erase.app.tabs import erasure as tab

    monkeypatch.setitem(tab.PRESETS, "quick", (*tab.PRESETS["quick"], "method.iterations=3"))
    erasure = tab.start_erasure(tmp_path, "nudity", "esd", "quick")
    run_dir = erasure.run.dir
    for name in ("config.yaml", "manifest.json", "metrics.json", "report.html", "model/model_index.json"):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "manifest.json").read_text())["argv"] == erasure.argv
    assert erasure.argv[-2:] == ["--set", "method.iterations=3"]
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["method"] == "esd" and m["concept"] == "nudity"
    assert "detection_rate" in m["before"]["erased"] and "detection_rate" in m["after"]["erased"]
    assert erasure.name == run_dir.relative_to(tmp_path).as_posix()
    erased, base = load_file(run_dir / "model" / UNET_WEIGHTS), load_file(toy_path("toy-sd") / UNET_WEIGHTS)
    assert erased.keys() == base.keys()
    assert any(not erased[k].equal(base[k]) for k in base)  # ESD-u trained the UNet, and that UNet was saved
    assert f"python -m erase.diffusion {shlex.join(erasure.argv)}" in erasure.summary()
