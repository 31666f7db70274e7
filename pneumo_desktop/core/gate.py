"""The unfamiliar-image gate: say "not a chest X-ray" instead of giving a confident verdict.

Two stages, both cheap:

1. **Image statistics** on the decoded image, before the model: colour (radiographs carry no
   chroma), a blank or near-constant frame, pixel noise (neighbouring pixels of a radiograph are
   strongly correlated), a page of text (mostly bright paper with thin dark strokes), and an
   implausible aspect ratio.
2. **Feature distance**: the Mahalanobis distance of the model's pooled features to the
   training images' features. The mean and (shrunk) precision matrix are stored as tensors in
   the model file; the cut-off is a generous multiple of the validation split's 99.9th
   percentile, because real X-rays from other hospitals sit farther out than validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    import torch

MAX_COLOURFULNESS = 0.08
MIN_STD = 0.035
MAX_ROUGHNESS = 0.45
MAX_ASPECT = 2.5
FEATURE_MARGIN = 2.0


@dataclass(frozen=True)
class ImageStatistics:
    """Summary statistics of a decoded image (all floats)."""

    std: float
    median: float
    bright_fraction: float
    roughness: float
    aspect: float


def image_statistics(pixels: np.ndarray) -> ImageStatistics:
    """Statistics of float32 (H, W) in [0, 1], computed on a 256x256 resample for speed."""
    h, w = pixels.shape
    small = np.asarray(Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32), mode="F")
                       .resize((256, 256), Image.Resampling.BILINEAR), dtype=np.float32)
    std = float(small.std())
    # Roughness: mean neighbour difference relative to the spread. Smooth anatomy gives ~0.05-0.2;
    # white noise gives ~1.1.
    diff = 0.5 * (np.abs(np.diff(small, axis=0)).mean() + np.abs(np.diff(small, axis=1)).mean())
    roughness = float(diff / std) if std > 1e-6 else 0.0
    return ImageStatistics(
        std=std,
        median=float(np.median(small)),
        bright_fraction=float((small > 0.85).mean()),
        roughness=roughness,
        aspect=float(max(h, w) / max(1, min(h, w))),
    )


def check_image(pixels: np.ndarray, colourfulness: float) -> str | None:
    """None if the image could be a chest radiograph, else the reason it is not."""
    if colourfulness > MAX_COLOURFULNESS:
        return "it is a colour image (a photograph or graphic), not a radiograph"
    stats = image_statistics(pixels)
    if stats.std < MIN_STD:
        return "the image is blank or nearly uniform"
    if stats.aspect > MAX_ASPECT:
        return f"its shape ({stats.aspect:.1f}:1) is not that of a chest radiograph"
    # The page test comes first: the strokes of large print are rough enough to pass for noise.
    if stats.bright_fraction > 0.6 and stats.median > 0.85:
        return "it looks like a scanned page or document (mostly white)"
    if stats.roughness > MAX_ROUGHNESS:
        return "it looks like noise rather than anatomy"
    return None


def fit_feature_gate(train_features: np.ndarray, val_features: np.ndarray,
                     shrinkage: float = 0.1) -> tuple[dict[str, torch.Tensor], dict]:
    """Fit the feature-distance gate.

    train_features, val_features: float32 (N, F). Returns tensors ``feature_mean`` (F,) and
    ``feature_precision`` (F, F) for the model file, and metadata with the cut-off.
    """
    feats = train_features.astype(np.float64)
    mean = feats.mean(0)
    cov = np.cov(feats, rowvar=False)
    # Shrink towards a scaled identity so the inverse is stable with few images.
    cov = (1 - shrinkage) * cov + shrinkage * np.trace(cov) / cov.shape[0] * np.eye(cov.shape[0])
    precision = np.linalg.inv(cov)
    import torch

    tensors = {"feature_mean": torch.tensor(mean, dtype=torch.float32),
               "feature_precision": torch.tensor(precision, dtype=torch.float32)}
    val_d = mahalanobis(val_features, tensors)
    q = float(np.quantile(val_d, 0.999))
    meta = {"feature_dim": int(feats.shape[1]), "val_distance_q999": q,
            "distance_threshold": q * FEATURE_MARGIN, "margin": FEATURE_MARGIN}
    return tensors, meta


def mahalanobis(features: np.ndarray, gate_tensors: dict[str, torch.Tensor]) -> np.ndarray:
    """Distances float64 (N,) of features (N, F) to the stored training distribution."""
    mean = gate_tensors["feature_mean"].double().numpy()
    precision = gate_tensors["feature_precision"].double().numpy()
    d = features.astype(np.float64) - mean
    return np.sqrt(np.maximum(np.einsum("nf,fg,ng->n", d, precision, d), 0.0))


def check_features(features: np.ndarray, gate_tensors: dict[str, torch.Tensor], gate_meta: dict | None) -> list[str | None]:
    """Per row of features (N, F): None if familiar, else a reason."""
    if not gate_tensors or not gate_meta:
        return [None] * len(features)
    distances = mahalanobis(features, gate_tensors)
    cut = float(gate_meta["distance_threshold"])
    return [None if d <= cut else
            f"it does not resemble the chest X-rays the model was trained on (distance {d:.0f}, limit {cut:.0f})"
            for d in distances]
