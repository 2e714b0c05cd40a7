"""scripts/fid_heads.py: two samples of the same world are near on every head; taking every hat off moves the hat
head, over persons only, and leaves the scene's other heads where they were."""

import dataclasses

import pytest

from erase.hub import toy_path
from erase.toyworld.data import to_tensor
from erase.toyworld.detector import ToyDetector
from erase.toyworld.render import render_batch
from erase.toyworld.world import sample_scenes
from tests.conftest import load_script


@pytest.fixture(scope="module")
def head_distances():
    module = load_script("fid_heads")
    detector = ToyDetector.from_pretrained(toy_path("toy-detector")).eval()
    return lambda images, references: module.head_distances(detector, images, references)


def test_two_samples_of_the_world_are_near_on_every_head(head_distances):
    distances = head_distances(to_tensor(render_batch(sample_scenes(1, 400))),
                               to_tensor(render_batch(sample_scenes(2, 400))))
    assert max(distances.values()) < 0.1, distances


def test_taking_every_hat_off_moves_the_hat_head_only(head_distances):
    scenes = sample_scenes(3, 400)
    with_hats = [s for s in scenes if s.subject == "person" and s.hat]
    assert len(with_hats) > 20  # persons wear hats often enough for the hat head to move
    distances = head_distances(to_tensor(render_batch([dataclasses.replace(s, hat=False) for s in scenes])),
                               to_tensor(render_batch(scenes)))
    persons = sum(s.subject == "person" for s in scenes)
    assert distances["hat"] == pytest.approx(len(with_hats) / persons, abs=0.05)
    assert all(v < 0.02 for head, v in distances.items() if head != "hat"), distances
