"""Labelled image folders as pandas tables, patient-grouped splits, and a decode-once cache.

A labelled folder has one sub-folder per class (``NORMAL/``, ``PNEUMONIA/`` …). With
``class_scheme="subtype"`` a two-class NORMAL/PNEUMONIA folder is read as three classes,
NORMAL / BACTERIA / VIRUS, from the ``bacteria`` / ``virus`` word in each pneumonia file name.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_path
from .errors import DatasetError, ImageReadError
from .generators import drive
from .imageio import read_image_for_model
from .batch_transforms import Preprocessing
from .image_preparation import prepare_xray

_PATIENT_PATTERN = re.compile(r"^(person\d+|NORMAL2-IM-\d+|IM-\d+)", re.IGNORECASE)
CLASS_SCHEMES = ("folders", "subtype")
TABLE_COLUMNS = ["path", "label", "patient", "sha256", "split"]


def patient_id(path: str | Path) -> str:
    """The patient prefix of a file name (``person12``, ``IM-0115``), else the file's stem."""
    stem = Path(path).stem
    match = _PATIENT_PATTERN.match(stem)
    return match.group(1) if match else stem


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _subtype_label(folder_label: str, path: Path) -> str:
    if folder_label.upper() == "NORMAL":
        return "NORMAL"
    name = path.name.lower()
    if "bacteria" in name:
        return "BACTERIA"
    if "virus" in name:
        return "VIRUS"
    raise DatasetError(
        f"{path.name}: cannot tell bacterial from viral pneumonia from the file name "
        "(expected 'bacteria' or 'virus' in it)"
    )


