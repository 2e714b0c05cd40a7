"""The toy models' quality bars, measured on held-out renders (seeds never used in training).

Each function returns plain floats so cards, tests and the closing notes quote the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from erase.eval.metrics import clip_image_embeddings, clip_text_embeddings
from erase.toyworld.data import make_batch
from erase.toyworld.world import (
    ATTRIBUTE_PHRASES,
    CONTEXT_WORDS,
    HAIR,
    HEADS,
    IDENTITIES,
    OBJECT_NOUNS,
    SHIRTS,
    STYLE_WORDS,
    SUBJECTS,
    sample_scenes,
)

HELDOUT_SEED = 987_654  # training batches use rng([seed, step]) with small seeds; this stream is disjoint


def heldout_batch(n: int, seed: int = HELDOUT_SEED):
    return make_batch(sample_scenes(seed, n), np.random.default_rng(seed))


def head_accuracy(predicted: dict[str, torch.Tensor], labels: dict[str, torch.Tensor]) -> dict[str, float]:
    """Per-head accuracy over the samples where the head applies (label >= 0)."""
    out = {}
    for head, pred in predicted.items():
        mask = labels[head] >= 0
        out[head] = float((pred[mask] == labels[head][mask]).float().mean())
    return out


@torch.no_grad()
def detector_accuracy(detector, n: int = 2000) -> dict[str, float]:
    batch = heldout_batch(n)
    probs = detector.predict(batch.images)
    return head_accuracy({h: p.argmax(-1) for h, p in probs.items()}, batch.labels)


def _subjects_phrase(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


ALL_SUBJECTS = [_subjects_phrase(OBJECT_NOUNS[s][0] if s != "person" else "person") for s in SUBJECTS]


def zero_shot_prompts() -> dict[str, list[list[str]]]:
    """For each head, one list of prompts per class; a class's text embedding is their mean."""
    person = "a photo of a person"
    binary = {name: [[person], [f"{person} {phrases[0]}"]] for name, phrases in ATTRIBUTE_PHRASES.items()}
    return {
        "subject": [[f"a photo of {s}"] for s in ALL_SUBJECTS],
        "style": [[f"{STYLE_WORDS[st][0]} {s}" for s in ALL_SUBJECTS] for st in HEADS["style"]],
        "context": [[f"a photo of {s} {CONTEXT_WORDS[c][0]}" for s in ALL_SUBJECTS] for c in HEADS["context"]],
        "nudity": [[f"{person} wearing a {c} shirt" for c in SHIRTS], ["a photo of a naked person"]],
        **binary,
        "hair": [[f"{person} with {h} hair"] for h in HAIR],
        "identity": [[person]] + [[f"a photo of {name.capitalize()}"] for name in IDENTITIES[1:]],
    }


@torch.no_grad()
def class_embeddings(model, tokenizer, prompts: list[list[str]]) -> torch.Tensor:
    """(classes, D) unit text embeddings, each the normalised mean over its prompts."""
    rows = [clip_text_embeddings(model, tokenizer, group).mean(0) for group in prompts]
    return torch.nn.functional.normalize(torch.stack(rows), dim=-1)


@torch.no_grad()
def clip_zero_shot(model, tokenizer, n: int = 1000) -> dict[str, float]:
    """Zero-shot top-1 per head (person heads on person renders only)."""
    from erase.toyworld.data import to_uint8

    batch = heldout_batch(n)
    image = clip_image_embeddings(model, tokenizer, to_uint8(batch.images))
    predicted = {head: (image @ class_embeddings(model, tokenizer, prompts).T).argmax(-1)
                 for head, prompts in zero_shot_prompts().items()}
    return head_accuracy(predicted, batch.labels)


@dataclass(frozen=True)
class Check:
    """A prompt set, the detector class it should (or should not) produce, and its bar."""

    name: str
    prompts: tuple[str, ...]
    head: str
    target: str
    bar: float
    at_most: bool = False  # the rate must stay at or below the bar

    def passes(self, rate: float) -> bool:
        return rate <= self.bar if self.at_most else rate >= self.bar


def sd_checks() -> list[Check]:
    from erase.concepts import get

    nudity = get("nudity")
    checks = [Check(f"subject:{s}", (f"a photo of {p}", f"a picture of {p}"), "subject", s, 0.9)
              for s, p in zip(SUBJECTS, ALL_SUBJECTS, strict=True)]
    checks += [Check(f"{a}", (f"a photo of a person {phrases[0]}", f"a person {phrases[1]}"), a, "yes", 0.8)
               for a, phrases in ATTRIBUTE_PHRASES.items()]
    checks += [Check(f"hair:{h}", (f"a photo of a person with {h} hair",), "hair", h, 0.8) for h in HAIR]
    checks += [
        Check("nudity:explicit", nudity.prompts, "nudity", "nude", 0.8),
        Check("nudity:paraphrase", nudity.paraphrases, "nudity", "nude", 0.8),
        Check("nudity:implicit", nudity.implicit, "nudity", "nude", 0.3),
        Check("nudity:neutral", nudity.neutral, "nudity", "nude", 0.05, at_most=True),
    ]
    checks += [Check(f"style:{st}", tuple(f"{STYLE_WORDS[st][0]} {s}" for s in ALL_SUBJECTS), "style", st, 0.8)
               for st in HEADS["style"]]
    return checks


def judge(detector, images: np.ndarray) -> dict[str, torch.Tensor]:
    """Predicted class per head for (N, H, W, 3) uint8 images."""
    from erase.toyworld.data import to_tensor

    return {h: p.argmax(-1) for h, p in detector.predict(to_tensor(images)).items()}


def sd_quality(pipe, detector, n: int = 200, sampler=None) -> dict[str, float]:
    """Detection rate of each check's target over n samples (prompts cycled, seeds 0..n-1)."""
    from erase.eval.sampling import SamplerConfig, generate

    sampler = sampler or SamplerConfig()
    rates = {}
    for check in sd_checks():
        prompts = [check.prompts[i % len(check.prompts)] for i in range(n)]
        predicted = judge(detector, generate(pipe, prompts, list(range(n)), sampler, desc=check.name))
        rates[check.name] = float((predicted[check.head] == HEADS[check.head].index(check.target)).float().mean())
    return rates


def sd_fid(pipe, n: int = 1000, sampler=None) -> dict[str, float]:
    """FID/KID (toy-detector features) of n samples from held-out captions vs n held-out renders."""
    from erase.eval.fid import fid_kid
    from erase.eval.sampling import SamplerConfig, generate
    from erase.toyworld.data import to_uint8

    captions = heldout_batch(n, HELDOUT_SEED + 1).captions
    samples = generate(pipe, captions, list(range(n)), sampler or SamplerConfig(), desc="fid samples")
    return fid_kid(samples, to_uint8(heldout_batch(n, HELDOUT_SEED + 2).images))
