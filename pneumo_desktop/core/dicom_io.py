"""Reading DICOM files into an :class:`~pneumo_desktop.core.image_basics.XrayImage`.

``imageio.read_image`` and ``imageio.read_image_for_model`` come here for any file with the
DICOM Part 10 marker; their contract holds here too: every failure is an ``ImageReadError``
whose message starts with the file name. pydicom is imported only inside the functions (its
import is slow and most sessions never see a DICOM file).

The model-input read (``reduce_to``) shrinks the raw stored values by integer block means
*before* the modality rescale, VOI LUT or window, and MONOCHROME1 inversion, which then run on
an array ``k * k`` times smaller. Rescale and inversion are linear, so they commute with the mean
exactly; a window or LUT does not, but differs only in the few blocks that straddle its ends,
and the final resize averages those further (tests/core/test_fast_decode.py bounds it).
"""

from __future__ import annotations

import warnings

import numpy as np

from .errors import ImageReadError
from .image_basics import (
    XrayImage, block_mean, block_mean_fast, check_size, int_or_none, min_max, reduction_factor, rgb_to_gray,
)

__all__ = ["read_dicom"]

_DICOM_INFO_KEYS = ("Modality", "BodyPartExamined", "ViewPosition", "PhotometricInterpretation", "PatientID")

_PYDICOM_MODULES = r"pydicom(\.|$)"


def _quiet_pydicom() -> None:
    """pydicom warns (on stderr) about quirks it repairs, such as excess padding or a VR it
    guessed. Our reader turns every real problem into a clear ImageReadError, so those notes
    would only look like internal errors next to our own messages. A process-wide filter
    (``warnings.catch_warnings`` is not safe across the decode threads), added only when it is
    not there already: adding one resets Python's warning caches, and a caller's own
    ``catch_warnings`` block may have removed an earlier one."""
    for action, _, category, module, _ in warnings.filters:
        if action == "ignore" and category is UserWarning and module is not None \
                and module.pattern == _PYDICOM_MODULES:
            return
    warnings.filterwarnings("ignore", category=UserWarning, module=_PYDICOM_MODULES)


