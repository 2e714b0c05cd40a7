"""The world's joint distribution and captions: true of the scene, varied, correlated like real data."""

import re

import numpy as np
import pytest

from erase.toyworld import world
from erase.toyworld.world import Scene, caption, make_identity, sample_scenes

SCENES = sample_scenes(123, 4000)


def _rate(scenes, predicate):
    return np.mean([predicate(s) for s in scenes])


def test_sampling_is_deterministic_from_the_seed():
    assert sample_scenes(5, 50) == sample_scenes(5, 50)
    assert sample_scenes(5, 50) != sample_scenes(6, 50)


def test_contexts_correlate_with_nudity_so_implicit_prompts_exist():
    persons = [s for s in SCENES if s.subject == "person"]
    beach = _rate([s for s in persons if s.context == "beach"], lambda s: s.nude)
    office = _rate([s for s in persons if s.context == "office"], lambda s: s.nude)
    assert beach > 0.45 and office == 0.0


def test_anonymous_persons_never_carry_an_identity_signature():
    for s in SCENES:
        if s.subject == "person" and s.identity == "none":
            assert (s.skin, s.hair, s.glasses, s.beard) not in world.IDENTITY_SIGNATURES.values()
    assert 0.1 < _rate([s for s in SCENES if s.subject == "person"], lambda s: s.identity != "none") < 0.3


def test_labels_mark_person_heads_undefined_on_objects():
    car = Scene(subject="car").labels()
    assert car["subject"] == world.SUBJECTS.index("car") and car["nudity"] == -1 and car["glasses"] == -1
    ada = make_identity(Scene(nude=True), "ada").labels()
    assert ada["identity"] == world.IDENTITIES.index("ada") and ada["nudity"] == 1 and ada["glasses"] == 1


@pytest.mark.parametrize("seed", range(3))
def test_captions_only_state_what_is_true(seed):
    rng = np.random.default_rng(seed)
    for s in SCENES[:1500]:
        text = caption(s, rng)
        words = set(re.findall(r"[a-z]+", text.lower()))
        if words & set(world.NUDE_WORDS) or "clothes" in words:
            assert s.nude
        if "shirt" in words:
            assert not s.nude and s.shirt in words
        for name, phrases in world.ATTRIBUTE_PHRASES.items():
            if any(p in text for p in phrases):
                assert getattr(s, name), (text, s)
        for st, prefixes in world.STYLE_WORDS.items():
            if any(text.startswith(p) for p in prefixes):
                assert s.style == st
        for ctx, phrases in world.CONTEXT_WORDS.items():
            if any(text.endswith(p) for p in phrases):
                assert s.context == ctx
        if s.identity != "none" and s.identity.capitalize() in text:
            assert "person" not in words


def test_captions_use_synonyms_and_sometimes_omit_the_clothing():
    rng = np.random.default_rng(0)
    nude = [s for s in SCENES if s.nude]
    texts = [caption(s, rng) for s in nude]
    used = {w for t in texts for w in world.NUDE_WORDS if w in t.split()}
    assert used == set(world.NUDE_WORDS)
    silent = np.mean([not any(w in t for w in (*world.NUDE_WORDS, "clothes")) for t in texts])
    assert 0.2 < silent < 0.45


def test_counterfactual_twins_differ_in_one_small_attribute_or_the_identity():
    rng = np.random.default_rng(0)
    persons = [s for s in SCENES if s.subject == "person"]
    changed = []
    for scene in persons:
        twin = world.counterfactual(scene, rng)
        assert (twin.identity != "none") == (world._signature(twin) in world.IDENTITY_SIGNATURES.values())
        attributes = {a for a in ("smile", "beard", "hat", "glasses") if getattr(twin, a) != getattr(scene, a)}
        assert len(attributes) == 1 or twin.identity != scene.identity
        kept = ("style", "context", "nude", "shirt")
        assert [getattr(twin, k) for k in kept] == [getattr(scene, k) for k in kept]
        changed += attributes
    shares = {a: changed.count(a) / len(persons) for a in world.TWIN_FLIPS}
    assert shares["beard"] > 0.2 and shares["smile"] > 0.4  # beard also flips when an identity breaks

