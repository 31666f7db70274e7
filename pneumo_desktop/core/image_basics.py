"""What the image readers share: the decoded-image type, size limits, and pixel arithmetic.

``imageio`` (Pillow formats, file checks) and ``dicom_io`` (DICOM) both build an
:class:`XrayImage` from what they decode. The block reduction here is what lets the model-input
read path (``imageio.read_image_for_model``) shrink a full-size film by an integer factor
*before* any float work at full resolution. numpy and Pillow; no Qt, no pydicom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .errors import ImageReadError

MIN_SIDE = 64
"""Images with a side shorter than this many pixels are refused (reason ``too_small``)."""

MAX_PIXELS = 100_000_000
"""Images whose header claims more pixels than this are refused before decoding (``too_large``)."""

MODEL_READ_MARGIN = 3
"""The model-input read path reduces a film by the largest integer factor ``k`` that keeps its
shorter side at least this many times the model's input side. The final antialiased resize then
still sees at least 3 x 3 source pixels per output pixel, where reducing first and resizing
directly agree to within a level or two of uint8 (Pillow documents a reducing gap of 3 as "in
most cases indistinguishable"; tests/core/test_fast_decode.py measures it)."""

# ITU-R BT.601 luma weights.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class XrayImage:
    """One decoded X-ray image.

    Attributes:
        pixels: float32 array, shape ``(H, W)``, values in ``[0, 1]``; 0 is black as a
            radiologist would view the image (MONOCHROME1 inverted, VOI / window applied).
        path: the path the image was read from, as a string.
        source_format: "PNG", "JPEG", "BMP", "TIFF", "DICOM", "GIF", "WEBP", ...
        original_size: ``(width, height)`` as stored in the file, after the EXIF
            orientation has been applied; equal to ``pixels.shape[::-1]`` unless the image
            was read reduced (``reduction > 1``).
        colourfulness: in ``[0, 1]``; the mean per-pixel chroma
            ``(max(R, G, B) - min(R, G, B)) / full_scale`` of the RGB data before conversion
            to gray. 0 for grayscale sources (including grayscale DICOM). Used to flag
            colour photographs.
        bit_depth: bits per sample of the source: 8 for sources of 8 bits or fewer
            (including 1-bit images), 16 for anything deeper (16-bit integers, 32-bit
            integer or float TIFF, DICOM with more than 8 bits allocated).
        dicom_info: for DICOM, a dict of plain ``str`` values for those of Modality,
            BodyPartExamined, ViewPosition, PhotometricInterpretation and PatientID
            that are present and non-empty; ``None`` for every other format.
        reduction: 1 for a full-resolution read. From ``read_image_for_model``: the integer
            factor ``k`` by which the film was shrunk; pixel ``(i, j)`` is then the mean of the
            source block ``[i*k, (i+1)*k) x [j*k, (j+1)*k)`` (blocks at the right and bottom
            edges may be partial), and ``pixels.shape == ceil(original_size[::-1] / k)``.
    """

    pixels: np.ndarray
    path: str
    source_format: str
    original_size: tuple[int, int]
    colourfulness: float
    bit_depth: int
    dicom_info: dict | None
    reduction: int = 1

    @property
    def model_box(self) -> tuple[float, float, float, float] | None:
        """The whole film as a box in ``pixels`` coordinates, for the final resize; None when
        ``reduction`` is 1. Partial edge blocks make ``pixels`` a fraction of a pixel larger
        than the film scaled by ``1 / reduction``; resizing this box keeps the geometry of a
        direct resize of the full-resolution film."""
        if self.reduction <= 1:
            return None
        w, h = self.original_size
        return (0.0, 0.0, w / self.reduction, h / self.reduction)


def reduction_factor(width: int, height: int, side: int | None) -> int:
    """The integer factor ``k >= 1`` that ``read_image_for_model`` shrinks a film by.

    The same ``k`` on both axes keeps the aspect ratio (the gate checks it), and the shorter
    side stays at least ``MODEL_READ_MARGIN * side`` pixels. 1 (no reduction) for small images.
    """
    if not side or side <= 0:
        return 1
    return max(1, int(min(width, height) // (MODEL_READ_MARGIN * int(side))))


def block_mean(arr: np.ndarray, k: int) -> np.ndarray:
    """Mean over ``k x k`` blocks of ``arr`` (H, W) or (H, W, C); returns float64
    ``(ceil(H/k), ceil(W/k)[, C])``. Partial blocks at the bottom and right edges are averaged
    over the pixels they hold. Integer input is summed exactly in integers; ``k <= 1`` returns
    ``arr`` unchanged.

    Strided adds (k passes over rows, then k over columns) instead of a reshape-and-mean: each
    pass reads memory with unit stride along rows, several times faster on a full-size film,
    and no source size has to be a multiple of ``k``.
    """
    if k <= 1:
        return arr
    h, w = arr.shape[:2]
    oh, ow = -(-h // k), -(-w // k)
    if np.issubdtype(arr.dtype, np.integer):
        small_unsigned = arr.dtype.itemsize <= 2 and not np.issubdtype(arr.dtype, np.signedinteger)
        # 65535 * k * k fits in 32 bits up to k = 256.
        acc_type = np.uint32 if small_unsigned and k <= 256 else np.int64
    else:
        acc_type = np.float64
    rows = np.zeros((oh, w) + arr.shape[2:], dtype=acc_type)
    for i in range(min(k, h)):
        part = arr[i::k]
        rows[: part.shape[0]] += part
    out = np.zeros((oh, ow) + arr.shape[2:], dtype=acc_type)
    for j in range(min(k, w)):
        part = rows[:, j::k]
        out[:, : part.shape[1]] += part
    count_r = np.minimum(k, h - k * np.arange(oh)).astype(np.float64)
    count_c = np.minimum(k, w - k * np.arange(ow)).astype(np.float64)
    counts = count_r[:, None] * count_c[None, :]
    if arr.ndim == 3:
        counts = counts[..., None]
    return out / counts


def block_mean_fast(arr: np.ndarray, k: int) -> np.ndarray:
    """``block_mean`` through Pillow's ``reduce`` (one pass in C, partial edge blocks averaged
    the same way) for 2-D native uint16 and float32 arrays; the means agree to float32
    precision. Other arrays go to ``block_mean``."""
    if k > 1 and arr.ndim == 2 and arr.dtype in (np.dtype(np.uint16), np.dtype(np.float32)) \
            and k <= min(arr.shape):
        image = Image.fromarray(np.ascontiguousarray(arr))
        if image.mode != "F":
            image = image.convert("F")
        return np.asarray(image.reduce(k)).astype(np.float64)
    return block_mean(arr, k)


def check_size(path, name: str, width: int, height: int) -> None:
    """Raise ``too_large`` over ``MAX_PIXELS`` or ``too_small`` under ``MIN_SIDE``."""
    if width * height > MAX_PIXELS:
        raise ImageReadError(
            path,
            "too_large",
            f"{name} is too large ({width} x {height} pixels = {width * height / 1e6:.0f} megapixels; "
            f"the limit is {MAX_PIXELS / 1e6:.0f} megapixels)",
        )
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageReadError(
            path,
            "too_small",
            f"{name} is too small ({width} x {height} pixels; each side must be at least {MIN_SIDE} pixels)",
        )


def _planes(rgb: np.ndarray) -> np.ndarray:
    # One copy into contiguous planes: every later pass then reads memory with unit stride.
    return np.ascontiguousarray(np.moveaxis(rgb[..., :3], -1, 0))


def _planes_colourfulness(planes: np.ndarray, full_scale: float) -> float:
    r, g, b = planes
    # Element-wise max/min of the three planes: several times faster than reducing over the
    # last axis of length 3, and decoding is the hot path of a batch. Same values either way.
    chroma = np.maximum(np.maximum(r, g), b)
    chroma = chroma - np.minimum(np.minimum(r, g), b)  # never negative, so no unsigned wrap-around
    value = float(chroma.mean(dtype=np.float64) / full_scale) if chroma.size else 0.0
    return min(max(value, 0.0), 1.0)


def _planes_luma(planes: np.ndarray, full_scale: float) -> np.ndarray:
    gray = np.zeros(planes.shape[1:], dtype=np.float32)
    # Channel by channel keeps the float temporaries to one (H, W) plane at a time.
    for c, plane in enumerate(planes):
        gray += plane.astype(np.float32) * _LUMA[c]
    gray /= np.float32(full_scale)
    np.clip(gray, 0.0, 1.0, out=gray)
    return gray


def colourfulness(rgb: np.ndarray, full_scale: float) -> float:
    """Mean chroma ``(max - min) / full_scale`` of (H, W, 3) data in ``[0, full_scale]``, in [0, 1]."""
    return _planes_colourfulness(_planes(rgb), full_scale)


def luma(rgb: np.ndarray, full_scale: float) -> np.ndarray:
    """float32 (H, W) in [0, 1]: BT.601 luma of (H, W, 3) data in ``[0, full_scale]``."""
    return _planes_luma(_planes(rgb), full_scale)


def rgb_to_gray(rgb: np.ndarray, full_scale: float) -> tuple[np.ndarray, float]:
    """``rgb``: (H, W, 3) integer or float array in ``[0, full_scale]``; returns
    ``(gray float32 (H, W) in [0, 1], colourfulness)``."""
    planes = _planes(rgb)
    return _planes_luma(planes, full_scale), _planes_colourfulness(planes, full_scale)


def min_max(arr: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Scale to float32 ``[0, 1]`` by the finite min and max; a flat image becomes all 0.

    ``lo`` and ``hi``, when given, replace the min and max (those of the full-resolution data,
    when ``arr`` is a block-reduced copy of it).
    """
    arr = np.asarray(arr, dtype=np.float64)
    finite = np.isfinite(arr)
    if not finite.any():
        return np.zeros(arr.shape, dtype=np.float32)
    if lo is None or hi is None:
        lo = float(arr[finite].min())
        hi = float(arr[finite].max())
    if hi <= lo:
        return np.zeros(arr.shape, dtype=np.float32)
    out = (np.where(finite, arr, lo) - lo) / (hi - lo)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def int_or_none(value) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
