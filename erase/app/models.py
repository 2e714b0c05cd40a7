"""Models the app keeps loaded between requests: pipelines (a few, least recently used dropped first)
and concept detectors."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import torch

from erase.concepts import Concept
from erase.errors import EraseError
from erase.eval.detectors import ConceptDetector, detector_for
from erase.hub import resolve_model

logger = logging.getLogger(__name__)
KEEP_PIPELINES = 4


class Models:
    """Pipelines by source (a toy name, a diffusers folder, a hub id) and detectors by concept name."""

    def __init__(self, device: str | None = None):
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._pipelines = functools.lru_cache(maxsize=KEEP_PIPELINES)(self._load_pipeline)
        self._detectors: dict[str, ConceptDetector] = {}

    def pipeline(self, source: str | Path):
        """The loaded pipeline of `source`: a local folder is keyed by its resolved path."""
        resolved = resolve_model(source)
        return self._pipelines(str(resolved.resolve()) if isinstance(resolved, Path) else resolved)

    def _load_pipeline(self, source: str):
        from diffusers import StableDiffusionPipeline

        from erase.hub import load_pretrained

        logger.info("loading %s", source)
        try:
            pipe = load_pretrained(StableDiffusionPipeline, source)
        except EraseError:
            raise
        except Exception as exc:  # a folder of the user's that looks right but does not load
            logger.debug("loading %s failed", source, exc_info=True)
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise EraseError(f"{source}: the model did not load ({type(exc).__name__}: {reason})") from exc
        pipe.set_progress_bar_config(disable=True)
        return pipe.to(self.device)

    def detector(self, concept: Concept) -> ConceptDetector:
        """The concept's detector (`detector_for`), built once."""
        if concept.name not in self._detectors:
            self._detectors[concept.name] = detector_for(concept)
        return self._detectors[concept.name]
