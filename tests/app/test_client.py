"""The Compare endpoint through gradio_client, as a script would call it: images and refusals."""

import json

import numpy as np
import pytest
from PIL import Image

from tests.app.conftest import EXPLICIT


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def _compare(client, run: str, prompt: str = EXPLICIT, base: str = "toy-sd", seed: int = 0):
    return client.predict(run, base, prompt, seed, 25, 5.0, api_name="/compare")


def test_compare_returns_two_images_of_the_models_size_that_differ(client, runs_root):
    _, erasure = runs_root
    base_file, erased_file, base_verdict, erased_verdict, timing = _compare(client, erasure.name)
    model = erasure.run.dir / "model"
    latent = json.loads((model / "unet" / "config.json").read_text())["sample_size"]
    factor = 2 ** (len(json.loads((model / "vae" / "config.json").read_text())["block_out_channels"]) - 1)
    base, erased = (np.asarray(Image.open(f).convert("RGB")) for f in (base_file, erased_file))
    assert base.shape == erased.shape == (latent * factor, latent * factor, 3)
    assert not np.array_equal(base, erased)
    assert "nudity score" in base_verdict and "nudity score" in erased_verdict
    assert "shared: unet, vae" in timing  # AdvUnlearn trains the text encoder only


def test_same_seed_same_images_other_seed_other_images(client, runs_root):
    name = runs_root[1].name
    first, again, other = (_compare(client, name, seed=s)[0] for s in (3, 3, 4))
    load = lambda f: np.asarray(Image.open(f).convert("RGB")).astype(int)  # noqa: E731
    assert np.array_equal(load(first), load(again))
    assert not np.array_equal(load(first), load(other))


@pytest.mark.parametrize(("run", "prompt", "message"), [
    ("../..", EXPLICIT, "outside the runs root"),
    ("/etc", EXPLICIT, "outside the runs root"),
    ("20000101-000000-broken", EXPLICIT, "has no model/ folder"),
    ("20000101-000001-eval-nudity", EXPLICIT, "not a run of erase"),
    ("no-such-run", EXPLICIT, "no run directory"),
    (None, "x" * 301, "at most 300"),
    (None, "a " * 100, "the model reads at most 77"),
    (None, " ", "type a prompt"),
])
def test_bad_input_is_refused_with_a_one_line_message(client, runs_root, run, prompt, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        _compare(client, run or runs_root[1].name, prompt)
    assert message in str(info.value)
    assert "Traceback" not in str(info.value) and "\n" not in str(info.value)


def test_a_base_folder_that_is_not_a_pipeline_is_refused(client, runs_root, tmp_path):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="is not a StableDiffusionPipeline folder"):
        _compare(client, runs_root[1].name, base=str(tmp_path))


def test_report_endpoint_gives_the_metrics_table_and_the_html(client, runs_root):
    erasure = runs_root[1]
    summary, table, page = client.predict(erasure.name, api_name="/report")
    rows = {(r[0], r[1]): r for r in table["data"]}
    m = erasure.metrics["nudity"]
    assert rows[("erased", "detection_rate")][2:4] == pytest.approx(  # the table shows 4 decimals
        [m["before"]["erased"]["detection_rate"], m["after"]["erased"]["detection_rate"]], abs=5e-5)
    assert "concepts.hat" in {r[1] for r in table["data"]}
    assert "advunlearn" in summary and "<iframe" in page and "Before and after" in page
