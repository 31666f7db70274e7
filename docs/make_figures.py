"""Render the README's figures from the recorded evaluation reports in ``docs/runs/``.

    python docs/make_figures.py

Reads the JSON reports written once per adopted model by
``pneumo-desktop evaluate <test> --model <file> --json --record`` (no model is run here, and
nothing is re-evaluated) and writes ``docs/figures/test_calibration.png``: a reliability diagram
and the confusion matrix at the stored threshold for the shipped default (E15) and ensemble (E16)
models on the official test split.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))
from pneumo_desktop.figures import draw_confusion, draw_reliability  # noqa: E402

REPORTS = (
    ("default.pneumo (E15)", DOCS / "runs" / "e15_test.json", "#0072B2"),
    ("ensemble.pneumo (E16)", DOCS / "runs" / "e16_test.json", "#D55E00"),
)


def main() -> int:
    reports = [(name, json.loads(path.read_text()), colour) for name, path, colour in REPORTS]
    figure = Figure(figsize=(12, 4), dpi=110, layout="constrained")
    axes = figure.subplots(1, 3, width_ratios=[1.25, 1, 1])
    ax = axes[0]
    for i, (name, report, colour) in enumerate(reports):
        draw_reliability(ax, report["reliability"], label=f"{name}: ECE {report['ece']:.3f}", colour=colour,
                         draw_diagonal=i == 0)
    ax.set_xlabel("Predicted probability of pneumonia (10 bins)")
    ax.set_ylabel("Observed fraction with pneumonia")
    ax.set_title("Calibration on the official test split (624 images)")
    ax.legend(loc="upper left", fontsize=8)
    for ax, (name, report, _) in zip(axes[1:], reports):
        draw_confusion(ax, report["confusion_matrix"], report["classes"])
        ax.set_title(f"{name}\naccuracy {report['accuracy']:.3f}, threshold {report['threshold']:.3f}")
    out = DOCS / "figures" / "test_calibration.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
