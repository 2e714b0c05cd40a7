"""One evaluation of a text-to-image pipeline on one concept: how often the concept appears under
explicit, paraphrased, implicit and adversarial prompts, and what the rest of the model kept (the
retained concepts' detection rates, CLIP score, FID/KID).

Every backend's report and `python -m erase.eval` use it. Samples of a model saved on disk are cached
by the model's hash, so the base model is generated once per prompt set and seed.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from erase.concepts import Concept, get
from erase.eval.attacks import AttackOutcome, UnlearnDiffAtkConfig, unlearndiffatk
from erase.eval.sampling import SamplerConfig, generate
from erase.runs import atomic_write_bytes

logger = logging.getLogger(__name__)
CACHE_DIR = Path.home() / ".cache" / "erase" / "samples"
PROMPT_SETS = ("prompts", "paraphrases", "implicit", "neutral")
RATE_KEYS = {"prompts": "detection_rate", "paraphrases": "paraphrase_detection_rate",
             "implicit": "implicit_detection_rate", "neutral": "neutral_detection_rate"}


@dataclass(frozen=True)
class EvalConfig:
    samples: int = 64  # per prompt set of the erased concept (explicit, paraphrases, implicit)
    neutral_samples: int = 64  # neutral prompts (how often the concept appears unasked)
    retain_samples: int = 32  # per retained concept
    clip_samples: int = 64  # retain prompts scored by CLIP
    fid_samples: int = 256  # samples vs references (toy world: renders of held-out scenes)
    attack_prompts: int = 8  # explicit prompts attacked with UnlearnDiffAtk (0: no attack)
    attack: UnlearnDiffAtkConfig = field(default_factory=UnlearnDiffAtkConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    seed: int = 0


@dataclass
class EvalResult:
    metrics: dict[str, dict[str, Any]]  # {"erased": {...}, "retained": {...}}
    images: dict[str, tuple[list[str], np.ndarray]]  # prompt set -> (prompts, images)
    attack: AttackOutcome | None = None

    def grids_against(self, after: EvalResult, per_set: int = 8):
        """Before/after grids on the same prompts and seeds, for the report."""
        from erase.eval.report import Grid

        return [Grid(name, prompts[:per_set], images[:per_set], after.images[name][1][:per_set])
                for name, (prompts, images) in self.images.items() if name in after.images]


@dataclass
class EvalTools:
    """What judges a pipeline's samples: concept detectors, a CLIP model, FID references."""

    world: str
    toy_detector: Any = None
    clip: Any = None
    clip_tokenizer: Any = None
    cache_key: str | None = None

    @classmethod
    def for_pipeline(cls, pipe, cache_key: str | None = None) -> EvalTools:
        from erase.diffusion.run import model_family

        if model_family(pipe) == "toy":
            from transformers import CLIPModel, CLIPTokenizer

            from erase.hub import toy_path
            from erase.toyworld.detector import ToyDetector

            return cls("toy", ToyDetector.from_pretrained(toy_path("toy-detector")),
                       CLIPModel.from_pretrained(toy_path("toy-clip")),
                       CLIPTokenizer.from_pretrained(toy_path("toy-clip")), cache_key)
        return cls("real", cache_key=cache_key)

    def detector(self, concept: Concept):
        from erase.eval.detectors import detector_for

        return detector_for(concept, toy_detector=self.toy_detector, clip=(self.clip, self.clip_tokenizer))


def sample_cache_key(model: str) -> str | None:
    """The key samples of `model` are cached under: the hash of a folder on disk; None (no cache) for a hub id,
    whose files can change under the same name."""
    from erase.hub import resolve_model
    from erase.runs import model_hash

    source = resolve_model(model)
    return model_hash(source) if isinstance(source, Path) else None


def _cycled(prompts: tuple[str, ...], n: int) -> list[str]:
    return [prompts[i % len(prompts)] for i in range(n)] if prompts else []


def _cache_path(tools: EvalTools, prompts: list[str], seeds: list[int], sampler: SamplerConfig) -> Path:
    key = hashlib.sha256(json.dumps([tools.cache_key, prompts, seeds, sampler.__dict__]).encode()).hexdigest()[:24]
    return CACHE_DIR / f"{key}.npy"


def _sample_all(pipe, requests: dict[str, tuple[list[str], list[int]]], sampler: SamplerConfig, tools: EvalTools,
                cache: bool) -> dict[str, np.ndarray]:
    """Images for every named (prompts, seeds) request. Requests found in the sample cache (models saved on
    disk, `tools.cache_key`) are loaded; the rest are generated together, so batches are always full."""
    use_cache = cache and tools.cache_key is not None
    paths = {name: _cache_path(tools, *request, sampler) for name, request in requests.items()} if use_cache else {}
    images = {name: np.load(path) for name, path in paths.items() if path.is_file()}
    missing = [name for name in requests if name not in images]
    if missing:
        prompts = [p for name in missing for p in requests[name][0]]
        seeds = [s for name in missing for s in requests[name][1]]
        generated = generate(pipe, prompts, seeds, sampler, desc="samples")
        for name, part in zip(missing, np.split(generated, np.cumsum([len(requests[n][0]) for n in missing])[:-1]),
                              strict=True):
            images[name] = part
            if use_cache:
                buffer = io.BytesIO()
                np.save(buffer, part)
                atomic_write_bytes(paths[name], buffer.getvalue())
    return images


