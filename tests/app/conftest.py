"""The app's fixtures: a quick toy erasure made through the Erase tab's code path, and the app serving it."""

import json
import shutil
import socket

import pytest

pytest.importorskip("gradio", reason="the app extra is not installed: pip install -e '.[test,app]'")

EXPLICIT = "a photo of a naked person"  # the first explicit prompt of toy nudity


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory):
    """A runs root holding a quick DoCo erasure of toy nudity made by the Erase tab's code (about 2.5 minutes on 2
    cores with DoCo's former 600-step preset, longer on the official 2000 steps; measured 100% -> 0% on explicit
    prompts), a copy of it without its model (broken) and an evaluation run's directory (not an erasure run)."""
    from erase.app.tabs.erasure import start_erasure

    root = tmp_path_factory.mktemp("runs")
    erasure = start_erasure(root, "nudity", "doco", "quick")
    broken = root / "20000101-000000-broken"
    broken.mkdir()
    shutil.copy(erasure.run.dir / "metrics.json", broken)
    evaluation = root / "20000101-000001-eval-nudity"
    evaluation.mkdir()
    (evaluation / "metrics.json").write_text(json.dumps({"toy-sd": {"detection_rate": 1.0}}))
    return root, erasure


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
