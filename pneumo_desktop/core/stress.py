"""Stress validation: one-sided acquisition changes applied to the validation normals.

The plain validation split saturates (every recipe scores AUC 0.99+), so it cannot say which
recipe will hold up when the acquisition changes. Here each change in ``STRESSES`` is applied
to the *normal* images only, the way a batch of normals from another exposure, detector or
framing would differ, and the model is scored as usual. A model that reads the change as
disease loses specificity and AUC. Abnormal images are left as they are, so the figure
measures what the change does to the normal class alone.

Works on raw (resized, not yet equalised) uint8 images: the change happens at acquisition, and
equalisation follows as at prediction time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator

import numpy as np
import torch
import torch.nn.functional as F

from .metrics import rank_auc
from .generators import drive
from .batch_transforms import equalise_batch, gaussian_blur_batch


def _zoom(x: torch.Tensor, factor: float) -> torch.Tensor:
    """factor > 1 magnifies (a tighter field of view); < 1 shows more around the chest."""
    theta = torch.tensor([[1 / factor, 0.0, 0.0], [0.0, 1 / factor, 0.0]], dtype=x.dtype).expand(len(x), 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    a = math.radians(degrees)
    theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]],
                         dtype=x.dtype).expand(len(x), 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _haze(x: torch.Tensor, weight: float) -> torch.Tensor:
    """Blend with a heavy blur (sigma 8 px at 150 px, scaled with the side): local contrast drops."""
    sigma = torch.full((len(x),), 8.0 * x.shape[-1] / 150.0)
    return (1 - weight) * x + weight * gaussian_blur_batch(x, sigma)


def _lower_resolution(x: torch.Tensor, factor: int) -> torch.Tensor:
    side = x.shape[-1]
    small = F.interpolate(x, size=max(1, side // factor), mode="area")
    return F.interpolate(small, size=side, mode="bilinear", align_corners=False)


def _noise(x: torch.Tensor, std: float) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)  # fixed, so the figure is repeatable
    return x + std * torch.randn(x.shape, generator=generator)


#: name -> change on float32 (B, 1, S, S) in [0, 1]; the result is clipped to [0, 1].
STRESSES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "zoom 0.8": lambda x: _zoom(x, 0.8),
    "zoom 1.2": lambda x: _zoom(x, 1.2),
    "haze 0.5": lambda x: _haze(x, 0.5),
    "haze 0.8": lambda x: _haze(x, 0.8),
    "3x lower resolution": lambda x: _lower_resolution(x, 3),
    "noise 0.04": lambda x: _noise(x, 0.04),
    "gamma 1.5": lambda x: x.clamp(1e-6, 1.0) ** 1.5,
    "gamma 0.6": lambda x: x.clamp(1e-6, 1.0) ** 0.6,
    "rotation 10": lambda x: _rotate(x, 10.0),
}


def apply_stress(raw_u8: np.ndarray | torch.Tensor, name: str, equalise: str) -> np.ndarray:
    """uint8 (N, S, S) raw images -> uint8 (N, S, S) changed by ``STRESSES[name]``, then equalised."""
    x = torch.as_tensor(raw_u8).to(torch.float32).unsqueeze(1) / 255.0
    changed = STRESSES[name](x).clamp(0.0, 1.0)
    return equalise_batch(torch.round(changed.squeeze(1) * 255.0).to(torch.uint8), equalise).numpy()


def iter_stress_metrics(classifier, raw_u8: np.ndarray | torch.Tensor, is_abnormal: np.ndarray,
                        batch: int = 256) -> Generator[str, None, dict]:
    """``stress_metrics`` as a generator: yields each change's name before scoring it, and
    returns the result. Training drives it, so that closing the training generator takes effect
    between changes (an ensemble with many views spends minutes here)."""
    raw = torch.as_tensor(raw_u8)
    is_abnormal = np.asarray(is_abnormal, dtype=bool)
    normal_rows = torch.from_numpy(~is_abnormal)
    equalise = classifier.preprocessing.equalise

    def score(images: np.ndarray) -> np.ndarray:
        if len(images) == 0:
            return np.zeros(0, dtype=np.float64)
        probs = np.concatenate([classifier.predict_batch(images[i:i + batch])[0]
                                for i in range(0, len(images), batch)], 0)
        return classifier.prob_abnormal(probs)

    # The abnormal images never change, so they are scored once; each change re-scores only the
    # normals (a quarter of the work for this split; an ensemble with many views spent most of
    # its post-training time here).
    plain_p_abnormal = score(equalise_batch(raw, equalise).numpy())
    changes: dict[str, dict] = {}
    for name in STRESSES:
        yield name
        p_abnormal = plain_p_abnormal.copy()
        if normal_rows.any():
            p_abnormal[~is_abnormal] = score(apply_stress(raw[normal_rows], name, equalise))
        called = p_abnormal >= classifier.threshold
        specificity = float(1.0 - called[~is_abnormal].mean()) if (~is_abnormal).any() else None
        changes[name] = {"auc": rank_auc(p_abnormal, is_abnormal), "specificity": specificity}
    aucs = [c["auc"] for c in changes.values() if c["auc"] is not None]
    specs = [c["specificity"] for c in changes.values() if c["specificity"] is not None]
    return {
        "changes": changes,
        "mean_auc": float(np.mean(aucs)) if aucs else None,
        "mean_specificity": float(np.mean(specs)) if specs else None,
    }


def stress_metrics(classifier, raw_u8: np.ndarray | torch.Tensor, is_abnormal: np.ndarray,
                   batch: int = 256) -> dict:
    """Score ``classifier`` on validation images with each stress applied to the normals.

    raw_u8: uint8 (N, S, S) at the model's input size, not equalised. is_abnormal: bool (N,).
    Returns ``{"changes": {name: {"auc", "specificity"}}, "mean_auc", "mean_specificity"}``;
    specificity is at the classifier's stored threshold, AUC in [0, 1].
    """
    return drive(iter_stress_metrics(classifier, raw_u8, is_abnormal, batch))
