"""What a model's toy FID says: how far the figure can be trusted, and which attributes the model draws
differently when it grows (README, "Where the presets stand").

    python scripts/toy_fid.py --concept nudity toy-sd runs/RUN_A/model runs/RUN_B/model

Each model draws 1024 samples from held-out captions without the erased concept's scenes; the first 256 are the
evaluation's. Two tables:
- Spread. The evaluation's toy FID compares 256 samples with 256 renders in the toy detector's 256-d feature
  space, where an estimate from so few samples lies far above the distance it estimates. Beside it: each
  256-sample chunk against 8192 renders (the references' own noise gone: how much one model's FID moves with the
  scenes it is asked for), and FID-infinity (Chong & Forsyth, "Effectively Unbiased FID and Inception Score and
  where to find them", CVPR 2020): FID against the 8192 renders on random subsets of 256 to 1024 samples, fitted
  with a line in 1/n and read at 1/n = 0. The first row is the world itself: the captions' own renders.
- Heads. For each toy-detector head, the total-variation distance between the detector's class distribution on
  the evaluation's 256 samples and on its 256 references (persons' heads over the images it sees a person in): 0,
  the same distribution; 1, disjoint.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from diffusers import StableDiffusionPipeline
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

from erase.concepts import get
from erase.config import load_config
from erase.diffusion.run import EVAL_CONFIGS
from erase.errors import EraseError
from erase.eval.evaluate import EvalConfig, fid_scenes
from erase.eval.sampling import generate
from erase.hub import load_pretrained, toy_path
from erase.toyworld.data import to_tensor
from erase.toyworld.detector import ToyDetector
from erase.toyworld.world import HEADS, PERSON_HEADS

EVALUATED = 256  # the evaluation's fid_samples
SUBSET_SIZES = (256, 384, 512, 640, 768, 896, 1024)


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


@torch.no_grad()
def features(detector: ToyDetector, images: torch.Tensor) -> torch.Tensor:
    """Toy FID's features ((N, 256), float64) of (N, 3, H, W) images in [-1, 1], as torch-fidelity's extractor
    computes them."""
    return torch.cat([detector.features(chunk) for chunk in images.split(512)]).double()


def fid(feats: torch.Tensor, reference: dict[str, np.ndarray]) -> float:
    """FID of a feature set against reference statistics (torch-fidelity's mean, covariance and distance)."""
    return float(fid_statistics_to_metric(fid_features_to_statistics(feats), reference, False)
                 ["frechet_inception_distance"])


def fid_infinity(feats: torch.Tensor, reference: dict[str, np.ndarray], sizes: tuple[int, ...] = SUBSET_SIZES,
                 draws: int = 5, seed: int = 0) -> float:
    """FID at n = infinity: the mean FID of `draws` random subsets of each size (the whole set once, at its own
    size), fitted with a line in 1/n, read at 1/n = 0."""
    rng = np.random.default_rng(seed)
    means = [np.mean([fid(feats[rng.choice(len(feats), n, replace=False)], reference)
                      for _ in range(1 if n == len(feats) else draws)]) for n in sizes]
    return float(np.polyfit(1 / np.asarray(sizes), means, 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="toy-sd, or diffusers folders (a run's model/)")
    parser.add_argument("--concept", required=True, help="the erased concept, whose scenes the toy FID leaves out")
    parser.add_argument("--references", type=int, default=8192, help="renders behind the chunks and FID-infinity")
    args = parser.parse_args()
    try:
        concept = get(args.concept)
        pipes = [load_pretrained(StableDiffusionPipeline, m) for m in args.models]
    except EraseError as exc:
        parser.exit(2, f"error: {exc}\n")
    n = SUBSET_SIZES[-1]
    captions, world = fid_scenes(concept, n)
    _, references = fid_scenes(concept, args.references, references=True)  # the first 256: the evaluation's
    detector = ToyDetector.from_pretrained(toy_path("toy-detector")).eval()
    reference_features = features(detector, references)
    reference = fid_features_to_statistics(reference_features)
    evaluated_reference = fid_features_to_statistics(reference_features[:EVALUATED])  # the evaluation's references
    sampler = load_config(EvalConfig, preset=EVAL_CONFIGS / "toy.yaml").sampler  # the toy evaluation's sampler
    spread, heads = [], []
    for name, pipe in [("renders (the world itself)", None), *zip(args.models, pipes, strict=True)]:
        if pipe is None:
            images = world
        else:
            pipe.set_progress_bar_config(disable=True)
            images = to_tensor(generate(pipe, captions, list(range(n)), sampler))
        feats = features(detector, images)
        evaluated = fid(feats[:EVALUATED], evaluated_reference)
        chunks = " / ".join(f"{fid(part, reference):.0f}" for part in feats.split(EVALUATED))
        spread.append(f"| {name} | {evaluated:.1f} | {chunks} | {fid_infinity(feats, reference):.1f} |")
        distances = head_distances(detector, images[:EVALUATED], references[:EVALUATED])
        heads.append(f"| {name} | {evaluated:.1f} | {' | '.join(f'{distances[h]:.2f}' for h in HEADS)} |")
    print(f"| model | toy FID ({EVALUATED} vs {EVALUATED}) | {EVALUATED}-sample chunks vs {args.references} | "
          f"FID-infinity |\n|---|---|---|---|", *spread, "", f"| model | toy FID | {' | '.join(HEADS)} |",
          f"|---|---|{'---|' * len(HEADS)}", *heads, sep="\n")


if __name__ == "__main__":
    main()
