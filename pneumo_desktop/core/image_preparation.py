"""Turning a decoded X-ray into the model's uint8 input, without torch.

This is the part of preprocessing that runs while torch is still importing (the CLI decodes
and prepares images in threads during that second or two), so it uses only numpy and Pillow.
``preprocess`` re-exports everything here next to the batched torch versions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

EQUALISE_MODES = ("none", "hist", "clahe")
# A wider hidden frame would reach into the lungs of a normally framed chest radiograph.
MAX_BORDER_MASK = 0.3


@dataclass(frozen=True)
class Preprocessing:
    """How raw pixels become model input. Stored in every model file."""

    input_size: int = 150
    equalise: str = "hist"
    mean: float = 0.5
    std: float = 0.25
    # Fraction of each side hidden from the network (set to the input mean, after
    # normalisation): a frame of this width holds shoulders, arms, neck, abdomen, collimation
    # edges and burnt-in labels, which tell the classes apart on the training split through the
    # child's size and the framing rather than the lungs (experiments/border_signal.py measures it).
    # 0 hides nothing. Older model files have no such field and read as 0.
    border_mask: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def border_mask_px(self) -> int:
        """Width in pixels of the hidden frame at the model's input size (0 when off)."""
        return round(self.border_mask * self.input_size)

    @classmethod
    def from_dict(cls, data: dict) -> "Preprocessing":
        prep = cls(
            input_size=int(data["input_size"]),
            equalise=str(data["equalise"]),
            mean=float(data["mean"]),
            std=float(data["std"]),
            border_mask=float(data.get("border_mask", 0.0)),
        )
        if prep.equalise not in EQUALISE_MODES:
            raise ValueError(f"unknown equalisation {prep.equalise!r}")
        if not 32 <= prep.input_size <= 1024 or prep.std <= 0:
            raise ValueError("input size or normalisation out of range")
        if not 0.0 <= prep.border_mask <= MAX_BORDER_MASK:
            raise ValueError(f"the hidden border must be between 0 and {MAX_BORDER_MASK} of the side")
        return prep


def equalise_histogram(image_u8: np.ndarray) -> np.ndarray:
    """Global histogram equalisation. uint8 (H, W) -> uint8 (H, W), full 0..255 range.

    Equalisation is invariant to any monotonic change of exposure or gamma, which is exactly how
    the official test split's acquisition differs from the training split's.
    """
    hist = np.bincount(image_u8.ravel(), minlength=256).astype(np.float64)
    cdf = np.cumsum(hist)
    first = cdf[np.flatnonzero(hist)[0]]
    total = cdf[-1]
    if total <= first:  # a constant image has nothing to equalise
        return image_u8.copy()
    lut = np.clip(np.round((cdf - first) / (total - first) * 255.0), 0, 255).astype(np.uint8)
    return lut[image_u8]


def clahe(image_u8: np.ndarray, tiles: int = 8, clip_limit: float = 2.0) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation. uint8 (H, W) -> uint8 (H, W).

    Each of ``tiles x tiles`` regions gets its own clipped-histogram mapping; a pixel's value is
    the bilinear blend of the mappings of the four nearest tile centres, so there are no seams.
    """
    h, w = image_u8.shape
    ty = np.linspace(0, h, tiles + 1).astype(int)
    tx = np.linspace(0, w, tiles + 1).astype(int)
    luts = np.empty((tiles, tiles, 256), dtype=np.float32)
    for i in range(tiles):
        for j in range(tiles):
            tile = image_u8[ty[i]:ty[i + 1], tx[j]:tx[j + 1]]
            hist = np.bincount(tile.ravel(), minlength=256).astype(np.float64)
            limit = max(1.0, clip_limit * tile.size / 256.0)
            excess = np.maximum(hist - limit, 0).sum()
            hist = np.minimum(hist, limit) + excess / 256.0
            cdf = np.cumsum(hist)
            luts[i, j] = cdf / cdf[-1] * 255.0
    # Fractional tile coordinates of every pixel, relative to tile centres.
    cy = (np.arange(h) + 0.5) / (h / tiles) - 0.5
    cx = (np.arange(w) + 0.5) / (w / tiles) - 0.5
    y0 = np.clip(np.floor(cy).astype(int), 0, tiles - 1)
    x0 = np.clip(np.floor(cx).astype(int), 0, tiles - 1)
    y1 = np.clip(y0 + 1, 0, tiles - 1)
    x1 = np.clip(x0 + 1, 0, tiles - 1)
    fy = np.clip(cy - y0, 0, 1)[:, None]
    fx = np.clip(cx - x0, 0, 1)[None, :]
    v = image_u8
    top = luts[y0[:, None], x0[None, :], v] * (1 - fx) + luts[y0[:, None], x1[None, :], v] * fx
    bottom = luts[y1[:, None], x0[None, :], v] * (1 - fx) + luts[y1[:, None], x1[None, :], v] * fx
    out = top * (1 - fy) + bottom * fy
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def resize_to_u8(pixels: np.ndarray, size: int, box: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """float32 (H, W) in [0, 1] -> uint8 (size, size) with Pillow's antialiased bilinear filter.

    ``box``: the region of ``pixels`` to resize, in (fractional) pixel coordinates; None for
    all of it. A block-reduced film passes its ``XrayImage.model_box``.
    """
    src = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32), mode="F")
    resized = np.asarray(src.resize((size, size), Image.Resampling.BILINEAR, box=box), dtype=np.float32)
    return np.clip(np.round(resized * 255.0), 0, 255).astype(np.uint8)


def equalise_u8(image_u8: np.ndarray, mode: str) -> np.ndarray:
    """Apply the equalisation ``mode`` ("none", "hist", "clahe") to uint8 (H, W)."""
    if mode == "hist":
        return equalise_histogram(image_u8)
    if mode == "clahe":
        return clahe(image_u8)
    return image_u8


def prepare_image(pixels: np.ndarray, prep: Preprocessing,
                  box: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """float32 (H, W) in [0, 1] -> uint8 (S, S), resized and equalised per ``prep``.

    ``box``: as for ``resize_to_u8``.
    """
    return equalise_u8(resize_to_u8(pixels, prep.input_size, box), prep.equalise)


def prepare_xray(image, prep: Preprocessing) -> np.ndarray:
    """The model input of an ``imageio.XrayImage`` (full-size or from ``read_image_for_model``):
    uint8 (S, S), as ``prepare_image`` makes it, over the whole film."""
    return prepare_image(image.pixels, prep, image.model_box)
