"""The renderer: deterministic, fast enough to train on, and every attribute changes the pixels."""

from dataclasses import replace

import numpy as np
import pytest

from erase.toyworld.render import render, render_batch
from erase.toyworld.world import Scene, sample_scenes

BASE = Scene(subject="person", style="photo", context="office", shirt="blue", hair="black", seed=7)


def test_same_scene_same_pixels():
    scenes = sample_scenes(0, 32)
    assert np.array_equal(render_batch(scenes), render_batch(scenes))
    assert render(BASE).shape == (32, 32, 3) and render(BASE).dtype == np.uint8


@pytest.mark.parametrize("change", [
    {"nude": True}, {"glasses": True}, {"hat": True}, {"smile": True}, {"beard": True}, {"hair": "blond"},
    {"context": "beach"}, {"style": "sketch"}, {"subject": "car"},
])
def test_every_attribute_changes_the_image(change):
    diff = np.abs(render(replace(BASE, **change)).astype(int) - render(BASE).astype(int)).sum(-1)
    assert (diff > 60).sum() >= 6


def test_nudity_shows_skin_where_the_shirt_was():
    clothed, nude = render(BASE).astype(int), render(replace(BASE, nude=True)).astype(int)
    torso = (slice(24, 31), slice(9, 23))
    face = (slice(12, 14), slice(14, 17))
    skin_dist_nude = np.abs(nude[torso] - nude[face].mean((0, 1))).sum(-1).mean()
    skin_dist_clothed = np.abs(clothed[torso] - clothed[face].mean((0, 1))).sum(-1).mean()
    assert skin_dist_nude < skin_dist_clothed / 2
