"""FID and KID through torch-fidelity, with toy-detector registered as the toy world's feature
extractor (its 256-d penultimate features stand in for Inception's pool3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from erase.errors import EraseError

TOY_EXTRACTOR = "toy-detector"


def _register_toy_extractor() -> None:
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    if TOY_EXTRACTOR in FEATURE_EXTRACTORS_REGISTRY:
        return

    class ToyDetectorFeatures(FeatureExtractorBase):
        def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
            from erase.hub import toy_path
            from erase.toyworld.detector import ToyDetector

            super().__init__(name, features_list)
            self.detector = ToyDetector.from_pretrained(feature_extractor_weights_path or toy_path(TOY_EXTRACTOR))

        @staticmethod
        def get_provided_features_list():
            return ("features",)

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            return "features"

        @staticmethod
        def can_be_compiled():
            return False

        @staticmethod
        def get_dummy_input_for_compile():
            return torch.zeros(1, 3, 32, 32, dtype=torch.uint8)

        def forward(self, x):
            return (self.detector.features(x.float() / 127.5 - 1.0),)

    register_feature_extractor(TOY_EXTRACTOR, ToyDetectorFeatures)


class _Images(torch.utils.data.Dataset):
    def __init__(self, images: np.ndarray):
        self.images = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.images[i]


def fid_kid(generated: np.ndarray, reference: np.ndarray, extractor: str = TOY_EXTRACTOR,
            weights: Path | None = None) -> dict[str, float]:
    """FID and KID (mean) between two (N, H, W, 3) uint8 sets; `extractor` is a torch-fidelity name
    (`toy-detector`, or `inception-v3-compat` for real images, whose weights need the internet)."""
    import torch_fidelity

    _register_toy_extractor()
    n = min(len(generated), len(reference))
    try:
        out = torch_fidelity.calculate_metrics(
            input1=_Images(generated), input2=_Images(reference), feature_extractor=extractor,
            feature_extractor_weights_path=None if weights is None else str(weights), cuda=torch.cuda.is_available(),
            fid=True, kid=True, kid_subset_size=min(1000, n), verbose=False, batch_size=256,
            save_cpu_ram=True)  # in-process data loading: worker processes only cost on small sets
    except OSError as exc:  # URLError is an OSError: Inception's weights come from the internet
        raise EraseError(f"FID feature extractor {extractor!r} could not load its weights offline ({exc}); "
                         f"use the toy world or pre-download torch-fidelity's weights") from None
    return {"fid": float(out["frechet_inception_distance"]), "kid": float(out["kernel_inception_distance_mean"])}
