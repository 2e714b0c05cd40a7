"""toy-detector: the toy world's concept detector and the feature extractor of toy FID.

A small CNN with one classification head per attribute of `world.HEADS`. Its 256-d penultimate
features play the role Inception's pool features play for real images.
"""

from __future__ import annotations

import contextlib
import io

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from erase.toyworld.world import HEADS


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1), nn.GroupNorm(8, c_out), nn.GELU(),
        nn.Conv2d(c_out, c_out, 3, padding=1), nn.GroupNorm(8, c_out), nn.GELU(),
    )


class ToyDetector(nn.Module, PyTorchModelHubMixin):
    """Multi-head attribute classifier over (N, 3, 32, 32) images in [-1, 1]."""

    def __init__(self, heads: dict[str, list[str]] | None = None, width: int = 32, feature_dim: int = 256):
        super().__init__()
        self.heads = {k: list(v) for k, v in (heads or HEADS).items()}
        self.body = nn.Sequential(
            _block(3, width), nn.AvgPool2d(2),  # 16x16
            _block(width, 2 * width), nn.AvgPool2d(2),  # 8x8
            _block(2 * width, 4 * width), nn.AvgPool2d(2),  # 4x4
            nn.Flatten(), nn.Linear(4 * width * 16, feature_dim), nn.GELU(),
        )
        self.classifiers = nn.ModuleDict({k: nn.Linear(feature_dim, len(v)) for k, v in self.heads.items()})

    @classmethod
    def from_pretrained(cls, *args, **kwargs) -> ToyDetector:
        with contextlib.redirect_stdout(io.StringIO()):  # huggingface_hub prints "Loading weights from local directory"
            return super().from_pretrained(*args, **kwargs)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, 32, 32) in [-1, 1] -> (N, feature_dim)."""
        return self.body(images)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per head: head -> (N, classes)."""
        feats = self.features(images)
        return {k: clf(feats) for k, clf in self.classifiers.items()}

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch_size: int = 256) -> dict[str, torch.Tensor]:
        """Class probabilities per head, in batches."""
        out: dict[str, list[torch.Tensor]] = {k: [] for k in self.heads}
        for chunk in images.split(batch_size):
            for k, logits in self(chunk).items():
                out[k].append(logits.softmax(-1))
        return {k: torch.cat(v) for k, v in out.items()}
