"""Reading chest X-ray files (PNG, JPEG, BMP, TIFF, DICOM, ...) into one normalised form.

Every reader here returns an :class:`XrayImage` whose ``pixels`` are a float32 array of
shape ``(H, W)`` with values in ``[0, 1]``, where 0 is black as a radiologist would see the
image (DICOM MONOCHROME1 already inverted, the DICOM window / VOI LUT already applied).

Every failure is raised as :class:`~pneumo_desktop.core.errors.ImageReadError` with a
machine-readable ``reason`` and a message meant for a person that starts with the file name.
No other exception type leaves :func:`read_image`.

This module never imports Qt, and imports pydicom only when a DICOM file is actually read
(pydicom's import is slow and most sessions may never see a DICOM file).
"""

from __future__ import annotations

import os
import stat
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pneumo_desktop.core.errors import ImageReadError

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "XrayImage",
    "is_dicom_file",
    "list_input_files",
    "read_image",
]

MIN_SIDE = 64
"""Images with a side shorter than this many pixels are refused (reason ``too_small``)."""

MAX_PIXELS = 100_000_000
"""Images whose header claims more pixels than this are refused before decoding (``too_large``)."""

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm", ".dicom"})
"""File name suffixes (lower case) that usually hold an image this module can read."""

# Pillow's own bomb guard runs inside Image.open, before our size check sees the header.
# Aligning it with our limit means Pillow refuses (raises) above 2 * MAX_PIXELS at open time
# and only warns in between, where our own check then refuses before any decoding happens.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

# Only the plugins for formats an X-ray plausibly arrives in are tried. Pillow's weaker
# plugins (TGA, XBM, PPM, ...) accept some random bytes or text files as images, and every
# extra decoder is extra attack surface for files from unknown sources.
# (MPO needs no entry: Pillow's JPEG opener returns MPO images itself.)
_WANTED_PILLOW_FORMATS = ("PNG", "JPEG", "BMP", "DIB", "TIFF", "GIF", "WEBP", "JPEG2000")
_pillow_formats_cache: tuple[str, ...] | None = None

# Pillow reports some camera JPEGs as MPO (multi-picture JPEG); to a person it is a JPEG.
_FORMAT_NAMES = {"MPO": "JPEG", "DIB": "BMP", "JPEG2000": "JPEG 2000"}

# Magic numbers used only to word the error for a file that looks like an image but whose
# header Pillow could not parse (most often a file cut short during a copy or download).
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"GIF8", "GIF"),
)

# ITU-R BT.601 luma weights.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

_DICOM_INFO_KEYS = ("Modality", "BodyPartExamined", "ViewPosition", "PhotometricInterpretation", "PatientID")


@dataclass(frozen=True)
class XrayImage:
    """One decoded X-ray image.

    Attributes:
        pixels: float32 array, shape ``(H, W)``, values in ``[0, 1]``; 0 is black as a
            radiologist would view the image (MONOCHROME1 inverted, VOI / window applied).
        path: the path the image was read from, as a string.
        source_format: "PNG", "JPEG", "BMP", "TIFF", "DICOM", "GIF", "WEBP", ...
        original_size: ``(width, height)`` as stored in the file, after the EXIF
            orientation has been applied; always equal to ``pixels.shape[::-1]``.
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
    """

    pixels: np.ndarray
    path: str
    source_format: str
    original_size: tuple[int, int]
    colourfulness: float
    bit_depth: int
    dicom_info: dict | None


# --------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------


