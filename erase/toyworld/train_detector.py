"""Train toy-detector: cross-entropy on every head, with augmentations that mimic generated
samples (a pixel of shift, blur, noise) so it judges a diffusion model's output as it judges renders."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from erase.runs import Run
from erase.toyworld.data import Batch
from erase.toyworld.detector import ToyDetector
from erase.toyworld.training import Schedule, train

SCHEDULE = Schedule(steps=2500, batch_size=128, lr=2e-3, weight_decay=1e-4)


def augment(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    n = images.shape[0]
    dx, dy = torch.randint(0, 3, (2,), generator=gen).tolist()
    images = F.pad(images, (1, 1, 1, 1), mode="replicate")[..., dy : dy + 32, dx : dx + 32]
    blurred = F.avg_pool2d(F.pad(images, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    amount = torch.rand(n, 1, 1, 1, generator=gen) * (torch.rand(n, 1, 1, 1, generator=gen) < 0.4)
    images = images + amount * (blurred - images)
    sigma = torch.rand(n, 1, 1, 1, generator=gen) * 0.1
    return images + sigma * torch.randn(images.shape, generator=gen)


def detector_loss(model: ToyDetector, batch: Batch, gen: torch.Generator) -> torch.Tensor:
    logits = model(augment(batch.images, gen))
    return sum(F.cross_entropy(logits[h], batch.labels[h], ignore_index=-1) for h in model.heads)


def train_detector(run: Run, schedule: Schedule = SCHEDULE) -> ToyDetector:
    torch.manual_seed(schedule.seed)
    model = ToyDetector()
    gen = torch.Generator().manual_seed(schedule.seed)

    def loss_fn(batch: Batch, step: int):
        gen.manual_seed(schedule.seed * 1_000_003 + step)
        return detector_loss(model, batch, gen), {}

    train({"detector": model}, loss_fn, schedule, run, desc="toy-detector")
    return model