def read_dicom(path, name: str, reduce_to: int | None = None) -> XrayImage:
    """Read a DICOM file (``name``: the file's name, for messages).

    ``reduce_to``: the model's input side; the film is then shrunk by
    ``reduction_factor(cols, rows, reduce_to)`` (see ``XrayImage.reduction``). None reads it at
    full resolution.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    _quiet_pydicom()

    try:
        # Deferring large values keeps PixelData on disk until the header has been checked.
        ds = pydicom.dcmread(str(path), force=True, defer_size="256 KB")
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        text = str(exc).lower()
        reason = "truncated" if ("end of file" in text or "eof" in text or isinstance(exc, EOFError)) else "unreadable"
        raise ImageReadError(
            path, reason, f"{name} has a DICOM marker but its header cannot be parsed ({exc})"
        ) from None

    ts_name = _ensure_transfer_syntax(ds)

    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        raise ImageReadError(
            path,
            "unsupported_format",
            f"{name} is a DICOM file without pixel data (the PixelData element is missing: it is a "
            f"non-image object such as a report or presentation state, or the file is cut short)",
        )

    rows = int_or_none(ds.get("Rows"))
    cols = int_or_none(ds.get("Columns"))
    if not rows or not cols:
        raise ImageReadError(
            path,
            "unsupported_format",
            f"{name} is a DICOM file whose image size is missing (no Rows/Columns elements)",
        )
    check_size(path, name, cols, rows)

    arr = _decode_dicom_pixels(ds, path, name, ts_name)
    if arr.ndim not in (2, 3):
        raise ImageReadError(
            path, "unsupported_format", f"{name} has DICOM pixel data of an unexpected shape {arr.shape}"
        )
    height, width = arr.shape[:2]
    if (width, height) != (cols, rows):
        check_size(path, name, width, height)
    k = reduction_factor(width, height, reduce_to)
    reduced = False

    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2") or "MONOCHROME2").strip().upper()
    colourfulness = 0.0
    fast = None
    if k > 1 and arr.ndim == 2 and photometric != "PALETTE COLOR":
        fast = _reduced_gray(arr, ds, k, invert=photometric == "MONOCHROME1")
    if fast is not None:
        pixels, reduced = fast, True
    elif photometric == "PALETTE COLOR" and arr.ndim == 2:
        from pydicom.pixels import apply_color_lut

        rgb = apply_color_lut(arr, ds)
        full = float(np.iinfo(rgb.dtype).max) if np.issubdtype(rgb.dtype, np.integer) else float(rgb.max() or 1)
        pixels, colourfulness = rgb_to_gray(rgb, full)
    elif arr.ndim == 3 and arr.shape[-1] >= 3:
        # pydicom has already converted YBR_* to RGB (decoding with raw=False).
        bits = int_or_none(ds.get("BitsStored")) or (8 if arr.dtype.itemsize == 1 else 16)
        pixels, colourfulness = rgb_to_gray(arr[..., :3], float(2**bits - 1))
    elif arr.ndim == 2:
        pixels = _dicom_gray(arr, ds)
        if photometric == "MONOCHROME1":
            pixels = 1.0 - pixels
    else:
        raise ImageReadError(
            path, "unsupported_format", f"{name} has DICOM pixel data of an unexpected shape {arr.shape}"
        )

    if not reduced:
        pixels = block_mean(pixels, k)  # the rarer kinds: converted at full size, then reduced
    pixels = np.ascontiguousarray(pixels, dtype=np.float32)

    bits_allocated = int_or_none(ds.get("BitsAllocated")) or 16
    return XrayImage(
        pixels=pixels,
        path=str(path),
        source_format="DICOM",
        original_size=(int(width), int(height)),
        colourfulness=colourfulness,
        bit_depth=8 if bits_allocated <= 8 else 16,
        dicom_info=_dicom_info(ds),
        reduction=k,
    )


# Stored-value ranges up to this many levels get a lookup table (16-bit data: 256 kB).
_MAX_TABLE = 1 << 17


def _reduced_gray(arr: np.ndarray, ds, k: int, invert: bool) -> np.ndarray | None:
    """Grayscale stored integers (H, W) -> float32 ``[0, 1]`` reduced by ``k``, with the values
    a full-resolution read would give, block-averaged. None when ``arr`` is not suited (float or
    very wide-ranged data): the caller then converts at full size and reduces after.

    Modality LUT / rescale, VOI LUT / window, scaling and MONOCHROME1 inversion depend only on
    the stored value, so ``_dicom_gray`` is run once per stored level between the data's min and
    max (a table of at most 65,536 entries; its min and max are the data's, so even the scale of
    an image without VOI information is the full-size one). Then:

    * When the table is affine between two clipped ends (no VOI, or a LINEAR window, with a
      linear rescale: nearly every film), the stored integers are clipped to those ends, block
      averaged in integers and mapped through the affine part: the float work runs on the
      small array. Exact, except that in a block holding both clipped and unclipped pixels a
      clipped one can count up to one stored level off (1 / window width of the range).
    * Otherwise (VOI LUT sequence, SIGMOID window, modality LUT) each pixel is looked up in
      the table at full size and the result block-averaged: exact, and still far cheaper than
      windowing in float64 at full size.
    """
    if not np.issubdtype(arr.dtype, np.integer) or arr.size == 0:
        return None
    lo, hi = int(arr.min()), int(arr.max())
    if hi - lo >= _MAX_TABLE:
        return None
    table = _dicom_gray(np.arange(lo, hi + 1, dtype=np.int64), ds)
    if invert:
        table = 1.0 - table
    affine = _clipped_affine(table)
    if affine is not None:
        first, last, at_first, slope = affine
        clipped = np.clip(arr, lo + first, lo + last, out=arr if arr.flags.writeable else None)
        small = block_mean_fast(clipped, k)
        out = at_first + slope * (small - (lo + first))
        return np.clip(out, 0.0, 1.0).astype(np.float32)
    if lo >= 0:
        full_table = np.empty(hi + 1, dtype=np.float32)
        full_table[lo:] = table
        full_table[:lo] = table[0]
        looked_up = full_table[arr]
    else:
        looked_up = table[arr.astype(np.int64) - lo]
    return block_mean_fast(looked_up, k).astype(np.float32)


def _clipped_affine(table: np.ndarray) -> tuple[int, int, float, float] | None:
    """``(first, last, value_at_first, slope)`` when ``table`` is constant up to index
    ``first``, constant from index ``last`` and affine in between, within one step of the affine
    part at both ends (a clip); None otherwise."""
    t = table.astype(np.float64)
    n = t.size
    if n == 1 or t[0] == t[-1] and np.all(t == t[0]):
        return 0, n - 1, float(t[0]), 0.0
    changed = np.flatnonzero(t != t[0])
    i0 = int(changed[0])  # first level after the low run
    changed = np.flatnonzero(t != t[-1])
    j0 = int(changed[-1])  # last level before the high run
    if j0 <= i0:
        return None
    slope = (t[j0] - t[i0]) / (j0 - i0)
    levels = np.arange(i0, j0 + 1)
    if np.max(np.abs(t[i0:j0 + 1] - (t[i0] + slope * (levels - i0)))) > 1e-5:
        return None
    first, last = i0 - 1 if i0 > 0 else 0, j0 + 1 if j0 < n - 1 else n - 1
    step = abs(slope) + 1e-6
    if abs(t[i0] + slope * (first - i0) - t[first]) > step or abs(t[i0] + slope * (last - i0) - t[last]) > step:
        return None
    return first, last, float(t[i0] + slope * (first - i0)), float(slope)


def _ensure_transfer_syntax(ds) -> str:
    """Make sure ``ds.file_meta`` names a transfer syntax; return its human-readable name."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    meta = getattr(ds, "file_meta", None)
    if meta is None:
        meta = FileMetaDataset()
        ds.file_meta = meta
    ts = meta.get("TransferSyntaxUID")
    if not ts:
        # Some writers omit it; the encoding the parser actually found is the best guess.
        implicit, little = getattr(ds, "original_encoding", (None, None))
        if implicit:
            ts = ImplicitVRLittleEndian
        elif little is False:
            ts = ExplicitVRBigEndian
        else:
            ts = ExplicitVRLittleEndian
        meta.TransferSyntaxUID = ts
    uid = UID(str(ts))
    return f"{uid.name} ({uid})" if uid.name and uid.name != str(uid) else str(uid)


