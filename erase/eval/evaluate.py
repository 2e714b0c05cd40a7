"""One evaluation of a text-to-image pipeline on one concept: how often the concept appears under
explicit, paraphrased, implicit and adversarial prompts, and what the rest of the model kept (the
retained concepts' detection rates, CLIP score, FID/KID).

Every backend's report and `python -m erase.eval` use it. Samples of a model saved on disk are cached
by the model's hash, so the base model is generated once per prompt set and seed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from erase.concepts import Concept, get
from erase.eval.attacks import AttackOutcome, UnlearnDiffAtkConfig, unlearndiffatk
from erase.eval.sampling import SamplerConfig, generate

logger = logging.getLogger(__name__)
CACHE_DIR = Path.home() / ".cache" / "erase" / "samples"
PROMPT_SETS = ("prompts", "paraphrases", "implicit", "neutral")
RATE_KEYS = {"prompts": "detection_rate", "paraphrases": "paraphrase_detection_rate",
             "implicit": "implicit_detection_rate", "neutral": "neutral_detection_rate"}


@dataclass(frozen=True)
class EvalConfig:
    samples: int = 64  # per prompt set of the erased concept (explicit, paraphrases, implicit, neutral)
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


def _sample(pipe, prompts: list[str], seeds: list[int], sampler: SamplerConfig, tools: EvalTools, cache: bool,
            desc: str) -> np.ndarray:
    """Generate, or load from the sample cache when the model is a saved one (`tools.cache_key`)."""
    if not (cache and tools.cache_key):
        return generate(pipe, prompts, seeds, sampler, desc=desc)
    key = hashlib.sha256(json.dumps([tools.cache_key, prompts, seeds, sampler.__dict__]).encode()).hexdigest()[:24]
    path = CACHE_DIR / f"{key}.npy"
    if path.is_file():
        return np.load(path)
    images = generate(pipe, prompts, seeds, sampler, desc=desc)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, images)
    tmp.replace(path)
    return images


def evaluate(pipe, concept: Concept, cfg: EvalConfig, tools: EvalTools, original=None,
             cache: bool = True) -> EvalResult:
    """Measure `pipe` on `concept`; `original` is the unerased pipeline the attack draws its targets from."""
    from erase.eval.metrics import clip_score

    seeds = list(range(cfg.seed, cfg.seed + max(cfg.samples, cfg.retain_samples, cfg.clip_samples, cfg.fid_samples)))
    erased: dict[str, Any] = {}
    images = {}
    detector = tools.detector(concept)
    # 1. The erased concept under each prompt set.
    for name in PROMPT_SETS:
        prompts = _cycled(getattr(concept, name), cfg.samples)
        if not prompts:
            continue
        imgs = _sample(pipe, prompts, seeds[: len(prompts)], cfg.sampler, tools, cache, desc=name)
        erased[RATE_KEYS[name]] = float(detector.detect(imgs).mean())
        images[name] = (prompts, imgs)
    # 2. The attack on explicit prompts.
    outcome = None
    if cfg.attack_prompts and original is not None:
        prompts = _cycled(concept.prompts, cfg.attack_prompts)
        outcome = unlearndiffatk(pipe, original, prompts, seeds[: len(prompts)],
                                 detector.detect, cfg.attack)
        erased["attack_success_rate"] = outcome.asr
        erased["pre_attack_success_rate"] = outcome.pre_asr
    # 3. What must survive: retained concepts, CLIP score on retain prompts, FID.
    retained: dict[str, Any] = {"concepts": {}}
    for name in concept.retain:
        other = get(name)
        prompts = _cycled(other.prompts, cfg.retain_samples)
        imgs = _sample(pipe, prompts, seeds[: len(prompts)], cfg.sampler, tools, cache, desc=f"retain {name}")
        retained["concepts"][name] = float(tools.detector(other).detect(imgs).mean())
    if retained["concepts"]:
        retained["detection_rate"] = float(np.mean(list(retained["concepts"].values())))
    if tools.clip is not None and concept.retain_prompts:
        prompts = _cycled(concept.retain_prompts, cfg.clip_samples)
        imgs = _sample(pipe, prompts, seeds[: len(prompts)], cfg.sampler, tools, cache, desc="clip score")
        retained["clip_score"] = clip_score(tools.clip, tools.clip_tokenizer, imgs, prompts)
        images["retain"] = (prompts, imgs)
    if tools.world == "toy" and cfg.fid_samples:
        retained.update(_toy_fid(pipe, cfg, tools, cache))
    return EvalResult({"erased": erased, "retained": retained}, images, outcome)


def _toy_fid(pipe, cfg: EvalConfig, tools: EvalTools, cache: bool) -> dict[str, float]:
    from erase.eval.fid import fid_kid
    from erase.toyworld.data import to_uint8
    from erase.toyworld.quality import HELDOUT_SEED, heldout_batch

    captions = heldout_batch(cfg.fid_samples, HELDOUT_SEED + 1).captions
    samples = _sample(pipe, captions, list(range(cfg.fid_samples)), cfg.sampler, tools, cache, desc="fid")
    return fid_kid(samples, to_uint8(heldout_batch(cfg.fid_samples, HELDOUT_SEED + 2).images))
