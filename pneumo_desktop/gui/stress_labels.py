"""Plain-language names of the stress-validation changes (``core/stress.py``), translated.

Shared by Model > Model details (the known-weaknesses table) and the training wizard's
Robustness chart, so both call a change by the same name.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

_CONTEXT = "StressLabels"

# Key in core.stress.STRESSES -> (full name for tables, short name for chart axes)
STRESS_NAMES = {
    "zoom 0.8": (QT_TRANSLATE_NOOP("StressLabels", "Zoomed out: more around the chest"),
                 QT_TRANSLATE_NOOP("StressLabels", "Zoomed out")),
    "zoom 1.2": (QT_TRANSLATE_NOOP("StressLabels", "Zoomed in: tighter framing"),
                 QT_TRANSLATE_NOOP("StressLabels", "Zoomed in")),
    "haze 0.5": (QT_TRANSLATE_NOOP("StressLabels", "Veil of haze, moderate (lower local contrast)"),
                 QT_TRANSLATE_NOOP("StressLabels", "Haze, moderate")),
    "haze 0.8": (QT_TRANSLATE_NOOP("StressLabels", "Veil of haze, strong"),
                 QT_TRANSLATE_NOOP("StressLabels", "Haze, strong")),
    "3x lower resolution": (QT_TRANSLATE_NOOP("StressLabels", "Three times lower resolution"),
                            QT_TRANSLATE_NOOP("StressLabels", "Lower resolution")),
    "noise 0.04": (QT_TRANSLATE_NOOP("StressLabels", "Detector noise"),
                   QT_TRANSLATE_NOOP("StressLabels", "Noise")),
    "gamma 1.5": (QT_TRANSLATE_NOOP("StressLabels", "Darker mid-tones"),
                  QT_TRANSLATE_NOOP("StressLabels", "Darker")),
    "gamma 0.6": (QT_TRANSLATE_NOOP("StressLabels", "Brighter mid-tones"),
                  QT_TRANSLATE_NOOP("StressLabels", "Brighter")),
    "rotation 10": (QT_TRANSLATE_NOOP("StressLabels", "Rotated by 10°"),
                    QT_TRANSLATE_NOOP("StressLabels", "Rotated")),
}


def stress_label(key: str, short: bool = False) -> str:
    """The translated name of a stress change; an unknown key (a newer file) is shown as is."""
    names = STRESS_NAMES.get(key)
    if names is None:
        return key
    return QCoreApplication.translate(_CONTEXT, names[1 if short else 0])
