"""Plain-language names of the evaluation metrics (``core/metrics.py`` keys), translated.

Shared by Model > Model details and the training wizard's evaluation table, so both call a
figure by the same name.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

_CONTEXT = "MetricLabels"

# Metric key -> name, in the order the tables show them.
METRIC_NAMES = {
    "n": QT_TRANSLATE_NOOP("MetricLabels", "Images"),
    "accuracy": QT_TRANSLATE_NOOP("MetricLabels", "Accuracy"),
    "recall": QT_TRANSLATE_NOOP("MetricLabels", "Sensitivity (recall)"),
    "specificity": QT_TRANSLATE_NOOP("MetricLabels", "Specificity"),
    "precision": QT_TRANSLATE_NOOP("MetricLabels", "Precision (PPV)"),
    "f1": QT_TRANSLATE_NOOP("MetricLabels", "F1 score"),
    "auc": QT_TRANSLATE_NOOP("MetricLabels", "ROC AUC"),
    "ece": QT_TRANSLATE_NOOP("MetricLabels", "Calibration error (ECE)"),
}


def metric_label(key: str) -> str:
    """The translated name of a metric; an unknown key is shown as is."""
    name = METRIC_NAMES.get(key)
    return key if name is None else QCoreApplication.translate(_CONTEXT, name)
