"""Heatmap colouring and blending, shared by the CLI (PNG files), the GUI and reports.

The colour scale runs black -> purple -> red -> orange -> pale yellow, so low attention fades
into the radiograph and high attention stands out; it stays readable in grayscale print.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .atomic import atomic_path

# (position, R, G, B) anchors of our own heat scale.
_ANCHORS = np.array([
    [0.00, 0, 0, 4],
    [0.25, 87, 16, 110],
    [0.50, 188, 55, 84],
    [0.75, 249, 142, 9],
    [1.00, 252, 255, 164],
], dtype=np.float64)


def heat_lut() -> np.ndarray:
    """The colour scale as uint8 (256, 3)."""
    positions = np.linspace(0, 1, 256)
    return np.stack([np.interp(positions, _ANCHORS[:, 0], _ANCHORS[:, c]) for c in (1, 2, 3)], 1).round().astype(np.uint8)


_LUT = heat_lut()


def colourise(heatmap: np.ndarray) -> np.ndarray:
    """float (H, W) in [0, 1] -> uint8 (H, W, 3) RGB on the heat scale."""
    index = np.clip(np.round(np.nan_to_num(heatmap) * 255), 0, 255).astype(np.uint8)
    return _LUT[index]


def blend(gray: np.ndarray, heatmap: np.ndarray, opacity: float = 0.45) -> np.ndarray:
    """Overlay a heatmap on a radiograph.

    gray: float (H, W) in [0, 1] or uint8 (H, W); heatmap: float (H, W) in [0, 1] (resized to
    gray's shape if needed). Opacity scales with the heat itself, so cold areas show the
    radiograph untouched. Returns uint8 (H, W, 3).
    """
    g = gray.astype(np.float32) / 255.0 if gray.dtype == np.uint8 else gray.astype(np.float32)
    if heatmap.shape != g.shape:
        heatmap = np.asarray(Image.fromarray(heatmap.astype(np.float32), mode="F")
                             .resize((g.shape[1], g.shape[0]), Image.Resampling.BILINEAR))
    colour = colourise(heatmap).astype(np.float32) / 255.0
    alpha = (opacity * np.clip(heatmap, 0, 1))[..., None]
    out = g[..., None] * (1 - alpha) + colour * alpha
    return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)


def save_overlay_png(image_path: str, heatmap: np.ndarray, out_path: str | Path, opacity: float = 0.45) -> None:
    """Write the radiograph at ``image_path`` with ``heatmap`` blended on it as a PNG."""
    from .imageio import read_image

    pixels = read_image(image_path).pixels
    overlay = Image.fromarray(blend(pixels, heatmap, opacity), mode="RGB")
    with atomic_path(out_path) as tmp:
        overlay.save(tmp, format="PNG")