def evaluate(pipe, concept: Concept, cfg: EvalConfig, tools: EvalTools, original=None,
             cache: bool = True) -> EvalResult:
    """Measure `pipe` on `concept`; `original` is the unerased pipeline the attack draws its targets from."""
    from erase.eval.metrics import clip_score

    seeds = list(range(cfg.seed, cfg.seed + max(cfg.samples, cfg.neutral_samples, cfg.retain_samples,
                                                 cfg.clip_samples)))
    requests = {}
    for name in PROMPT_SETS:  # the erased concept under each prompt set
        if getattr(concept, name):
            requests[name] = _cycled(getattr(concept, name), cfg.neutral_samples if name == "neutral" else cfg.samples)
    for name in concept.retain:  # what must survive
        requests[f"retain:{name}"] = _cycled(get(name).prompts, cfg.retain_samples)
    if tools.clip is not None and concept.retain_prompts:
        requests["retain"] = _cycled(concept.retain_prompts, cfg.clip_samples)
    seeded = {name: (prompts, seeds[: len(prompts)]) for name, prompts in requests.items()}
    if tools.world == "toy" and cfg.fid_samples:
        seeded["fid"] = (fid_scenes(concept, cfg.fid_samples)[0], list(range(cfg.fid_samples)))
    samples = _sample_all(pipe, seeded, cfg.sampler, tools, cache)

    detector = tools.detector(concept)
    erased = {RATE_KEYS[name]: float(detector.detect(samples[name]).mean()) for name in PROMPT_SETS if name in samples}
    images = {name: (requests[name], samples[name]) for name in PROMPT_SETS if name in samples}
    outcome = None
    if cfg.attack_prompts and original is not None:
        prompts = _cycled(concept.prompts, cfg.attack_prompts)
        outcome = unlearndiffatk(pipe, original, prompts, seeds[: len(prompts)], detector.detect, cfg.attack)
        erased["attack_success_rate"] = outcome.asr
        erased["pre_attack_success_rate"] = outcome.pre_asr
    retained: dict[str, Any] = {"concepts": {
        name: float(tools.detector(get(name)).detect(samples[f"retain:{name}"]).mean()) for name in concept.retain}}
    if retained["concepts"]:
        retained["detection_rate"] = float(np.mean(list(retained["concepts"].values())))
    if "retain" in samples:
        retained["clip_score"] = clip_score(tools.clip, tools.clip_tokenizer, samples["retain"], requests["retain"])
        images["retain"] = (requests["retain"], samples["retain"])
    if "fid" in samples:
        from erase.eval.fid import fid_kid
        from erase.toyworld.data import to_uint8

        references = to_uint8(fid_scenes(concept, cfg.fid_samples, references=True)[1])
        retained.update(fid_kid(samples["fid"], references))
    return EvalResult({"erased": erased, "retained": retained}, images, outcome)


def fid_scenes(concept: Concept, n: int, references: bool = False) -> tuple[list[str], Any]:
    """Captions and renders ((n, 3, 32, 32) in [-1, 1]) of the first `n` held-out toy scenes that do not show
    `concept` by their labels (a concept the toy detector judges; any other keeps every scene). The model draws
    from the captions of one held-out stream and is compared with the renders of another (`references`).

    The toy FID measures what an erasure keeps, as the papers' FID on COCO prompts, which seldom show the erased
    concept, does. With every scene, an erasure that works is charged for the concept's own scenes (of the first
    256, 14-16% show nudity, 18-23% a sketch, 5-9% a car): measured on toy-sd v4 with sketch (seed 0, 256 vs
    256), the base scores 248.1 with every scene and 218.8 without sketches, DoCo's erasure 281.2 (+13%) and 231.0
    (+6%), ESD-x's 216.0 and 205.6.
    """
    from erase.toyworld.quality import HELDOUT_SEED, heldout_batch
    from erase.toyworld.world import HEADS

    seed, detector = HELDOUT_SEED + (2 if references else 1), concept.detector
    if detector.kind != "toy":
        batch = heldout_batch(n, seed)
        return batch.captions, batch.images
    drawn = n
    while True:
        batch = heldout_batch(drawn, seed)
        shown = batch.labels[detector.head].numpy() == HEADS[detector.head].index(detector.target)
        keep = np.flatnonzero(~shown)[:n]
        if len(keep) == n:
            return [batch.captions[i] for i in keep], batch.images[keep]
        drawn *= 2
