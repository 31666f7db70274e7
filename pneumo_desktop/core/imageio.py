"""Reading chest X-ray files (PNG, JPEG, BMP, TIFF, DICOM, ...) into one normalised form.

Every reader here returns an :class:`XrayImage` whose ``pixels`` are a float32 array of
shape ``(H, W)`` with values in ``[0, 1]``, where 0 is black as a radiologist would see the
image (DICOM MONOCHROME1 already inverted, the DICOM window / VOI LUT already applied).

Every failure is raised as :class:`~pneumo_desktop.core.errors.ImageReadError` with a
machine-readable ``reason`` and a message meant for a person that starts with the file name.
No other exception type leaves :func:`read_image`.

Two entry points: :func:`read_image` decodes the whole film at full resolution (the viewer
shows all of it); :func:`read_image_for_model` is what everything that feeds the model uses
(``decode.decode_for_model`` for prediction, ``dataset`` for training): it shrinks a full-size
film by an integer block mean toward the model's input side *before* any float work at full
resolution (DICOM windowing, 16-bit scaling, colour to gray), and JPEGs are decoded at a
reduced scale to begin with.

This module never imports Qt, and imports pydicom only when a DICOM file is actually read
(pydicom's import is slow and most sessions may never see a DICOM file). DICOM reading lives
in ``dicom_io``; the image type and pixel helpers in ``image_basics``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pneumo_desktop.core.dicom_io import read_dicom
from pneumo_desktop.core.errors import ImageReadError
from pneumo_desktop.core.image_basics import (
    MAX_PIXELS,
    MIN_SIDE,
    XrayImage,
    block_mean,
    check_size,
    colourfulness,
    luma,
    min_max,
    reduction_factor,
    rgb_to_gray,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "XrayImage",
    "is_dicom_file",
    "list_input_files",
    "read_image",
    "read_image_for_model",
]

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
    """Read one image file into an :class:`XrayImage`, at full resolution.

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
    return _read(path, None)


def read_image_for_model(path: str | os.PathLike, side: int) -> XrayImage:
    """Read one image file for a model whose input is ``side`` x ``side`` pixels.

    The film is shrunk by ``k = image_basics.reduction_factor(width, height, side)`` (the
    largest integer keeping the shorter side at least ``MODEL_READ_MARGIN * side``): pixel
    ``(i, j)`` is the mean of source block ``[i*k, (i+1)*k) x [j*k, (j+1)*k)``, taken over the
    stored integers before windowing and scaling. Only DICOM and films of more than 8 bits are
    reduced: 8-bit PNG and JPEG files, and images smaller than ``MODEL_READ_MARGIN * side``, are
    read exactly as :func:`read_image` reads them.

    Returns:
        An ``XrayImage`` with ``reduction = k`` and ``original_size`` the stored size; pass
        ``model_box`` on to ``image_preparation.prepare_image`` (``prepare_xray`` does).
        The model input agrees with that of :func:`read_image` to within a level or two of
        uint8 (tests/core/test_fast_decode.py).

    Raises:
        ImageReadError: as :func:`read_image`.
    """
    return _read(path, max(1, int(side)))


def _read(path, reduce_to: int | None) -> XrayImage:
    name = _display_name(path)
    try:
        _check_regular_file(path, name)
        if is_dicom_file(path):
            return read_dicom(path, name, reduce_to)
        return _read_with_pillow(path, name, reduce_to)
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