def subtype_table(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (from ``scan_labelled_folder`` with the ``folders`` scheme) relabelled as the
    ``subtype`` scheme would have read it: NORMAL stays, every other label becomes BACTERIA or
    VIRUS from the file name. Same rows, columns and order as that scan.

    Raises DatasetError naming the first file whose name does not tell the subtype.
    """
    out = table.copy()
    out["label"] = [_subtype_label(label, Path(path)) for path, label in zip(table["path"], table["label"])]
    return out.sort_values(["label", "path"], ignore_index=True)[TABLE_COLUMNS]


def scan_labelled_folder(root: str | Path, class_scheme: str = "folders", split: str = "train") -> pd.DataFrame:
    """Scan ``root/<CLASS>/**/<file>`` into a table.

    Returns a DataFrame with columns path (str), label (str), patient (str), sha256 (str) and
    split (str, all ``split``), sorted by label then path. Hidden files are ignored; every other
    file is listed, so a non-image surfaces later as a decode error rather than vanishing.
    Raises DatasetError for a missing folder, fewer than two classes, or an empty class.
    """
    if class_scheme not in CLASS_SCHEMES:
        raise DatasetError(f"unknown class scheme {class_scheme!r}; use one of {CLASS_SCHEMES}")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(class_dirs) < 2:
        raise DatasetError(
            f"{root}: found {len(class_dirs)} class folder(s); a labelled folder needs at least two "
            "sub-folders, one per class (for example NORMAL/ and PNEUMONIA/)"
        )
    rows = []
    for class_dir in class_dirs:
        files = sorted(
            p for p in class_dir.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(class_dir).parts)
        )
        if not files:
            raise DatasetError(f"{root}: class folder {class_dir.name}/ is empty")
        for path in files:
            label = class_dir.name if class_scheme == "folders" else _subtype_label(class_dir.name, path)
            rows.append((str(path), label, patient_id(path)))
    table = pd.DataFrame(rows, columns=["path", "label", "patient"])
    with ThreadPoolExecutor(max_workers=2) as pool:
        table["sha256"] = list(pool.map(file_sha256, table["path"]))
    table["split"] = split
    return table.sort_values(["label", "path"], ignore_index=True)[TABLE_COLUMNS]


def class_counts(table: pd.DataFrame) -> dict[str, int]:
    """Images per class, in class-name order."""
    return {str(k): int(v) for k, v in table["label"].value_counts().sort_index().items()}


def duplicate_groups(table: pd.DataFrame) -> list[list[str]]:
    """Lists of paths whose bytes are identical (same sha256), for warnings."""
    groups = table.groupby("sha256")["path"].apply(list)
    return [paths for paths in groups if len(paths) > 1]


def _group_ids(table: pd.DataFrame) -> np.ndarray:
    """A group id per row: rows sharing a patient or identical bytes share a group (union-find)."""
    parent = list(range(len(table)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for column in ("patient", "sha256"):
        first_seen: dict[str, int] = {}
        for i, key in enumerate(table[column]):
            if key in first_seen:
                a, b = find(i), find(first_seen[key])
                if a != b:
                    parent[a] = b
            else:
                first_seen[key] = i
    return np.array([find(i) for i in range(len(table))])


def grouped_split(table: pd.DataFrame, val_fraction: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """Carve a stratified validation split with no patient and no identical image on both sides.

    Groups (patients, merged with any byte-identical images) are assigned whole. Within each
    class (a group's majority label), groups are shuffled with ``seed`` and taken into
    validation until that class reaches ``val_fraction`` of its images. Returns a copy with
    ``split`` set to ``train`` or ``val``.
    """
    if not 0.0 < val_fraction < 1.0:
        raise DatasetError(f"validation fraction must be between 0 and 1, got {val_fraction}")
    out = table.copy().reset_index(drop=True)
    out["split"] = "train"
    groups = _group_ids(out)
    out["_group"] = groups
    rng = np.random.default_rng(seed)
    group_label = out.groupby("_group")["label"].agg(lambda s: s.value_counts().idxmax())
    group_size = out.groupby("_group").size()
    val_groups: list[int] = []
    for label in sorted(group_label.unique()):
        members = np.array(sorted(group_label.index[group_label == label]))
        rng.shuffle(members)
        target = val_fraction * int((out["label"] == label).sum())
        taken = 0
        for g in members:
            if taken >= target:
                break
            val_groups.append(int(g))
            taken += int(group_size[g])
    out.loc[out["_group"].isin(val_groups), "split"] = "val"
    out = out.drop(columns="_group")
    for split in ("train", "val"):
        missing = set(out["label"]) - set(out.loc[out["split"] == split, "label"])
        if missing:
            raise DatasetError(
                f"too few patients to give the {split} split every class (missing: {', '.join(sorted(missing))})"
            )
    return out


def grouped_folds(table: pd.DataFrame, k: int, seed: int = 0) -> np.ndarray:
    """Fold numbers int64 (N,) in [0, k) for cross-fitting: no patient and no identical image in
    two folds, and each class spread evenly (groups, shuffled with ``seed``, go one by one to the
    fold that holds the fewest images of their majority class so far). Raises DatasetError when
    some fold would miss a class."""
    if k < 2:
        raise DatasetError("cross-fitting needs at least two folds")
    frame = table.reset_index(drop=True)
    groups = _group_ids(frame)
    frame = frame.assign(_group=groups)
    rng = np.random.default_rng(seed)
    group_label = frame.groupby("_group")["label"].agg(lambda s: s.value_counts().idxmax())
    group_size = frame.groupby("_group").size()
    fold_of_group: dict[int, int] = {}
    for label in sorted(group_label.unique()):
        members = np.array(sorted(group_label.index[group_label == label]))
        rng.shuffle(members)
        load = np.zeros(k, dtype=np.int64)
        for g in members:
            fold = int(np.argmin(load))
            fold_of_group[int(g)] = fold
            load[fold] += int(group_size[g])
    folds = np.array([fold_of_group[int(g)] for g in groups], dtype=np.int64)
    for fold in range(k):
        missing = set(frame["label"]) - set(frame.loc[folds == fold, "label"])
        if missing:
            raise DatasetError(f"too few patients to put every class in each of {k} folds "
                               f"(missing: {', '.join(sorted(missing))})")
    return folds


def check_trainable(table: pd.DataFrame, min_per_class: int = 2) -> None:
    """Raise DatasetError unless every class has at least ``min_per_class`` images."""
    counts = class_counts(table)
    if len(counts) < 2:
        raise DatasetError("training needs at least two classes")
    small = [f"{k} ({v})" for k, v in counts.items() if v < min_per_class]
    if small:
        raise DatasetError(f"too few images to train on in: {', '.join(small)}")


def manifest_sha256(table: pd.DataFrame) -> str:
    """A digest of (label, sha256) pairs: identifies the training data independent of paths."""
    lines = sorted(f"{label}\t{sha}" for label, sha in zip(table["label"], table["sha256"]))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@dataclass
class DecodedImages:
    """Images decoded once and prepared for the model.

    images: uint8 (N, S, S); ok: bool (N,) — False where the file could not be read, in which
    case that row of ``images`` is zero and ``errors[path]`` holds the message.
    """

    images: np.ndarray
    ok: np.ndarray
    errors: dict[str, str] = field(default_factory=dict)


def _decode_one(path: str, prep: Preprocessing) -> np.ndarray:
    # The same read as prediction's decode.decode_for_model: reduced toward the input size first.
    return prepare_xray(read_image_for_model(path, prep.input_size), prep)


# Part of every cache key: bump it whenever decoding or preparation changes the pixels it makes.
# 3: films read reduced toward the input side (imageio.read_image_for_model).
DECODE_CACHE_VERSION = 3


def decode_images(
    paths: Iterable[str | Path],
    prep: Preprocessing,
    workers: int = 2,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DecodedImages:
    """Decode and prepare every path once, in parallel threads (Pillow releases the GIL).

    With ``cache_dir``, the result is stored as ``.npz`` keyed by the paths, their sizes and
    mtimes, the preprocessing and the decoder version, so a second training run on the same
    folder skips decoding. ``progress(done, total)`` is called every 64 images.
    """
    on_step = None if progress is None else (lambda step: progress(*step))
    return drive(iter_decode_images(paths, prep, workers, cache_dir), on_step)


def iter_decode_images(
    paths: Iterable[str | Path],
    prep: Preprocessing,
    workers: int = 2,
    cache_dir: str | Path | None = None,
) -> Generator[tuple[int, int], None, DecodedImages]:
    """``decode_images`` as a generator: yields (done, total) every 64 images and returns the
    DecodedImages. Closing it cancels the decodes not yet started and writes no cache."""
    paths = [str(p) for p in paths]
    # The hidden border acts on the network's input, not on decoding: leaving it out of the key
    # lets models that differ only in it share a cache (and keeps older caches valid).
    decode_fields = {k: v for k, v in prep.to_dict().items() if k != "border_mask"}
    key_source = repr((DECODE_CACHE_VERSION, decode_fields, [(p, *_stat_key(p)) for p in paths]))
    cache_file = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / f"decoded-{hashlib.sha256(key_source.encode()).hexdigest()[:24]}.npz"
        if cache_file.exists():
            try:
                with np.load(cache_file, allow_pickle=False) as data:
                    errors = dict(zip(data["error_paths"].tolist(), data["error_messages"].tolist()))
                    return DecodedImages(data["images"], data["ok"], errors)
            except (OSError, ValueError, KeyError):
                pass  # a damaged cache is rebuilt below
    size = prep.input_size
    images = np.zeros((len(paths), size, size), dtype=np.uint8)
    ok = np.zeros(len(paths), dtype=bool)
    errors: dict[str, str] = {}

    def work(i: int) -> tuple[int, np.ndarray | None, str | None]:
        try:
            return i, _decode_one(paths[i], prep), None
        except ImageReadError as exc:
            return i, None, str(exc)

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="pneumo-dataset-decode")
    try:
        for done, (i, image, error) in enumerate(pool.map(work, range(len(paths))), 1):
            if image is None:
                errors[paths[i]] = error or "unreadable"
            else:
                images[i] = image
                ok[i] = True
            if done % 64 == 0 or done == len(paths):
                yield done, len(paths)
    finally:
        # On close: drop the queued decodes, wait only for the few running ones.
        pool.shutdown(wait=True, cancel_futures=True)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        # numpy.savez appends ".npz" to a name without it, so the temporary name carries it.
        with atomic_path(cache_file, suffix=".npz") as tmp:
            np.savez(tmp, images=images, ok=ok, error_paths=np.array(list(errors), dtype=str),
                     error_messages=np.array(list(errors.values()), dtype=str))
    return DecodedImages(images, ok, errors)


def _stat_key(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
        # Nanoseconds: a file rewritten within the same second must not hit the old entry.
        return st.st_size, st.st_mtime_ns
    except OSError:
        return -1, -1
