"""Shared helpers for the probes and model-file tools in ``experiments/``.

The data and model defaults, the outside-hospital manifest, the machine header and the tables
are the timing scripts' (``bench/_common.py``): this module puts ``bench/`` on ``sys.path`` and
re-exports them, so a script here needs only ``import _probe as C``. What only the probes use
lives here: rebuilding a model's own patient-grouped split from its training folder and decoding
those images as training caches them.
"""

from __future__ import annotations

import sys
from pathlib import Path

_BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"
if str(_BENCH_DIR) not in sys.path:
    sys.path.append(str(_BENCH_DIR))

from _common import (  # noqa: E402  re-exported for the scripts here
    DEFAULT_MODEL,
    DEFAULT_OUTSIDE,
    DEFAULT_TEST_DIR,
    DEFAULT_TRAIN_FULL,
    REPO_ROOT,
    add_common_args,
    emit_json,
    header,
    list_images,
    machine_info,
    model_summary,
    pin_threads,
    read_outside_manifest,
    spread,
    table,
)

__all__ = ["DEFAULT_MODEL", "DEFAULT_OUTSIDE", "DEFAULT_TEST_DIR", "DEFAULT_TRAIN_FULL", "REPO_ROOT",
           "add_common_args", "decode_raw", "emit_json", "header", "list_images", "load_validation",
           "machine_info", "model_split", "model_summary", "pin_threads", "read_outside_manifest", "spread",
           "table"]


def model_split(classifier, data_dir: str | Path, label: str):
    """The patient-grouped split ``classifier`` was trained with (a pandas table with ``path``,
    ``label`` and ``split`` columns), rebuilt from ``data_dir`` with the seed, validation fraction
    and class scheme stored in its file; None, with the reason on stderr, when the file does not
    say how it was trained or ``data_dir`` is not the folder it was trained on (its image digest
    differs). Exits with status 2 when ``data_dir`` cannot be read at all."""
    from pneumo_desktop.core.dataset import grouped_split, manifest_sha256, scan_labelled_folder
    from pneumo_desktop.core.errors import DatasetError

    config = (classifier.metadata.get("training") or {}).get("config")
    if not config:
        print(f"{label}: the file does not say how it was trained, so its split cannot be rebuilt; skipped",
              file=sys.stderr)
        return None
    # The model's own class scheme: the split is stratified by label, so it must be the same.
    try:
        table = scan_labelled_folder(data_dir, class_scheme=config.get("class_scheme", "folders"))
    except DatasetError as exc:
        print(f"cannot read the training folder {data_dir}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    stored = (classifier.metadata["training"].get("data") or {}).get("manifest_sha256")
    if stored and manifest_sha256(table) != stored:
        print(f"{label}: {data_dir} is not the folder this model was trained on (its image digest differs), "
              "so its split cannot be rebuilt; skipped", file=sys.stderr)
        return None
    return grouped_split(table, config["val_fraction"], config["seed"])


def decode_raw(classifier, paths):
    """The images at ``paths`` decoded at the model's input size, not yet equalised (as training
    caches them), through the user's decode cache. Returns ``DecodedImages``."""
    from pneumo_desktop.core.dataset import decode_images
    from pneumo_desktop.core.image_preparation import Preprocessing
    from pneumo_desktop.paths import user_cache_dir

    raw_prep = Preprocessing(input_size=classifier.preprocessing.input_size, equalise="none")
    return decode_images(paths, raw_prep, cache_dir=user_cache_dir() / "decoded")


def load_validation(path: str, data_dir: str | Path):
    """The model file at ``path`` with its own validation split rebuilt from ``data_dir``:
    (classifier, raw uint8 (N, S, S) images decoded at its input size and not yet equalised,
    is_abnormal bool (N,)), or None, with the reason on stderr, when the file cannot be loaded
    or its split cannot be rebuilt. Unreadable images are left out of both arrays."""
    from pneumo_desktop.core.classifier import Classifier
    from pneumo_desktop.core.errors import ModelFileError

    try:
        classifier = Classifier.load(path)
    except ModelFileError as exc:
        print(f"{path}: cannot load the model: {exc}; skipped", file=sys.stderr)
        return None
    split = model_split(classifier, data_dir, path)
    if split is None:
        return None
    val = split[split["split"] == "val"].reset_index(drop=True)
    decoded = decode_raw(classifier, val["path"])
    is_abnormal = (val["label"] != classifier.metadata["normal_class"]).to_numpy()[decoded.ok]
    return classifier, decoded.images[decoded.ok], is_abnormal