def _read_with_pillow(path, name: str, reduce_to: int | None = None) -> XrayImage:
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
        check_size(path, name, width, height)
        bit_depth = _pillow_bit_depth(im)
        # Only films of more than 8 bits are reduced early: their float work at full size is what
        # costs. An 8-bit PNG or JPEG is read exactly as read_image reads it, so the shipped models'
        # recorded figures and bit-for-bit retraining (8-bit JPEG training data) stay as they were.
        k = reduction_factor(width, height, reduce_to) if bit_depth > 8 else 1
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale for the price of that many fewer pixels.
        scale = _jpeg_draft(im, width, height, k) if k > 1 else 1

        try:
            im.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageReadError(path, "too_large", f"{name} is too large to decode safely: {exc}") from None
        except (OSError, SyntaxError, EOFError, ValueError, IndexError) as exc:
            raise _decode_failure(path, name, exc, fmt) from None

        loaded_size = im.size
        if k > 1:
            try:
                # In place: no copy of a whole film when there is nothing to turn.
                ImageOps.exif_transpose(im, in_place=True)
            except Exception:  # noqa: BLE001 - damaged EXIF must not cost us an intact image
                pass
            oriented = im
        else:
            try:
                oriented = ImageOps.exif_transpose(im)
            except Exception:  # noqa: BLE001 - damaged EXIF must not cost us an intact image
                oriented = im
        if oriented.size != loaded_size:
            width, height = height, width  # turned a quarter: the stored size, as oriented

        step = max(1, k // scale)
        pixels, colourfulness_ = _pillow_to_gray(oriented, path, name, step)

    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    h, w = pixels.shape
    reduction = scale * step if k > 1 else 1
    return XrayImage(
        pixels=pixels,
        path=str(path),
        source_format=fmt,
        original_size=(int(width), int(height)) if reduction > 1 else (int(w), int(h)),
        colourfulness=colourfulness_,
        bit_depth=bit_depth,
        dicom_info=None,
        reduction=reduction,
    )


def _jpeg_draft(im: Image.Image, width: int, height: int, k: int) -> int:
    """Ask a JPEG decoder for its largest DCT scale (1, 2, 4 or 8) that is at most ``k``;
    return the scale set (1 for every other format, or when the decoder declines)."""
    if im.format not in ("JPEG", "MPO"):
        return 1
    try:
        drafted = im.draft(None, (-(-width // k), -(-height // k)))
    except Exception:  # noqa: BLE001 - decoding at full size is always the safe answer
        return 1
    if not drafted:
        return 1
    return max(1, round(width / drafted[1][2]))


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


def _pillow_to_gray(im: Image.Image, path, name: str, k: int = 1) -> tuple[np.ndarray, float]:
    """Return ``(gray float32 (H, W) in [0, 1], colourfulness)`` for a loaded Pillow image,
    block-reduced by ``k`` (see ``XrayImage.reduction``).

    The common modes are reduced straight from the decoded samples (8/16-bit gray inside
    Pillow, 32-bit integers and RGB as exact integer sums), before any scaling or conversion at
    full size in numpy; the scale is the one a full-resolution read uses (the full data's range
    for 32-bit integers), and colourfulness is still measured on every pixel. Rarer modes are
    converted at full size and then reduced.
    """
    if k <= 1:
        return _pillow_to_gray_full(im, path, name)
    mode = im.mode
    # 8- and 16-bit gray are reduced inside Pillow (as float32 means, partial edge blocks as
    # block_mean has them): no full-size copy out of Pillow, and one pass in C.
    if mode in ("L", "LA", "La"):
        gray = im if mode == "L" else im.getchannel(0)
        return (np.asarray(gray.convert("F").reduce(k)).astype(np.float64) / 255.0).astype(np.float32), 0.0
    if mode.startswith("I;16"):
        return (np.asarray(im.convert("F").reduce(k)).astype(np.float64) / 65535.0).astype(np.float32), 0.0
    if mode == "I":
        arr = np.asarray(im)
        lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
        small = block_mean(arr, k)
        if 0 <= lo and hi <= 65535:
            return (small / 65535.0).astype(np.float32), 0.0
        return min_max(small, float(lo), float(hi)), 0.0
    if mode in ("RGB", "RGBA", "RGBX"):
        rgb = np.asarray(im)[..., :3]
        return luma(block_mean(rgb, k), 255.0), colourfulness(rgb, 255.0)
    gray, colour = _pillow_to_gray_full(im, path, name)
    return block_mean(gray, k).astype(np.float32), colour


def _pillow_to_gray_full(im: Image.Image, path, name: str) -> tuple[np.ndarray, float]:
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
        return min_max(arr), 0.0
    if mode == "F":
        arr = np.asarray(im).astype(np.float64)
        finite = arr[np.isfinite(arr)]
        if finite.size and finite.min() >= 0.0 and finite.max() <= 1.0:
            # Already a [0, 1] intensity image; stretching it would change its contrast.
            return np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0).astype(np.float32), 0.0
        return min_max(arr), 0.0

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
    return rgb_to_gray(rgb, 255.0)


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
