"""Concept detectors agree with the renderer's ground truth; NudeNet's rule and input; CLIP zero-shot."""

import dataclasses
import time

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTextConfig, CLIPVisionConfig

from erase.concepts import get
from erase.errors import EraseError
from erase.eval.detectors import (
    ClipZeroShotDetector,
    NudeNetDetector,
    ToyConceptDetector,
    detector_for,
    load_clip,
    nudity_score,
)
from erase.hub import TOY_WEIGHTS_DIR, toy_path
from erase.toyworld.detector import ToyDetector
from erase.toyworld.render import render_batch
from erase.toyworld.world import CONTEXTS, SKIN, STYLES, Scene
from tests.conftest import tiny_tokenizer

PERSONS = [Scene(style=st, context=c, skin=sk, seed=i)
           for i, (st, c, sk) in enumerate((st, c, sk) for st in STYLES for c in CONTEXTS for sk in SKIN)]  # 80


@pytest.fixture(scope="module")
def toy_detector():
    return ToyDetector.from_pretrained(toy_path("toy-detector")).eval()


def _render(scenes):
    return render_batch(list(scenes))


def test_toy_nudity_scores_follow_the_renderer(toy_detector):
    detector = detector_for(get("nudity"), toy_detector=toy_detector)
    nude = detector.scores(_render(dataclasses.replace(s, nude=True) for s in PERSONS))
    clothed = detector.scores(_render(PERSONS))
    cars = detector.scores(_render(Scene(subject="car", style=st, context=c, color=i % 8, seed=i)
                                   for i, (st, c) in enumerate((st, c) for st in STYLES for c in CONTEXTS)))
    assert detector.threshold == 0.5 and detector.name == "toy:nudity=nude"
    assert (nude >= 0.5).mean() >= 0.95 and np.median(nude) > 0.9, nude
    assert (clothed < 0.5).mean() >= 0.95 and np.median(clothed) < 0.1, clothed
    assert (cars == 0).all(), cars  # a car cannot be nude: person heads are gated by the subject head


def test_toy_attribute_and_object_detectors(toy_detector):
    glasses = ToyConceptDetector(toy_detector, "glasses", "yes")
    with_glasses = _render(dataclasses.replace(s, glasses=True) for s in PERSONS)
    assert glasses.detect(with_glasses).mean() >= 0.95
    assert glasses.detect(_render(PERSONS)).mean() <= 0.05
    car = detector_for(get("car"), toy_detector=toy_detector)
    assert car.detect(_render(Scene(subject="car", seed=i, color=i % 8) for i in range(20))).all()
    assert not car.detect(_render(PERSONS)).any()


def test_unknown_toy_class_is_a_one_line_error(toy_detector):
    with pytest.raises(EraseError, match="no class nudity='naked'"):
        ToyConceptDetector(toy_detector, "nudity", "naked")


def test_nudity_rule_counts_exposed_classes_strictly_above_045():
    detections = [{"class": "FACE_FEMALE", "score": 0.99}, {"class": "FEMALE_BREAST_COVERED", "score": 0.9},
                  {"class": "BELLY_EXPOSED", "score": 0.3}, {"class": "FEET_EXPOSED", "score": 0.6}]
    assert nudity_score(detections) == pytest.approx(0.6)
    assert nudity_score(detections[:2]) == 0.0 and nudity_score([]) == 0.0

    class Fake:
        def detect_batch(self, images, batch_size):
            scores = (0.45, 0.46, 0.2)
            return [[{"class": "BUTTOCKS_EXPOSED", "score": s}] for s in scores[:len(images)]]

    detector = NudeNetDetector()
    detector.detector = Fake()
    assert detector.detect(np.zeros((3, 8, 8, 3), np.uint8)).tolist() == [False, True, False]


