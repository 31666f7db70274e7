"""Evaluate a model on a labelled folder, as a generator with progress (used by CLI and GUI).

Every file counts: an image the model refuses (``unsupported``) or cannot read (``error``)
counts as a wrong answer, so the unfamiliar-image gate can never raise accuracy.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .classifier import Classifier
from .dataset import scan_labelled_folder
from .errors import DatasetError
from .predict import predict_files


@dataclass
class EvaluationProgress:
    done: int
    total: int


@dataclass
class EvaluationResult:
    """report: evaluate_arrays' dict. Arrays (N,): true_index int64, pred_index int64 (-1 =
    refused), prob_abnormal float64 (NaN = refused); paths list[str]."""

    report: dict
    paths: list[str]
    true_index: np.ndarray
    pred_index: np.ndarray
    prob_abnormal: np.ndarray


def class_scheme_for(classifier: Classifier, data_dir: str | Path) -> str:
    """'subtype' when a NORMAL/BACTERIA/VIRUS model meets a NORMAL/PNEUMONIA folder."""
    root = Path(data_dir)
    folders = {p.name for p in root.iterdir() if p.is_dir()} if root.is_dir() else set()
    if set(classifier.classes) == {"NORMAL", "BACTERIA", "VIRUS"} and "PNEUMONIA" in folders:
        return "subtype"
    return "folders"


def evaluate_paths(classifier: Classifier, paths: list[str], labels: list[str], threshold: float | None = None,
                   n_bootstrap: int = 1000, seed: int = 0
                   ) -> Generator[EvaluationProgress | EvaluationResult, None, None]:
    """Evaluate an explicit list of labelled files (e.g. a validation split).

    Yields EvaluationProgress per image, then one EvaluationResult. Raises DatasetError for an
    empty list or labels the model does not know.
    """
    from .evaluation import evaluate_arrays

    unknown = sorted(set(labels) - set(classifier.classes))
    if unknown:
        raise DatasetError(f"the images have classes the model does not know: {', '.join(unknown)} "
                           f"(model classes: {', '.join(classifier.classes)})")
    paths = [str(p) for p in paths]
    if not paths:
        raise DatasetError("there are no images to evaluate")
    true_index = np.array([classifier.classes.index(v) for v in labels], dtype=np.int64)
    pred_index = np.full(len(paths), -1, dtype=np.int64)
    prob = np.full(len(paths), np.nan)
    t = classifier.threshold if threshold is None else float(threshold)
    for i, record in enumerate(predict_files(classifier, paths, threshold=t)):
        if record.status == "ok":
            pred_index[i] = classifier.classes.index(record.label)
            prob[i] = record.probability
        yield EvaluationProgress(i + 1, len(paths))
    report = evaluate_arrays(true_index, pred_index, prob, classifier.classes, t, classifier.normal_index,
                             n_bootstrap=n_bootstrap, seed=seed)
    yield EvaluationResult(report, paths, true_index, pred_index, prob)


def evaluate_folder(classifier: Classifier, data_dir: str | Path, threshold: float | None = None,
                    n_bootstrap: int = 1000) -> Generator[EvaluationProgress | EvaluationResult, None, None]:
    """Yield EvaluationProgress per image, then one EvaluationResult. Raises DatasetError."""
    table = scan_labelled_folder(data_dir, class_scheme=class_scheme_for(classifier, data_dir), split="eval")
    yield from evaluate_paths(classifier, table["path"].tolist(), table["label"].tolist(), threshold, n_bootstrap)


def run_evaluation(classifier: Classifier, data_dir: str | Path, threshold: float | None = None) -> EvaluationResult:
    """Blocking convenience wrapper around ``evaluate_folder``."""
    result = None
    for item in evaluate_folder(classifier, data_dir, threshold):
        if isinstance(item, EvaluationResult):
            result = item
    assert result is not None
    return result
