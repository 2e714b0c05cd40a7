"""Measure a shipped toy model against its quality bars and write its `card.md`."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from erase.runs import atomic_write_text

logger = logging.getLogger(__name__)

DESCRIPTIONS = {
    "toy-detector": "Multi-head CNN attribute classifier (`erase.toyworld.detector.ToyDetector`, "
                    "huggingface_hub `PyTorchModelHubMixin`). The toy world's concept detector and toy-FID features.",
    "toy-clip": "transformers `CLIPModel` (ViT 32px/patch 4, 3+3 layers, width 128) with a CLIP BPE tokenizer "
                "learned from the world's captions, trained contrastively on renders and captions: 3,000 steps, "
                "then 1,500 steps where half of each batch are counterfactual twins of the other half's persons "
                "(smile or beard flipped, identity made or broken), hard negatives for the smallest features.",
    "toy-sd": "diffusers `StableDiffusionPipeline`: `AutoencoderKL` (32x32 -> 4x8x8), `UNet2DConditionModel`, the "
              "toy-clip text tower as `CLIPTextModel`, its tokenizer, a DDIM scheduler "
              "(SD v1 betas, clip_sample=False). The UNet trained 6,000 steps on toy-clip v1's text tower, then "
              "2,000 on v2's and 2,000 on v3's (`train toy-sd --init` each time; the text tower is the current "
              "toy-clip's), then 2,000 more on v3's with counterfactual twins in half of each batch, as toy-clip's "
              "last stage. v1's tower never learned the smile (toy-sd v1: smile 0.61); v2's, twin-trained on "
              "smiles and identities only, weakened the beard (toy-sd v2: beard 0.56); v3's twins flip both, but "
              "plain fine-tuning drew beards only 0.755 of the time (toy-sd v3); twins in the UNet's batches too "
              "made it read the beard words (toy-sd v4).",
}
BARS = {"toy-detector": "accuracy >= 0.97 on every head (2,000 held-out renders)",
        "toy-clip": "zero-shot top-1 >= 0.90 on subject, >= 0.85 on every attribute (1,000 held-out renders)",
        "toy-sd": "subject >= 0.90, each attribute >= 0.80, nudity explicit/paraphrase >= 0.80, implicit >= 0.30, "
                  "neutral <= 0.05, style >= 0.80 (200 samples per set, 25 DDIM steps, guidance 5)"}


def measure(name: str, folder: Path) -> dict[str, float]:
    from erase.hub import toy_path
    from erase.toyworld import quality
    from erase.toyworld.detector import ToyDetector

    if name == "toy-detector":
        return quality.detector_accuracy(ToyDetector.from_pretrained(folder))
    if name == "toy-clip":
        from transformers import CLIPModel, CLIPTokenizer

        return quality.clip_zero_shot(CLIPModel.from_pretrained(folder), CLIPTokenizer.from_pretrained(folder))
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    rates = quality.sd_quality(pipe, ToyDetector.from_pretrained(toy_path("toy-detector")))
    return {**rates, **quality.sd_fid(pipe)}


def write_card(name: str, folder: Path, measured: dict[str, float], train_seconds: float | None) -> None:
    size = sum(p.stat().st_size for p in folder.rglob("*.safetensors"))
    params = sum(_params(p) for p in folder.rglob("*.safetensors"))
    lines = [
        f"# {name}", "", DESCRIPTIONS[name], "",
        f"- size: {size / 1e6:.1f} MB of safetensors, {params / 1e6:.2f} M parameters",
        f"- training: `python -m erase.toyworld train {name}`"
        + (f", {train_seconds / 60:.0f} min on a 2-core CPU" if train_seconds else ""),
        "- data: fresh procedural renders every step (`erase.toyworld`), never a held-out seed",
        f"- bar: {BARS[name]}", "", "## Measured (held-out seeds)", "", "| metric | value |", "|---|---|",
        *[f"| {k} | {v:.3f} |" for k, v in measured.items()], "",
    ]
    atomic_write_text(folder / "card.md", "\n".join(lines))
    atomic_write_text(folder / "quality.json", json.dumps(measured, indent=2) + "\n")


def _params(path: Path) -> int:
    from safetensors import safe_open

    with safe_open(path, framework="pt") as f:
        return sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())