def _decode_dicom_pixels(ds, path, name: str, ts_name: str) -> np.ndarray:
    from pydicom.pixels import get_decoder, pixel_array
    from pydicom.uid import UID

    uid = UID(str(ds.file_meta.TransferSyntaxUID))
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        raise ImageReadError(
            path,
            "unsupported_format",
            f"{name} uses the DICOM transfer syntax {ts_name}, which this program cannot decode",
        ) from None
    if not decoder.is_available:
        missing = "; ".join(decoder.missing_dependencies) or "a decoding plugin"
        raise ImageReadError(
            path,
            "unsupported_format",
            f"{name} is compressed with the DICOM transfer syntax {ts_name}, and no decoder for it "
            f"is installed (needs {missing})",
        )

    try:
        # index=0: only the first frame of a multi-frame object is decoded.
        arr = pixel_array(ds, index=0)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - decoders raise many unrelated types
        text = str(exc)
        lowered = text.lower()
        if uid.is_compressed:
            raise ImageReadError(
                path,
                "unsupported_format",
                f"{name} has pixel data compressed with the DICOM transfer syntax {ts_name} that could "
                f"not be decoded (an unsupported variant, or damaged data): {text}",
            ) from None
        if any(hint in lowered for hint in ("less than expected", "length", "truncat", "end of file", "eof")):
            raise ImageReadError(
                path, "truncated", f"{name} is truncated (the file ends before the pixel data does: {text})"
            ) from None
        raise ImageReadError(
            path, "unsupported_format", f"{name} has DICOM pixel data that cannot be decoded ({ts_name}): {text}"
        ) from None

    arr = np.asarray(arr)
    # Some decoders keep a leading frame axis of length 1 even when a single frame is asked for.
    while arr.ndim > 3 or (arr.ndim == 3 and arr.shape[0] == 1 and arr.shape[-1] not in (3, 4)):
        arr = arr[0]
    return arr


