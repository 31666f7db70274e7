"""The training wizard's background work as plain generators (no Qt), plus small helpers.

Each generator runs on a worker thread through :class:`~pneumo_desktop.gui.latest_job.LatestJob`
and yields small event objects that the wizard pages turn into widgets on the GUI thread. They
are tested without Qt as ``list(gen)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.dataset import check_trainable, class_counts, duplicate_groups, grouped_split, scan_labelled_folder
from ..core.errors import DatasetError
from ..core.model_evaluation import EvaluationProgress, EvaluationResult, evaluate_folder, evaluate_paths
from ..core.finetune import FineTuneConfig, LocalComparison, finetune_model
from ..core.recipes import DEFAULT
from ..core.training import TrainingConfig, train_model

SECONDS_PER_IMAGE_EPOCH = 0.01   # at 150 px with the study's widths, on a 2-core laptop CPU
SECONDS_PER_IMAGE_DECODE = 0.015  # reading and preparing one image once (then cached)
FINISHING_SECONDS = 10.0          # calibration, threshold and the unfamiliar-image check
# The chest X-ray detector: 130 s for 4,692 images x 8 epochs at 150 px on the 2-core CPU
# (docs/experiments.md, G2); a small folder still gets 24 steps of 64 images per epoch.
DETECTOR_SECONDS_PER_IMAGE_EPOCH = 0.0035
DETECTOR_MIN_IMAGES_PER_EPOCH = 24 * 64
TINY_CLASS = 20                   # fewer images than this in a class earns a warning
# The widths SECONDS_PER_IMAGE_EPOCH was measured with (the study's first networks); a
# reference for scaling the estimate, not a default of training.
TIMED_WIDTHS = (32, 64, 128, 128)
# Fine-tuning: one step of 16 films at 150 px with the shipped default's widths on the 2-core
# CPU; the finish scores each film about seven times (held-out predictions, the parent, the
# unfamiliar-image check on the films and five augmented copies).
FINETUNE_SECONDS_PER_STEP = 0.13
FINETUNE_WIDTHS = (16, 32, 64, 128)
FINETUNE_SECONDS_PER_IMAGE_FINISH = 0.02
#: Below this many films, adapting the model in use is the settings page's default.
ADAPT_BY_DEFAULT_BELOW = 1000


# ----- estimates and names ---------------------------------------------------------------------
def _conv_cost(widths: Sequence[int], input_size: int) -> float:
    channels = [1, *widths]
    return sum(channels[i] * channels[i + 1] * (input_size / 2 ** i) ** 2 for i in range(len(widths)))


def estimate_training_seconds(n_images: int, epochs: int, input_size: int = 150,
                              widths: Sequence[int] = TIMED_WIDTHS, include_one_off: bool = True,
                              detector_epochs: int = 8) -> float:
    """A rough wall-clock estimate of a training run, in seconds.

    ~0.01 s per image per epoch at 150 px with the study's widths on a 2-core CPU, scaled by
    the network's convolution cost relative to that; ``include_one_off`` adds reading every
    image once, training the chest X-ray detector (``detector_epochs``; its augmentation works
    at the model's input size) and the calibration at the end.
    """
    scale = _conv_cost(widths, input_size) / _conv_cost(TIMED_WIDTHS, 150)
    seconds = SECONDS_PER_IMAGE_EPOCH * scale * max(0, n_images) * max(0, epochs)
    if include_one_off:
        detector_images = max(DETECTOR_MIN_IMAGES_PER_EPOCH, max(0, n_images)) * max(0, detector_epochs)
        seconds += (SECONDS_PER_IMAGE_DECODE * max(0, n_images) + FINISHING_SECONDS
                    + DETECTOR_SECONDS_PER_IMAGE_EPOCH * (input_size / 150) ** 2 * detector_images)
    return seconds


@dataclass
class FineTunePlan:
    """How ``finetune_model`` will split a folder of ``n_images`` films: ``fits`` fine-tunes
    (``folds`` cross-fitting folds and a final one on every film, or one with a held-out part),
    each on about ``train_sizes[i]`` films, and ``n_held_out`` films that judge the result."""

    n_images: int
    cross_fit: bool
    folds: int
    train_sizes: list[int]
    n_held_out: int

    @property
    def fits(self) -> int:
        return len(self.train_sizes)


def finetune_plan(n_images: int, config: FineTuneConfig | None = None) -> FineTunePlan:
    """The fits ``finetune_model`` runs for ``n_images`` films (the sizes are approximate: the
    core groups folds and the validation part by patient)."""
    config = config or FineTuneConfig()
    n = max(0, int(n_images))
    if n < config.hold_out_from:
        fold_train = n - math.ceil(n / config.folds)
        return FineTunePlan(n, True, config.folds, [fold_train] * config.folds + [n], n)
    held = int(round(n * config.val_fraction))
    return FineTunePlan(n, False, config.folds, [n - held], held)


def estimate_finetune_seconds(n_images: int, config: FineTuneConfig | None = None, input_size: int = 150,
                              widths: Sequence[int] = FINETUNE_WIDTHS, members: int = 1,
                              include_one_off: bool = True) -> float:
    """A rough wall-clock estimate of ``finetune_model`` on ``n_images`` films, in seconds.

    Every fit (``finetune_plan``) runs ``epochs`` x max(``min_steps_per_epoch``,
    ceil(n_train / batch)) steps for each of the ``members``; a step of 16 films at 150 px with
    the 16-32-64-128 widths takes ~0.13 s on a 2-core CPU, scaled by the network's convolution
    cost and the batch size. ``include_one_off`` adds reading every film once and the finish
    (held-out predictions, scoring the parent, the unfamiliar-image check, calibration).
    """
    config = config or FineTuneConfig()
    plan = finetune_plan(n_images, config)
    scale = (_conv_cost(widths, input_size) / _conv_cost(FINETUNE_WIDTHS, 150)) * (config.batch_size / 16)
    steps = sum(max(config.min_steps_per_epoch, math.ceil(size / config.batch_size)) for size in plan.train_sizes)
    seconds = FINETUNE_SECONDS_PER_STEP * scale * steps * config.epochs * max(1, members)
    if include_one_off:
        n = max(0, n_images)
        seconds += (SECONDS_PER_IMAGE_DECODE * n + FINISHING_SECONDS
                    + FINETUNE_SECONDS_PER_IMAGE_FINISH * scale * 16 / config.batch_size * n * max(1, members))
    return seconds


_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def sanitise_model_name(text: str, max_length: int = 64) -> str:
    """A safe file stem from a person's model name, or '' when nothing usable is left.

    Keeps letters, digits, '-', '_', '.' and spaces (spaces become '-'); anything else becomes
    '_'; no leading dot, no path separators, no Windows device names, at most ``max_length``.
    """
    name = text.strip()
    if name.lower().endswith(".pneumo"):
        name = name[: -len(".pneumo")]
    name = re.sub(r"\s+", "-", name)
    name = re.sub(r"[^\w.\-]", "_", name, flags=re.ASCII)
    name = re.sub(r"_{2,}", "_", name)
    name = name.strip("._-")[:max_length].rstrip("._-")
    if not name or name.split(".")[0].lower() in _RESERVED:
        return ""
    return name


def default_model_name(classes: Sequence[str], when: str) -> str:
    """e.g. 'normal-pneumonia-2025-03-01-1430' (``when``: 'YYYY-MM-DD-HHMM')."""
    stem = "-".join(str(c).lower() for c in classes[:3])
    return sanitise_model_name(f"{stem}-{when}") or f"model-{when}"


# ----- step 1: scan a labelled folder ------------------------------------------------------------
@dataclass
class ScanStage:
    text: str


@dataclass
class ScanSummary:
    """What the data page shows about a labelled folder."""

    folder: str
    table: pd.DataFrame
    counts: dict[str, int]
    duplicates: list[list[str]]
    conflicts: list[list[str]]   # identical files filed under different classes
    unusable: str | None         # why training cannot use the folder, else None

    @property
    def n_images(self) -> int:
        return int(sum(self.counts.values()))

    @property
    def imbalance(self) -> float:
        values = [v for v in self.counts.values() if v > 0]
        return max(values) / min(values) if values else 1.0

    @property
    def tiny_classes(self) -> dict[str, int]:
        return {k: v for k, v in self.counts.items() if v < TINY_CLASS}


@dataclass
class ClassSamples:
    """Sample thumbnails of one class: uint8 (h, w) arrays and their file names."""

    label: str
    images: list[np.ndarray]
    names: list[str]


def _thumbnail(path: str, size: int) -> np.ndarray:
    from PIL import Image

    from ..core.imageio import read_image

    pixels = read_image(path).pixels
    image = Image.fromarray((np.clip(pixels, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8)


def sample_paths(paths: Sequence[str], k: int) -> list[str]:
    """Up to ``k`` paths spread evenly over ``paths`` (deterministic), then the rest in order."""
    n = len(paths)
    if n <= k:
        return list(paths)
    picks = [int(round(v)) for v in np.linspace(0, n - 1, k + 2)[1:-1]]
    chosen = list(dict.fromkeys(picks))
    taken = set(chosen)
    return [paths[i] for i in chosen] + [p for i, p in enumerate(paths) if i not in taken]


def scan_for_wizard(folder: str | Path, samples_per_class: int = 4,
                    thumb_size: int = 192) -> Generator[ScanStage | ScanSummary | ClassSamples, None, None]:
    """Scan ``folder`` (raises DatasetError), then read a few sample images of each class."""
    yield ScanStage("listing and fingerprinting the files")
    table = scan_labelled_folder(folder)
    counts = class_counts(table)
    groups = duplicate_groups(table)
    label_of = dict(zip(table["path"], table["label"]))
    conflicts = [g for g in groups if len({label_of[p] for p in g}) > 1]
    try:
        check_trainable(table)
        unusable = None
    except DatasetError as exc:
        unusable = str(exc)
    yield ScanSummary(str(folder), table, counts, groups, conflicts, unusable)
    for label in counts:
        paths = table.loc[table["label"] == label, "path"].tolist()
        images: list[np.ndarray] = []
        names: list[str] = []
        # A few unreadable files are skipped; training reports them properly later.
        for path in sample_paths(paths, samples_per_class)[: 3 * samples_per_class]:
            if len(images) >= samples_per_class:
                break
            try:
                images.append(_thumbnail(path, thumb_size))
                names.append(Path(path).name)
            except Exception:  # noqa: BLE001
                continue
        yield ClassSamples(label, images, names)


# ----- step 3: training -------------------------------------------------------------------------
@dataclass
class SplitReady:
    """The table with ``split`` set to train / val, before training starts."""

    table: pd.DataFrame


def training_run(table: pd.DataFrame, config: TrainingConfig, cache_dir: str | Path | None = None,
                 command: str = "", name: str = "model", recipe: str = DEFAULT.name) -> Generator:
    """Carve the patient-grouped validation split, then ``train_model``'s events. ``recipe``: the
    recipe the wizard's settings started from, recorded in the model file beside the full config."""
    split = grouped_split(table, config.val_fraction, config.seed)
    yield SplitReady(split)
    yield from train_model(split, config, cache_dir=cache_dir, command=command, name=name, recipe=recipe)


def finetune_run(table: pd.DataFrame, parent, config: FineTuneConfig, cache_dir: str | Path | None = None,
                 command: str = "", name: str | None = None) -> Generator:
    """``finetune_model``'s events: adapt ``parent`` (a Classifier) to the films of ``table``."""
    yield from finetune_model(table, parent, config, cache_dir=cache_dir, command=command, name=name)


# ----- step 4: evaluation -----------------------------------------------------------------------
@dataclass
class EvalProgress:
    which: str   # "new" or "active"
    done: int
    total: int


@dataclass
class EvalDone:
    which: str
    result: EvaluationResult


@dataclass
class EvalFailed:
    which: str
    message: str


@dataclass
class OverlapCheck:
    """Test images byte-identical to training images (a leak that inflates the test numbers)."""

    n_test: int
    overlapping: list[str] = field(default_factory=list)


def evaluation_run(new_model, active_model, test_dir: str | Path | None, val_table: pd.DataFrame | None,
                   train_table: pd.DataFrame | None = None,
                   n_bootstrap: int = 1000) -> Generator:
    """Evaluate the new model, then the active one, on the test folder or else the validation
    rows. A failure of the active model (other classes, …) is reported, not raised.

    Both models are scored in the images' own classes: an active NORMAL / BACTERIA / VIRUS model
    on NORMAL / PNEUMONIA images has its abnormal answers counted as PNEUMONIA (its report then
    carries ``class_mapping``), even where the file names tell the subtype, so that accuracy
    means the same for the two models."""
    if test_dir:
        if train_table is not None:
            test_table = scan_labelled_folder(test_dir)
            train_hashes = set(train_table["sha256"])
            overlap = [p for p, h in zip(test_table["path"], test_table["sha256"]) if h in train_hashes]
            yield OverlapCheck(len(test_table), overlap)

        def source(model):
            return evaluate_folder(model, test_dir, n_bootstrap=n_bootstrap, subtypes_from_names=False)
    else:
        if val_table is None:
            raise DatasetError("no validation split to evaluate on")
        rows = val_table[val_table["split"] == "val"]

        def source(model):
            return evaluate_paths(model, rows["path"].tolist(), rows["label"].tolist(), n_bootstrap=n_bootstrap)

    for which, model in (("new", new_model), ("active", active_model)):
        if model is None:
            continue
        try:
            for item in source(model):
                if isinstance(item, EvaluationProgress):
                    yield EvalProgress(which, item.done, item.total)
                else:
                    yield EvalDone(which, item)
        except Exception as exc:  # noqa: BLE001
            if which == "new":
                raise
            yield EvalFailed(which, str(exc) or type(exc).__name__)


def comparison_results(comparison: LocalComparison) -> dict[str, EvaluationResult]:
    """A fine-tune's ``LocalComparison`` as the evaluation page's two results: ``"new"`` (the
    adapted model) and ``"active"`` (its parent), on the same held-out local films."""
    def result(report: dict, pred: np.ndarray, prob: np.ndarray) -> EvaluationResult:
        return EvaluationResult(report, list(comparison.paths), np.asarray(comparison.true_index, dtype=np.int64),
                                np.asarray(pred, dtype=np.int64), np.asarray(prob, dtype=np.float64))

    return {"new": result(comparison.adapted_report, comparison.adapted_pred, comparison.adapted_prob),
            "active": result(comparison.parent_report, comparison.parent_pred, comparison.parent_prob)}


def binary_confusion_at(result: EvaluationResult, classes: Sequence[str], normal_index: int,
                        threshold: float) -> np.ndarray | None:
    """2 x 2 confusion matrix (rows true, columns predicted, class order) over answered images
    when ``prob >= threshold`` is called abnormal; None for models with more than two classes."""
    if len(classes) != 2:
        return None
    answered = result.pred_index >= 0
    truth = result.true_index[answered]
    called_abnormal = result.prob_abnormal[answered] >= threshold
    abnormal_index = 1 - normal_index
    predicted = np.where(called_abnormal, abnormal_index, normal_index)
    matrix = np.zeros((2, 2), dtype=np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def is_finite(value) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)
