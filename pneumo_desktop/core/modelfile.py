"""Model files: safetensors weights plus JSON metadata, loaded without executing anything.

A model file is data. It is parsed by our own header check and by safetensors (which reads raw
little-endian tensors and a JSON header; it has no code path that unpickles). Pickles and
``torch.save`` archives are recognised and refused with a reason; nothing in them is run.
Saves are atomic: the bytes go to a temporary file in the target folder, are flushed to disk,
and then renamed over the destination, so a crash never leaves a half-written model.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from typing import TYPE_CHECKING

from .atomic import write_bytes_atomic
from .errors import ModelFileError

if TYPE_CHECKING:
    import torch

FORMAT_NAME = "pneumo-desktop-model"
FORMAT_VERSION = 1
MAX_MODEL_BYTES = 256 * 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024 * 1024
MODEL_SUFFIX = ".pneumo"
# The chest X-ray detector (core/detector.py) reads a thumbnail of this side; part of the format.
DETECTOR_INPUT_SIZE = 64
REQUIRED_KEYS = {
    "format": str, "format_version": int, "name": str, "created": str, "architecture": dict,
    "classes": list, "normal_class": str, "preprocessing": dict, "tta_shifts": list,
    "threshold": float, "temperature": float, "training": dict,
}


def save_model_file(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict) -> dict:
    """Write ``tensors`` and ``metadata`` (JSON-serialisable) to ``path`` atomically.

    The metadata written is ``provenance.scrub_metadata`` of ``metadata``: no folder or absolute
    path of this machine reaches a file, whoever filled the metadata in. The tensors are written
    as given. ``metadata`` itself is not modified; returns the metadata as written.
    """
    from safetensors.torch import save

    from .provenance import scrub_metadata

    metadata = scrub_metadata(dict(metadata, format=FORMAT_NAME, format_version=FORMAT_VERSION))
    validate_metadata(metadata)
    blob = save({k: v.detach().contiguous().cpu() for k, v in tensors.items()},
                metadata={"pneumo_desktop": json.dumps(metadata, sort_keys=True)})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, blob)
    return metadata


def _describe_foreign(head: bytes) -> str | None:
    if head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5:
        return "it is a Python pickle, which is never loaded because unpickling can run code"
    if head[:2] == b"PK":
        return "it is a zip archive (a torch.save file?); those hold pickles and are never loaded"
    return None


def _checked_size(path: Path) -> int:
    name = path.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ModelFileError(f"model file not found: {path}") from None
    except OSError as exc:
        raise ModelFileError(f"cannot open model file {name}: {exc.strerror or exc}") from None
    if path.is_dir():
        raise ModelFileError(f"{name} is a folder, not a model file")
    if size > MAX_MODEL_BYTES:
        raise ModelFileError(f"{name} is {size / 2**20:.0f} MB; model files larger than "
                             f"{MAX_MODEL_BYTES // 2**20} MB are refused")
    if size < 8:
        raise ModelFileError(f"{name} is empty or truncated ({size} bytes)")
    return size


def _parse_header(data: bytes, size: int, name: str) -> dict:
    """Metadata from the first bytes of a file of ``size`` bytes (``data`` holds at least the
    header). Raises ModelFileError for foreign, truncated or metadata-less files."""
    foreign = _describe_foreign(data[:2])
    if foreign:
        raise ModelFileError(f"{name} is not a PneumoDesktop model file: {foreign}")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > MAX_HEADER_BYTES or 8 + header_len > size or 8 + header_len > len(data):
        raise ModelFileError(f"{name} is not a PneumoDesktop model file, or it is truncated (bad header)")
    try:
        header = json.loads(data[8:8 + header_len])
        raw_meta = header["__metadata__"]["pneumo_desktop"]
        metadata = json.loads(raw_meta)
    except (ValueError, KeyError, TypeError):
        raise ModelFileError(f"{name} has no PneumoDesktop metadata; it is not one of our model files") from None
    validate_metadata(metadata, name)
    return metadata


def read_model_header(path: str | Path) -> dict:
    """Only the checked metadata of a model file, read without torch or the weights.

    The CLI uses it to learn the preprocessing and start decoding images while torch imports.
    Raises ModelFileError; ``read_model_file`` still checks the whole file before any use.
    """
    path = Path(path)
    size = _checked_size(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
            if len(head) == 8 and _describe_foreign(head[:2]) is None:
                (header_len,) = struct.unpack("<Q", head)
                if header_len <= MAX_HEADER_BYTES:
                    head += handle.read(header_len)
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {path.name}: {exc.strerror or exc}") from None
    return _parse_header(head, size, path.name)


def read_model_file(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Read and check a model file. Returns (tensors, metadata); raises ModelFileError."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    name = path.name
    _checked_size(path)  # refuses an oversized file before reading it
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {name}: {exc.strerror or exc}") from None
    metadata = _parse_header(data, len(data), name)
    try:
        tensors = load(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{name} is damaged or truncated: {exc}") from None
    return tensors, metadata


def validate_metadata(metadata: dict, name: str = "model") -> None:
    """Check the metadata schema; raise ModelFileError with the first problem found."""
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{name}: metadata is not an object")
    if metadata.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{name}: not a PneumoDesktop model (format {metadata.get('format')!r})")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(f"{name}: model format version {version} is not supported by this app "
                             f"(it reads version {FORMAT_VERSION}); update PneumoDesktop or retrain")
    for key, kind in REQUIRED_KEYS.items():
        value = metadata.get(key)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ModelFileError(f"{name}: metadata field {key!r} is missing or has the wrong type")
    classes = metadata["classes"]
    if len(classes) < 2 or not all(isinstance(c, str) and c for c in classes) or len(set(classes)) != len(classes):
        raise ModelFileError(f"{name}: class names must be two or more distinct strings")
    if metadata["normal_class"] not in classes:
        raise ModelFileError(f"{name}: normal class {metadata['normal_class']!r} is not among the classes")
    if not 0.0 < float(metadata["threshold"]) < 1.0:
        raise ModelFileError(f"{name}: threshold must lie between 0 and 1")
    if not 0.01 <= float(metadata["temperature"]) <= 100.0:
        raise ModelFileError(f"{name}: temperature out of range")
    arch = metadata["architecture"]
    widths = arch.get("widths")
    n_members = arch.get("n_members")
    if (arch.get("type") != "ChestCNN" or not isinstance(widths, list) or len(widths) != 4
            or not all(isinstance(w, int) and 1 <= w <= 1024 for w in widths)
            or not isinstance(n_members, int) or not 1 <= n_members <= 32):
        raise ModelFileError(f"{name}: unsupported architecture {arch!r}")
    shifts = metadata["tta_shifts"]
    if not shifts or len(shifts) > 32 or not all(
        isinstance(s, list) and len(s) == 2 and all(isinstance(v, int) and abs(v) <= 32 for v in s) for s in shifts
    ):
        raise ModelFileError(f"{name}: test-time views must be 1..32 integer shifts")
    stress = metadata.get("validation_stress_metrics")
    if stress is not None and not _stress_figures_ok(stress):
        raise ModelFileError(f"{name}: the stress-validation figures are malformed")
    detector = metadata.get("detector")
    if detector is not None and not _detector_ok(detector):
        raise ModelFileError(f"{name}: the chest X-ray detector's description is malformed or unsupported")


def _fraction_or_none(value) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value <= 1.0)


def _detector_ok(detector) -> bool:
    """``detector``: ``{"input_size": 64, "widths": [4 ints], "refuse_at": (0, 1)}``, optional
    ``classes`` (2 or 3 names: frontal, not an X-ray[, lateral]), plus optional
    figures (``validation_refused`` in [0, 1], ``validation_stress_refused``: {name: [0, 1]})."""
    if not isinstance(detector, dict) or detector.get("input_size") != DETECTOR_INPUT_SIZE:
        return False
    widths = detector.get("widths")
    if not (isinstance(widths, list) and len(widths) == 4
            and all(isinstance(w, int) and not isinstance(w, bool) and 1 <= w <= 1024 for w in widths)):
        return False
    classes = detector.get("classes")
    if classes is not None and not (isinstance(classes, list) and 2 <= len(classes) <= 3
                                    and all(isinstance(c, str) and 0 < len(c) <= 64 for c in classes)):
        return False
    refuse_at = detector.get("refuse_at")
    if not (isinstance(refuse_at, (int, float)) and not isinstance(refuse_at, bool) and 0.0 < refuse_at < 1.0):
        return False
    stress = detector.get("validation_stress_refused", {})
    if not (isinstance(stress, dict) and len(stress) <= 64
            and all(isinstance(k, str) and 0 < len(k) <= 64 and _fraction_or_none(v) for k, v in stress.items())):
        return False
    return _fraction_or_none(detector.get("validation_refused"))


def _stress_figures_ok(stress) -> bool:
    """``validation_stress_metrics``: ``{"changes": {name: {"auc", "specificity"}}, "mean_auc",
    "mean_specificity"}`` with every figure in [0, 1] or null, at most 64 named changes."""
    if not isinstance(stress, dict) or not isinstance(stress.get("changes"), dict) or len(stress["changes"]) > 64:
        return False
    for change, figures in stress["changes"].items():
        if not (isinstance(change, str) and 0 < len(change) <= 64 and isinstance(figures, dict)
                and _fraction_or_none(figures.get("auc")) and _fraction_or_none(figures.get("specificity"))):
            return False
    return _fraction_or_none(stress.get("mean_auc")) and _fraction_or_none(stress.get("mean_specificity"))
