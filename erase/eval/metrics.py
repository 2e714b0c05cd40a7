"""Metrics over generated images: detection rates, CLIP score, retained attributes, UnlearnCanvas accuracies.

Images are (N, H, W, 3) uint8 numpy arrays throughout. CLIP models are transformers `CLIPModel`s with
either a `CLIPProcessor` (its image processor prepares images: resizing for real CLIP, a no-op map to
[-1, 1] for toy-clip) or a bare tokenizer (images then go straight in as [-1, 1] tensors, toy-clip's
convention). FID and KID live in `erase.eval.fid`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from erase.errors import EraseError
from erase.toyworld.data import to_tensor

if TYPE_CHECKING:
    from erase.eval.detectors import ConceptDetector
    from erase.toyworld.detector import ToyDetector

IMAGE_BATCH = 64
TEXT_BATCH = 256


def projected(features: Any) -> torch.Tensor:
    """The projected embedding of `get_text_features` / `get_image_features`: transformers 5 returns an
    output object whose `pooler_output` is it; older versions return the tensor itself."""
    return getattr(features, "pooler_output", features)


def _parts(processor_or_tokenizer: Any) -> tuple[Any, Any | None]:
    """(tokenizer, image processor or None) of a CLIPProcessor or a bare tokenizer."""
    return getattr(processor_or_tokenizer, "tokenizer", processor_or_tokenizer), getattr(
        processor_or_tokenizer, "image_processor", None)


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def clip_text_embeddings(model, processor_or_tokenizer: Any, texts: Sequence[str]) -> torch.Tensor:
    """(N, D) unit-norm projected text embeddings, on the CPU."""
    tokenizer, _ = _parts(processor_or_tokenizer)
    out = []
    for start in range(0, len(texts), TEXT_BATCH):
        tokens = tokenizer(list(texts[start:start + TEXT_BATCH]), padding=True, truncation=True, return_tensors="pt")
        tokens = {k: v.to(_device(model)) for k, v in tokens.items()}
        out.append(F.normalize(projected(model.get_text_features(**tokens)), dim=-1).float().cpu())
    return torch.cat(out)


@torch.no_grad()
def clip_image_embeddings(model, processor_or_tokenizer: Any, images: np.ndarray) -> torch.Tensor:
    """(N, D) unit-norm projected image embeddings of (N, H, W, 3) uint8 images, on the CPU."""
    _, image_processor = _parts(processor_or_tokenizer)
    if image_processor is None:
        size = model.config.vision_config.image_size
        if images.shape[1:3] != (size, size):
            raise EraseError(f"CLIP without an image processor takes {size}x{size} images, got "
                             f"{images.shape[1]}x{images.shape[2]}; pass the CLIPProcessor saved with the model")
    param = next(model.parameters())
    out = []
    for start in range(0, len(images), IMAGE_BATCH):
        chunk = images[start:start + IMAGE_BATCH]
        pixels = (to_tensor(chunk) if image_processor is None
                  else image_processor(images=list(chunk), return_tensors="pt").pixel_values)  # (B, 3, S, S)
        features = model.get_image_features(pixel_values=pixels.to(param.device, param.dtype))
        out.append(F.normalize(projected(features), dim=-1).float().cpu())
    return torch.cat(out)


def clip_score(model, processor_or_tokenizer: Any, images: np.ndarray, prompts: Sequence[str]) -> float:
    """Mean over images of max(cos(image, its prompt), 0), as a cosine in [0, 1] (not x100).

    torchmetrics' `CLIPScore` refuses local model folders and breaks on transformers 5's output objects,
    hence this small function over transformers' `CLIPModel`.
    """
    assert len(images) == len(prompts) > 0, (len(images), len(prompts))
    image = clip_image_embeddings(model, processor_or_tokenizer, images)
    text = clip_text_embeddings(model, processor_or_tokenizer, prompts)
    return float((image * text).sum(-1).clamp(min=0).mean())


def detection_rate(detector: ConceptDetector, images: np.ndarray) -> float:
    """Fraction of images in which `detector` finds its concept."""
    assert len(images) > 0
    return float(np.mean(detector.detect(images)))


@torch.no_grad()
def attribute_accuracy(toy_detector: ToyDetector, images: np.ndarray, expected: Mapping[str, int]) -> dict[str, float]:
    """Per head, the fraction of images whose toy-detector verdict is the expected class index."""
    probs = toy_detector.predict(to_tensor(images).to(_device(toy_detector)))
    return {head: float((probs[head].argmax(-1).cpu() == index).float().mean()) for head, index in expected.items()}


def unlearning_accuracies(erased: str, rates: Mapping[str, float], categories: Mapping[str, str]) -> dict[str, Any]:
    """UnlearnCanvas' accuracies (Zhang et al., 2024) from per-concept detection rates after erasure.

    `rates[c]` is how often concept c is detected on its own prompts; `categories[c]` its category.
    UA: the erased concept's prompts no longer show it (1 - its rate). IRA: retained concepts of the
    erased one's category still show (mean rate). CRA: the same for other categories. A group with no
    concept is None.
    """
    def mean(values: list[float]) -> float | None:
        return float(np.mean(values)) if values else None

    category = categories[erased]
    retained = [c for c in rates if c != erased]
    return {
        "UA": 1.0 - rates[erased],
        "IRA": mean([rates[c] for c in retained if categories[c] == category]),
        "CRA": mean([rates[c] for c in retained if categories[c] != category]),
    }