def is_dicom_file(path: str | os.PathLike) -> bool:
    """Return True when the file holds the DICOM Part 10 marker ``b"DICM"`` at byte 128.

    Decided by content only, so it works for extension-less files (as DICOM files often
    are) and rejects a ``.dcm`` file that is really something else. Returns False for
    anything that cannot be opened or read (missing file, directory, permission error).
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except (OSError, ValueError):
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def read_image(path: str | os.PathLike) -> XrayImage:
    """Read one image file into an :class:`XrayImage`.

    Returns:
        An ``XrayImage`` whose ``pixels`` are float32, shape ``(H, W)``, range ``[0, 1]``.

    Raises:
        ImageReadError: for every failure, and nothing else. ``reason`` is one of
            ``missing``, ``not_a_file``, ``unreadable``, ``empty``, ``truncated``
            (the file ends early or its image data is damaged), ``not_an_image``,
            ``too_small`` (a side under ``MIN_SIDE``), ``too_large`` (over ``MAX_PIXELS``,
            refused before decoding), ``unsupported_format`` (e.g. a DICOM without pixel
            data or compressed with a codec that is not installed).
    """
    name = _display_name(path)
    try:
        _check_regular_file(path, name)
        if is_dicom_file(path):
            return _read_dicom(path, name)
        return _read_with_pillow(path, name)
    except ImageReadError:
        raise
    except MemoryError:
        raise ImageReadError(
            path, "too_large", f"{name} is too large to decode with the memory available"
        ) from None
    except PermissionError as exc:
        raise ImageReadError(
            path, "unreadable", f"{name} cannot be opened: permission denied ({exc.strerror or exc})"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - the contract is "only ImageReadError escapes"
        raise ImageReadError(
            path, "unreadable", f"{name} could not be read: {type(exc).__name__}: {exc}"
        ) from exc


def list_input_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files and folders given by a person into the list of files to process.

    * A path that is not a folder is kept as given, even if it does not exist, is hidden
      or is not an image, so that the caller produces an error record for it instead of
      silently dropping something the person asked for.
    * A folder is expanded recursively. Every regular file inside is returned, images or
      not: a non-image later becomes a visible error record rather than vanishing.
      The one exception is hidden entries: files and folders whose name starts with
      ``"."`` (``.DS_Store``, ``.git``, ``._foo.png`` resource forks, ...) are skipped,
      because they are system or tool metadata a person did not mean to submit.
    * Symbolic links to folders are followed, but each real folder is visited only once,
      so link cycles cannot loop forever.
    * Within a folder the result is sorted by path components (a folder's files and
      sub-folders interleaved in name order), so the output is deterministic.
    * A sub-folder that cannot be listed (permission denied) is returned itself, so it
      too becomes an error record (``not_a_file``) rather than disappearing.
    * Duplicates (the same path reached twice) are kept only at their first position.

    Returns:
        A list of :class:`pathlib.Path`, built by joining the given paths with the names
        found (not resolved to absolute paths).
    """
    result: list[Path] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        if p not in seen:
            seen.add(p)
            result.append(p)

    for raw in paths:
        given = Path(raw)
        if given.is_dir():
            for found in _walk_folder(given):
                add(found)
        else:
            add(given)
    return result


# --------------------------------------------------------------------------------------
# file checks shared by all formats
# --------------------------------------------------------------------------------------


def _display_name(path) -> str:
    try:
        p = Path(path)
    except TypeError:
        return str(path)
    return p.name or str(p)


def _check_regular_file(path, name: str) -> None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise ImageReadError(path, "missing", f"{name} does not exist (the file was not found)") from None
    except PermissionError as exc:
        raise ImageReadError(
            path, "unreadable", f"{name} cannot be opened: permission denied ({exc.strerror or exc})"
        ) from exc
    except (OSError, ValueError) as exc:
        raise ImageReadError(path, "unreadable", f"{name} cannot be opened: {exc}") from exc

    if stat.S_ISDIR(st.st_mode):
        raise ImageReadError(path, "not_a_file", f"{name} is a folder, not an image file")
    # Opening a FIFO or device would block or stream forever, so only regular files pass.
    if not stat.S_ISREG(st.st_mode):
        raise ImageReadError(path, "not_a_file", f"{name} is not a regular file (a device, pipe or socket)")
    if st.st_size == 0:
        raise ImageReadError(path, "empty", f"{name} is empty (0 bytes)")

    # stat() succeeds on files we may not read; find that out now to give the right reason.
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except PermissionError as exc:
        raise ImageReadError(
            path, "unreadable", f"{name} cannot be opened: permission denied ({exc.strerror or exc})"
        ) from exc
    except OSError as exc:
        raise ImageReadError(path, "unreadable", f"{name} cannot be opened: {exc}") from exc