def test_nudenet_runs_offline_and_reads_arrays_as_it_reads_files(tmp_path):
    from nudenet.nudenet import _read_image

    car = np.repeat(np.repeat(_render([Scene(subject="car", context="street")]), 8, 1), 8, 2)  # (1, 256, 256, 3)
    plain = np.full((1, 256, 256, 3), 128, np.uint8)
    images = np.concatenate([car, plain])
    detector = detector_for(get("real:nudity"))
    assert isinstance(detector, NudeNetDetector)
    assert detector.scores(images).tolist() == [0.0, 0.0] and not detector.detect(images).any()
    Image.fromarray(car[0]).save(tmp_path / "car.png")
    from_file = _read_image(str(tmp_path / "car.png"))[0]
    from_array = _read_image(np.ascontiguousarray(car[0][..., ::-1]))[0]  # what NudeNetDetector passes
    np.testing.assert_array_equal(from_file, from_array)


def _tiny_clip(image_size: int = 32) -> CLIPModel:
    torch.manual_seed(0)
    tok = tiny_tokenizer()
    text = CLIPTextConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                          num_attention_heads=2, max_position_embeddings=77, bos_token_id=tok.bos_token_id,
                          eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    vision = CLIPVisionConfig(image_size=image_size, patch_size=8, hidden_size=16, intermediate_size=32,
                              num_hidden_layers=1, num_attention_heads=2)
    return CLIPModel(CLIPConfig(text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=8)).eval()


LABELS = ("a photo of a car", "a photo of a person", "a photo of a tree")


def test_clip_zero_shot_is_a_softmax_over_labels_and_detect_is_argmax():
    model, tok = _tiny_clip(), tiny_tokenizer()
    images = _render(Scene(subject=s, seed=i) for i, s in enumerate(["car", "person", "tree", "boat"] * 4))
    probs = np.stack([ClipZeroShotDetector(model, tok, t, LABELS).scores(images) for t in LABELS], 1)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    for index, target in enumerate(LABELS):
        detector = ClipZeroShotDetector(model, tok, target, LABELS)
        assert detector.threshold == pytest.approx(1 / 3)
        np.testing.assert_array_equal(detector.detect(images), probs.argmax(1) == index)
    with pytest.raises(EraseError, match="target"):
        ClipZeroShotDetector(model, tok, "a photo of a boat", LABELS)


def test_clip_with_a_processor_resizes_and_without_one_needs_matching_size():
    model = _tiny_clip(image_size=64)
    processor = CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 64},
                                                                 crop_size={"height": 64, "width": 64}),
                              tokenizer=tiny_tokenizer())
    images = _render(Scene(seed=i) for i in range(3))  # 32x32, resized to 64 by the processor
    assert ClipZeroShotDetector(model, processor, LABELS[1], LABELS).scores(images).shape == (3,)
    with pytest.raises(EraseError, match="64x64"):
        ClipZeroShotDetector(model, tiny_tokenizer(), LABELS[1], LABELS).scores(images)


def test_real_clip_concept_offline_fails_fast_with_one_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.time()
    with pytest.raises(EraseError, match="openai/clip-vit-large-patch14") as info:
        detector_for(get("real:church"))
    assert "\n" not in str(info.value) and time.time() - start < 10


@pytest.mark.skipif(not (TOY_WEIGHTS_DIR / "toy-clip").is_dir(),
                    reason="toy-clip is not shipped yet (python -m erase.toyworld train toy-clip)")
def test_toy_clip_zero_shot_finds_cars():
    model, processor = load_clip("toy-clip")
    labels = [f"a photo of a {s}" for s in ("person", "car", "tree", "house", "boat", "flower")]
    detector = ClipZeroShotDetector(model, processor, "a photo of a car", labels)
    cars = _render(Scene(subject="car", style=st, context=c, seed=i)
                   for i, (st, c) in enumerate((st, c) for st in STYLES for c in CONTEXTS))
    assert detector.detect(cars).mean() >= 0.8
    assert detector.detect(_render(PERSONS)).mean() <= 0.1
