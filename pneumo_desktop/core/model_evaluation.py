"""Evaluate a model on a labelled folder, as a generator with progress (used by CLI and GUI).

Every file counts: an image the model refuses (``unsupported``) or cannot read (``error``)
counts as a wrong answer, so the unfamiliar-image gate can never raise accuracy.

A model with finer abnormal classes than the images' labels (NORMAL / BACTERIA / VIRUS on a
NORMAL / PNEUMONIA folder) is scored in the labels' classes: every abnormal answer counts as
the one abnormal label, and the report says so in ``class_mapping``. Only where every file name
tells the subtype (``person1_bacteria_1.jpeg``) is a NORMAL / PNEUMONIA folder read as three
classes instead.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .classifier import Classifier
from .dataset import scan_labelled_folder, subtype_table
from .errors import DatasetError
from .predict import predict_files


@dataclass
class EvaluationProgress:
    done: int
    total: int


@dataclass
class EvaluationResult:
    """report: evaluate_arrays' dict (plus ``class_mapping`` where classes were merged). Arrays
    (N,): true_index int64 and pred_index int64 (-1 = refused), both indices into
    ``report["classes"]`` (the model's classes unless merged); prob_abnormal float64 in [0, 1]
    (NaN = refused); paths list[str]."""

    report: dict
    paths: list[str]
    true_index: np.ndarray
    pred_index: np.ndarray
    prob_abnormal: np.ndarray


def class_scheme_for(classifier: Classifier, data_dir: str | Path) -> str:
    """'subtype' when a NORMAL/BACTERIA/VIRUS model meets a folder with a PNEUMONIA class, whose
    file names may tell the subtype (``evaluate_folder`` checks that they all do), else 'folders'."""
    root = Path(data_dir)
    folders = {p.name for p in root.iterdir() if p.is_dir()} if root.is_dir() else set()
    if set(classifier.classes) == {"NORMAL", "BACTERIA", "VIRUS"} and "PNEUMONIA" in folders:
        return "subtype"
    return "folders"


def collapse_mapping(model_classes: list[str], normal_class: str, data_classes) -> dict[str, str] | None:
    """How a model's abnormal classes map onto coarser image labels, or None when they need not.

    A model with ``normal_class`` plus two or more abnormal classes, meeting images labelled
    ``normal_class`` plus exactly one other class that the model does not have (NORMAL /
    BACTERIA / VIRUS against NORMAL / PNEUMONIA), gets ``{abnormal class: that label}`` for
    every abnormal class. Any other combination returns None (images labelled with a subset of
    the model's classes need no mapping; anything else cannot be mapped).
    """
    labels = set(data_classes)
    abnormal = [c for c in model_classes if c != normal_class]
    others = labels - {normal_class}
    if normal_class not in labels or len(others) != 1 or len(abnormal) < 2:
        return None
    (target,) = others
    if target in model_classes:
        return None
    return {c: target for c in abnormal}


def evaluate_paths(classifier: Classifier, paths: list[str], labels: list[str], threshold: float | None = None,
                   n_bootstrap: int = 1000, seed: int = 0
                   ) -> Generator[EvaluationProgress | EvaluationResult, None, None]:
    """Evaluate an explicit list of labelled files (e.g. a validation split).

    ``labels`` are the model's classes, or (see ``collapse_mapping``) its normal class plus one
    coarser abnormal label: the report is then in the labels' classes (sorted by name), an
    answer of any abnormal class counts as that label, P(abnormal) stays 1 - P(normal) and the
    threshold the model's (or ``threshold``); ``report["class_mapping"]`` records the merge.

    Yields EvaluationProgress per image, then one EvaluationResult. Raises DatasetError for an
    empty list or labels the model does not know.
    """
    from .metrics import evaluate_arrays

    normal_class = classifier.classes[classifier.normal_index]
    unknown = sorted(set(labels) - set(classifier.classes))
    mapping = collapse_mapping(classifier.classes, normal_class, labels) if unknown else None
    if unknown and mapping is None:
        raise DatasetError(f"the images have classes the model does not know: {', '.join(unknown)} "
                           f"(model classes: {', '.join(classifier.classes)})")
    # Sorted names, as a model trained on these labels would have them (NORMAL, PNEUMONIA).
    classes = list(classifier.classes) if mapping is None else sorted(set(labels))
    merged = mapping or {}
    paths = [str(p) for p in paths]
    if not paths:
        raise DatasetError("there are no images to evaluate")
    true_index = np.array([classes.index(v) for v in labels], dtype=np.int64)
    pred_index = np.full(len(paths), -1, dtype=np.int64)
    prob = np.full(len(paths), np.nan)
    t = classifier.threshold if threshold is None else float(threshold)
    for i, record in enumerate(predict_files(classifier, paths, threshold=t)):
        if record.status == "ok":
            pred_index[i] = classes.index(merged.get(record.label, record.label))
            prob[i] = record.probability
        yield EvaluationProgress(i + 1, len(paths))
    report = evaluate_arrays(true_index, pred_index, prob, classes, t, classes.index(normal_class),
                             n_bootstrap=n_bootstrap, seed=seed)
    if mapping is not None:
        report["class_mapping"] = dict(mapping)
    yield EvaluationResult(report, paths, true_index, pred_index, prob)


def evaluate_folder(classifier: Classifier, data_dir: str | Path, threshold: float | None = None,
                    n_bootstrap: int = 1000, subtypes_from_names: bool = True
                    ) -> Generator[EvaluationProgress | EvaluationResult, None, None]:
    """Yield EvaluationProgress per image, then one EvaluationResult. Raises DatasetError.

    A NORMAL/BACTERIA/VIRUS model on a NORMAL/PNEUMONIA folder is scored in three classes when
    every pneumonia file name says ``bacteria`` or ``virus``, else in the folder's two classes
    (see ``evaluate_paths``). ``subtypes_from_names=False`` always takes the folder's classes:
    two models compared on the same images then answer the same question.
    """
    table = scan_labelled_folder(data_dir, split="eval")
    if subtypes_from_names and class_scheme_for(classifier, data_dir) == "subtype":
        try:
            table = subtype_table(table)
        except DatasetError:
            pass  # some names do not tell the subtype: the folder's own two classes are used
    yield from evaluate_paths(classifier, table["path"].tolist(), table["label"].tolist(), threshold, n_bootstrap)


def run_evaluation(classifier: Classifier, data_dir: str | Path, threshold: float | None = None) -> EvaluationResult:
    """Blocking convenience wrapper around ``evaluate_folder``."""
    result = None
    for item in evaluate_folder(classifier, data_dir, threshold):
        if isinstance(item, EvaluationResult):
            result = item
    assert result is not None
    return result