def _check_size(path, name: str, width: int, height: int) -> None:
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


def _looks_like(path) -> str | None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    for magic, fmt in _SIGNATURES:
        if head.startswith(magic):
            return fmt
    return None


# --------------------------------------------------------------------------------------
# Pillow formats
# --------------------------------------------------------------------------------------


def _pillow_formats() -> tuple[str, ...]:
    """The wanted formats this Pillow build can open (an unknown name makes open() fail)."""
    global _pillow_formats_cache
    if _pillow_formats_cache is None:
        Image.init()
        _pillow_formats_cache = tuple(f for f in _WANTED_PILLOW_FORMATS if f in Image.OPEN)
    return _pillow_formats_cache


def _read_with_pillow(path, name: str) -> XrayImage:
    try:
        im = Image.open(path, formats=_pillow_formats())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(
            path,
            "too_large",
            f"{name} is too large (its header claims more than {MAX_PIXELS / 1e6:.0f} megapixels): {exc}",
        ) from None
    except UnidentifiedImageError:
        raise _unidentified(path, name) from None
    except (OSError, SyntaxError, EOFError, ValueError) as exc:
        # Pillow raises these while parsing a header that stops early or is damaged.
        raise _decode_failure(path, name, exc, _looks_like(path) or "image") from None

    with im:
        fmt = _FORMAT_NAMES.get(im.format or "", im.format or "image")
        width, height = im.size
        _check_size(path, name, width, height)
        bit_depth = _pillow_bit_depth(im)

        try:
            im.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageReadError(path, "too_large", f"{name} is too large to decode safely: {exc}") from None
        except (OSError, SyntaxError, EOFError, ValueError, IndexError) as exc:
            raise _decode_failure(path, name, exc, fmt) from None

        try:
            oriented = ImageOps.exif_transpose(im)
        except Exception:  # noqa: BLE001 - damaged EXIF must not cost us an intact image
            oriented = im

        pixels, colourfulness = _pillow_to_gray(oriented, path, name)

    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    h, w = pixels.shape
    return XrayImage(
        pixels=pixels,
        path=str(path),
        source_format=fmt,
        original_size=(int(w), int(h)),
        colourfulness=colourfulness,
        bit_depth=bit_depth,
        dicom_info=None,
    )


def _unidentified(path, name: str) -> ImageReadError:
    looks = _looks_like(path)
    if looks is not None:
        return ImageReadError(
            path,
            "truncated",
            f"{name} is truncated or damaged (it starts like a {looks} image but its header cannot be read)",
        )
    if Path(str(path)).suffix.lower() in {".dcm", ".dicom"}:
        return ImageReadError(
            path,
            "not_an_image",
            f"{name} is not a readable image (it has a DICOM extension but no DICOM header: "
            f"the 'DICM' marker at byte 128 is missing)",
        )
    return ImageReadError(
        path,
        "not_an_image",
        f"{name} is not an image (its content is not PNG, JPEG, BMP, TIFF, GIF, WebP or DICOM)",
    )


def _decode_failure(path, name: str, exc: BaseException, fmt: str) -> ImageReadError:
    text = str(exc)
    lowered = text.lower()
    if "truncat" in lowered or "eof" in lowered or "end of file" in lowered or isinstance(exc, EOFError):
        detail = "the file ends before the image data does"
    else:
        detail = f"the {fmt} image data is damaged or incomplete: {text}"
    return ImageReadError(path, "truncated", f"{name} is truncated ({detail})")


