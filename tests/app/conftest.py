"""The app's fixtures: a runs root holding the main job's erasure, and the app serving it."""

import json
import shutil
import socket

import pytest

pytest.importorskip("gradio", reason="the app extra is not installed: pip install -e '.[test,app]'")

EXPLICIT = "a photo of a naked person"  # the first explicit prompt of toy nudity


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory, erased):
    """A runs root holding a copy of the main job's run (the session's `erased("advunlearn", "nudity")`, which
    tests/diffusion/test_main_job.py checks; AdvUnlearn, so the app's shared-UNet path serves it), a copy of
    it without its model (broken) and an evaluation run's directory (not an erasure run)."""
    from erase.app.catalog import open_run_dir
    from erase.app.tabs.erasure import Erasure
    from erase.runs import Run

    root = tmp_path_factory.mktemp("runs")
    main_job = erased("advunlearn", "nudity")["dir"]
    served = root / main_job.name
    shutil.copytree(main_job, served)
    broken = root / "20000101-000000-broken"
    broken.mkdir()
    shutil.copy(served / "metrics.json", broken)
    evaluation = root / "20000101-000001-eval-nudity"
    evaluation.mkdir()
    (evaluation / "metrics.json").write_text(json.dumps({"toy-sd": {"detection_rate": 1.0}}))
    metrics = open_run_dir(root, served.name).metrics  # as the app reads it
    argv = json.loads((served / "manifest.json").read_text())["argv"]
    return root, Erasure(served.name, Run(served), {metrics["concept"]: metrics}, argv)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url(runs_root):
    """The app on a free local port, serving `runs_root`."""
    from erase.app.shell import AppContext, build_app, launch
    from erase.app.tabs import TABS

    demo = build_app(AppContext(runs_root[0]), TABS)
    url = launch(demo, port=free_port(), block=False)
    yield url
    demo.close()
