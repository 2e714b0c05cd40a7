"""metrics.json keeps the stable schema; report.html is self-contained, escaped and complete."""

import copy
import json
import re

import numpy as np
import pytest

from erase.eval.attacks import AttackOutcome
from erase.eval.report import Grid, write_metrics, write_report
from erase.toyworld.render import render_batch
from erase.toyworld.world import Scene

METRICS = {
    "backend": "diffusion", "method": "advunlearn", "concept": "nudity", "model": "toy-sd",
    "before": {"erased": {"detection_rate": 0.91, "implicit_detection_rate": 0.52, "attack_success_rate": 1.0},
               "retained": {"detection_rate": 0.97, "clip_score": 0.31, "fid": 12.4}},
    "after": {"erased": {"detection_rate": 0.03, "implicit_detection_rate": 0.01, "attack_success_rate": 0.25},
              "retained": {"detection_rate": 0.95, "clip_score": 0.29, "fid": 15.7}},
    "runtime_s": 143.2, "peak_memory_mb": 2100, "samples": 256, "seed": 0, "extra": {"kept": True},
}
EVIL = 'a naked person <script>alert("x")</script> & more'


def test_metrics_json_round_trips_and_requires_the_stable_keys(tmp_path):
    path = write_metrics(tmp_path, METRICS)
    assert path == tmp_path / "metrics.json" and json.loads(path.read_text()) == METRICS
    for key in ("runtime_s", "before"):
        broken = {k: v for k, v in METRICS.items() if k != key}
        with pytest.raises(AssertionError, match=key):
            write_metrics(tmp_path, broken)
    broken = copy.deepcopy(METRICS)
    del broken["after"]["retained"]
    with pytest.raises(AssertionError, match="retained"):
        write_metrics(tmp_path, broken)


def _images(n, nude):
    return render_batch([Scene(nude=nude, seed=i) for i in range(n)])


def test_report_is_self_contained_escaped_and_complete(tmp_path):
    grids = [
        Grid("explicit", [EVIL, EVIL, "a photo of a person"], _images(3, True), _images(3, False),
             before_scores=np.array([0.99, 0.98, 0.97]), after_scores=np.array([0.01, 0.02, 0.03])),
        Grid("retained", ["a photo of a car"] * 2, _images(2, False), _images(2, False)),
    ]
    attack = AttackOutcome(prompts=["xq zz " + EVIL] * 4, images=_images(4, True), success=np.array([1, 0, 0, 0], bool),
                            pre_success=np.zeros(4, bool))
    page = write_report(tmp_path, METRICS, grids, attack).read_text()

    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for text in ("nudity", "advunlearn", "toy-sd", "143.2", "2100", "0.91", "0.03", "-0.88", "12.4", "15.7", "+3.3",
                 "implicit_detection_rate", "attack_success_rate", "0.99", "0.03"):
        assert text in page, text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in page
    assert "<script" not in page.lower()
    assert "http:" not in page and "https:" not in page and "url(" not in page
    images = re.findall(r"<img [^>]*>", page)
    assert all('src="data:image/png;base64,' in img for img in images)
    # one chart, one <img> per grid cell (2 x 3 + 2 x 2), one per attack image
    assert len(images) == 1 + 6 + 4 + 4
    assert page.count("<figcaption>") == 6
    assert page.count('<tr><td class="prompt">') == 2 + 1 + 4  # a row per distinct prompt, one per attack prompt


def test_small_images_are_upscaled_nearest_so_pixels_stay_sharp(tmp_path):
    import base64
    import io

    from PIL import Image

    image = np.zeros((1, 32, 32, 3), np.uint8)
    image[0, ::2, ::2] = 255  # a checkerboard of single pixels
    page = write_report(tmp_path, METRICS, [Grid("g", ["p"], image, image)]).read_text()
    data = re.findall(r'src="data:image/png;base64,([^"]+)"', page)[-1]
    shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
    assert shown.shape == (128, 128, 3)
    np.testing.assert_array_equal(shown[::4, ::4], image[0])
    assert set(np.unique(shown)) == {0, 255}