def _pillow_bit_depth(im: Image.Image) -> int:
    if im.mode.startswith("I") or im.mode == "F":
        return 16
    if im.format not in ("PNG", "TIFF"):
        return 8
    # Pillow decodes 16-bit RGB PNG/TIFF to 8-bit RGB; the raw mode in the tile still
    # tells us what the file stored. (Only for these formats: BMP's "BGR;16" is 5-6-5.)
    for tile in getattr(im, "tile", None) or ():
        args = tile[3] if len(tile) > 3 else None
        rawmode = args[0] if isinstance(args, tuple) and args else args
        if isinstance(rawmode, str) and "16" in rawmode:
            return 16
    return 8


def _pillow_to_gray(im: Image.Image, path, name: str) -> tuple[np.ndarray, float]:
    """Return ``(gray float32 (H, W) in [0, 1], colourfulness)`` for a loaded Pillow image."""
    mode = im.mode

    if mode == "1":
        return np.asarray(im, dtype=np.float32), 0.0
    if mode == "L":
        return np.asarray(im, dtype=np.float32) / 255.0, 0.0
    if mode in ("LA", "La"):
        return np.asarray(im.getchannel(0), dtype=np.float32) / 255.0, 0.0
    if mode.startswith("I;16"):
        # Pillow hands back native or byte-swapped uint16; astype handles both orders.
        return np.asarray(im).astype(np.float32) / 65535.0, 0.0
    if mode == "I":
        arr = np.asarray(im).astype(np.float64)
        if arr.size and arr.min() >= 0 and arr.max() <= 65535:
            # 16-bit data that Pillow widened to 32-bit: keep its real 16-bit scale.
            return (arr / 65535.0).astype(np.float32), 0.0
        return _min_max(arr), 0.0
    if mode == "F":
        arr = np.asarray(im).astype(np.float64)
        finite = arr[np.isfinite(arr)]
        if finite.size and finite.min() >= 0.0 and finite.max() <= 1.0:
            # Already a [0, 1] intensity image; stretching it would change its contrast.
            return np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0).astype(np.float32), 0.0
        return _min_max(arr), 0.0

    if mode in ("RGB", "RGBA", "RGBX"):
        # Alpha is ignored on purpose: X-ray exports with an alpha channel keep the image
        # in RGB, and compositing would darken it wherever the exporter left alpha at 0.
        rgb = np.asarray(im)[..., :3]
    else:
        # P, PA, CMYK, YCbCr, LAB, HSV, RGBa, ...: let Pillow produce 8-bit RGB.
        try:
            rgb = np.asarray(im.convert("RGB"))
        except (ValueError, OSError) as exc:
            raise ImageReadError(
                path, "unsupported_format", f"{name} uses an unsupported pixel mode ({mode}): {exc}"
            ) from None
    return _rgb_to_gray(rgb, 255.0)


def _rgb_to_gray(rgb: np.ndarray, full_scale: float) -> tuple[np.ndarray, float]:
    """``rgb``: (H, W, 3) integer or float array in ``[0, full_scale]``."""
    # One copy into contiguous planes: every later pass then reads memory with unit stride.
    r, g, b = np.ascontiguousarray(np.moveaxis(rgb[..., :3], -1, 0))
    # Element-wise max/min of the three planes: several times faster than reducing over the
    # last axis of length 3, and decoding is the hot path of a batch. Same values either way.
    chroma = np.maximum(np.maximum(r, g), b)
    chroma = chroma - np.minimum(np.minimum(r, g), b)  # never negative, so no unsigned wrap-around
    colourfulness = float(chroma.mean(dtype=np.float64) / full_scale) if chroma.size else 0.0
    gray = np.zeros(rgb.shape[:2], dtype=np.float32)
    # Channel by channel keeps the float temporaries to one (H, W) plane at a time.
    for c, plane in enumerate((r, g, b)):
        gray += plane.astype(np.float32) * _LUMA[c]
    gray /= np.float32(full_scale)
    np.clip(gray, 0.0, 1.0, out=gray)
    return gray, min(max(colourfulness, 0.0), 1.0)