def _dicom_gray(arr: np.ndarray, ds) -> np.ndarray:
    """Modality LUT, then VOI LUT / window, then scale to float32 ``[0, 1]``.

    When a VOI LUT or window is present the result is scaled by the range that transform
    can output, not by the data's own min and max: a window wider than the data must stay
    as grey as the radiologist sees it instead of being stretched to full contrast. With no
    VOI information the data's min and max are used.
    """
    from pydicom.pixels import apply_rescale, apply_voi_lut

    try:
        values = apply_rescale(arr, ds)
    except Exception:  # noqa: BLE001 - a broken modality LUT still leaves usable stored values
        values = arr

    kind = _voi_kind(ds)
    if kind is None:
        return min_max(values)
    try:
        if kind == "lut":
            out, black, white = _apply_voi_lut_table(values, ds)
        else:
            out = np.asarray(apply_voi_lut(values, ds), dtype=np.float64)
            # Values far outside the window land on the two ends of its output range;
            # below the window is black even where a negative rescale slope makes
            # pydicom's "minimum" output the larger number.
            probe = np.array([-1e300, 1e300], dtype=np.float64)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                ends = np.asarray(apply_voi_lut(probe, ds), dtype=np.float64)
            black, white = float(ends[0]), float(ends[1])
    except Exception:  # noqa: BLE001 - bad VOI tags: show the image unwindowed rather than fail
        return min_max(values)

    if not (np.isfinite(black) and np.isfinite(white)) or black == white:
        return min_max(out)
    scaled = (out - black) / (white - black)
    return np.clip(np.nan_to_num(scaled, nan=0.0), 0.0, 1.0).astype(np.float32)


def _voi_kind(ds) -> str | None:
    """Which VOI transform applies, as pydicom's ``apply_voi_lut`` (prefer_lut=True) decides:
    "lut", "window" or None."""
    seq = ds.get("VOILUTSequence")
    if seq:
        item = seq[0]
        if item.get("LUTDescriptor") is not None and item.get("LUTData") is not None:
            return "lut"
    if ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None:
        return "window"
    return None


def _apply_voi_lut_table(values: np.ndarray, ds) -> tuple[np.ndarray, float, float]:
    """Apply the first VOI LUT Sequence item; return ``(output, lut_min, lut_max)``.

    Done here rather than with pydicom's ``apply_voi``, which (pydicom 3.0) builds its
    index array in the LUT's *output* dtype: an 8-bit LUT with more than 256 entries
    (e.g. 12-bit input, 8-bit output) then wraps its indices and returns garbage.
    """
    item = ds.VOILUTSequence[0]
    descriptor = [int(v) for v in item.LUTDescriptor]
    entries = descriptor[0] or 2**16
    first = descriptor[1]
    # PS3.3 C.11.1.1: the first-mapped value is signed when the pixel data are signed,
    # but US encoding stores it unsigned.
    if first >= 2**15 and int(ds.get("PixelRepresentation", 0) or 0) == 1:
        first -= 2**16

    data = item.LUTData
    if isinstance(data, (bytes, bytearray)):
        meta = getattr(ds, "file_meta", None)
        ts = meta.get("TransferSyntaxUID") if meta is not None else None
        big_endian = ts is not None and str(ts) == "1.2.840.10008.1.2.2"
        words = np.frombuffer(bytes(data)[: len(data) // 2 * 2], dtype=">u2" if big_endian else "<u2")
        if len(words) * 2 == entries and descriptor[2] == 8:
            # Some writers pack two 8-bit entries per 16-bit word.
            lut = np.frombuffer(bytes(data), dtype=np.uint8)
        else:
            lut = words
    else:
        lut = np.atleast_1d(np.asarray(data, dtype=np.int64))
    lut = np.asarray(lut[:entries], dtype=np.float64)
    if lut.size == 0:
        raise ValueError("empty VOI LUT")

    index = np.rint(np.asarray(values, dtype=np.float64)) - first
    index = np.clip(np.nan_to_num(index, nan=0.0), 0, lut.size - 1).astype(np.intp)
    return lut[index], float(lut.min()), float(lut.max())


def _dicom_info(ds) -> dict:
    info: dict = {}
    for key in _DICOM_INFO_KEYS:
        try:
            value = ds.get(key)
        except Exception:  # noqa: BLE001 - a malformed optional tag must not fail the read
            continue
        if value is None:
            continue
        text = str(value).strip()
        if text:
            info[key] = text
    return info
