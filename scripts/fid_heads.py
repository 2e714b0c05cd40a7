"""Which attributes a model draws differently when its toy FID grows (README, "Where the presets stand").

    python scripts/fid_heads.py --concept nudity toy-sd runs/RUN_A/model runs/RUN_B/model

For each model: its toy FID as the evaluation computes it (samples from held-out captions without the erased
concept's scenes, against renders of other such scenes), and for each toy-detector head the total-variation
distance between the detector's class distribution on the model's samples and on the references (persons' heads
over the images it sees a person in): 0, the same distribution; 1, disjoint.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from diffusers import StableDiffusionPipeline

from erase.concepts import get
from erase.config import load_config
from erase.diffusion.run import EVAL_CONFIGS
from erase.errors import EraseError
from erase.eval.evaluate import EvalConfig, fid_scenes
from erase.eval.fid import fid_kid
from erase.eval.sampling import generate
from erase.hub import load_pretrained, toy_path
from erase.toyworld.data import to_tensor, to_uint8
from erase.toyworld.detector import ToyDetector
from erase.toyworld.world import HEADS, PERSON_HEADS


@torch.no_grad()
def head_distributions(detector: ToyDetector, images: torch.Tensor) -> dict[str, np.ndarray]:
    """Share of images the detector puts in each class, per head; persons' heads over the images it sees a person
    in. `images`: (N, 3, H, W) in [-1, 1]."""
    predicted = {head: probs.argmax(-1).numpy() for head, probs in detector.predict(images).items()}
    person = predicted["subject"] == HEADS["subject"].index("person")
    out = {}
    for head, classes in predicted.items():
        chosen = classes[person] if head in PERSON_HEADS else classes
        out[head] = np.bincount(chosen, minlength=len(HEADS[head])) / max(1, len(chosen))
    return out


def head_distances(detector: ToyDetector, images: torch.Tensor, references: torch.Tensor) -> dict[str, float]:
    """Total-variation distance per head between the class distributions of `images` and `references`."""
    mine, theirs = head_distributions(detector, images), head_distributions(detector, references)
    return {head: float(0.5 * np.abs(mine[head] - theirs[head]).sum()) for head in mine}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="toy-sd, or diffusers folders (a run's model/)")
    parser.add_argument("--concept", required=True, help="the erased concept, whose scenes the toy FID leaves out")
    parser.add_argument("--samples", type=int, default=256, help="samples and references (the evaluation's 256)")
    args = parser.parse_args()
    try:
        concept = get(args.concept)
        pipes = [load_pretrained(StableDiffusionPipeline, m) for m in args.models]
    except EraseError as exc:
        parser.exit(2, f"error: {exc}\n")
    captions, _ = fid_scenes(concept, args.samples)
    _, references = fid_scenes(concept, args.samples, references=True)
    detector = ToyDetector.from_pretrained(toy_path("toy-detector")).eval()
    sampler = load_config(EvalConfig, preset=EVAL_CONFIGS / "toy.yaml").sampler  # the toy evaluation's sampler
    print(f"| model | toy FID | {' | '.join(HEADS)} |\n|---|---|{'---|' * len(HEADS)}")
    for name, pipe in zip(args.models, pipes, strict=True):
        pipe.set_progress_bar_config(disable=True)
        images = generate(pipe, captions, list(range(args.samples)), sampler)
        fid = fid_kid(images, to_uint8(references))["fid"]
        distances = head_distances(detector, to_tensor(images), references)
        print(f"| {name} | {fid:.1f} | {' | '.join(f'{distances[h]:.2f}' for h in HEADS)} |")


if __name__ == "__main__":
    main()