def _min_max(arr: np.ndarray) -> np.ndarray:
    """Scale to float32 ``[0, 1]`` by the finite min and max; a flat image becomes all 0."""
    arr = np.asarray(arr, dtype=np.float64)
    finite = np.isfinite(arr)
    if not finite.any():
        return np.zeros(arr.shape, dtype=np.float32)
    lo = float(arr[finite].min())
    hi = float(arr[finite].max())
    if hi <= lo:
        return np.zeros(arr.shape, dtype=np.float32)
    out = (np.where(finite, arr, lo) - lo) / (hi - lo)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


# --------------------------------------------------------------------------------------
# DICOM
# --------------------------------------------------------------------------------------


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


def _read_dicom(path, name: str) -> XrayImage:
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

    rows = _int_or_none(ds.get("Rows"))
    cols = _int_or_none(ds.get("Columns"))
    if not rows or not cols:
        raise ImageReadError(
            path,
            "unsupported_format",
            f"{name} is a DICOM file whose image size is missing (no Rows/Columns elements)",
        )
    _check_size(path, name, cols, rows)

    arr = _decode_dicom_pixels(ds, path, name, ts_name)

    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2") or "MONOCHROME2").strip().upper()
    colourfulness = 0.0
    if photometric == "PALETTE COLOR" and arr.ndim == 2:
        from pydicom.pixels import apply_color_lut

        rgb = apply_color_lut(arr, ds)
        full = float(np.iinfo(rgb.dtype).max) if np.issubdtype(rgb.dtype, np.integer) else float(rgb.max() or 1)
        pixels, colourfulness = _rgb_to_gray(rgb, full)
    elif arr.ndim == 3 and arr.shape[-1] >= 3:
        # pydicom has already converted YBR_* to RGB (decoding with raw=False).
        bits = _int_or_none(ds.get("BitsStored")) or (8 if arr.dtype.itemsize == 1 else 16)
        pixels, colourfulness = _rgb_to_gray(arr[..., :3], float(2**bits - 1))
    elif arr.ndim == 2:
        pixels = _dicom_gray(arr, ds)
        if photometric == "MONOCHROME1":
            pixels = 1.0 - pixels
    else:
        raise ImageReadError(
            path, "unsupported_format", f"{name} has DICOM pixel data of an unexpected shape {arr.shape}"
        )

    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    h, w = pixels.shape
    if (w, h) != (cols, rows):
        _check_size(path, name, w, h)

    bits_allocated = _int_or_none(ds.get("BitsAllocated")) or 16
    return XrayImage(
        pixels=pixels,
        path=str(path),
        source_format="DICOM",
        original_size=(int(w), int(h)),
        colourfulness=colourfulness,
        bit_depth=8 if bits_allocated <= 8 else 16,
        dicom_info=_dicom_info(ds),
    )


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
        return _min_max(values)
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
        return _min_max(values)

    if not (np.isfinite(black) and np.isfinite(white)) or black == white:
        return _min_max(out)
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


def _int_or_none(value) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------
# folder walking
# --------------------------------------------------------------------------------------


def _walk_folder(root: Path) -> list[Path]:
    found: list[Path] = []
    visited: set[str] = set()

    def visit(folder: Path) -> None:
        try:
            real = os.path.realpath(folder)
        except OSError:
            real = str(folder)
        if real in visited:
            return
        visited.add(real)
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            # Its contents cannot be listed; returning the folder itself still gives the
            # person an error record instead of files vanishing without a trace.
            found.append(folder)
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    visit(folder / entry.name)
                    continue
                is_file = entry.is_file(follow_symlinks=True)
                is_link = entry.is_symlink()
            except OSError:
                is_file, is_link = False, False
            # A dangling link is kept so that it shows up as a "missing" error record.
            if is_file or is_link:
                found.append(folder / entry.name)

    visit(root)
    found.sort(key=lambda p: p.relative_to(root).parts)
    return found
