"""Qt-free matplotlib drawing shared by the GUI's canvases and the figures in ``docs/``.

Functions here draw on a matplotlib ``Axes`` they are given; they never create a figure or
use pyplot, so the GUI embeds them in its own canvases and ``docs/make_figures.py`` renders
them with the Agg backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def reliability_points(reliability: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-empty bins of a reliability report (``core.metrics``'s ``reliability``).

    Returns (mean predicted P(abnormal), observed fraction abnormal, image count), each float64
    or int64 of shape (B,) with B <= the number of bins; empty bins are left out.
    """
    counts = np.asarray(reliability.get("count", []), dtype=np.int64)
    keep = counts > 0
    mean_p = np.asarray([v if v is not None else np.nan for v in reliability.get("mean_predicted", [])], dtype=float)
    freq = np.asarray([v if v is not None else np.nan for v in reliability.get("observed_frequency", [])], dtype=float)
    if not (len(counts) == len(mean_p) == len(freq)):
        raise ValueError("reliability report: bins of different lengths")
    return mean_p[keep], freq[keep], counts[keep]


def draw_reliability(ax, reliability: dict, *, label: str, colour: str, fg: str = "#222222",
                     dashed: bool = False, draw_diagonal: bool = True) -> None:
    """Observed fraction abnormal against the mean predicted P(abnormal), one point per bin.

    Marker area grows with the number of images in the bin, so a point from three images does
    not look as trustworthy as one from three hundred. A perfectly calibrated model lies on the
    diagonal; points below it mean the model over-states the probability of disease.
    """
    if draw_diagonal:
        ax.plot([0, 1], [0, 1], ":", color=fg, alpha=0.5, lw=1, label="perfect calibration")
    mean_p, freq, counts = reliability_points(reliability)
    if len(counts):
        sizes = 12 + 240 * np.sqrt(counts / counts.max())
        ax.plot(mean_p, freq, "--" if dashed else "-", color=colour, lw=1.6, label=label, zorder=3)
        ax.scatter(mean_p, freq, s=sizes, color=colour, alpha=0.35 if dashed else 0.55, edgecolors=colour,
                   linewidths=1.0, zorder=4)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_aspect("equal")
    ax.grid(True, alpha=0.25)


def draw_confusion(ax, matrix: Sequence[Sequence[int]], classes: Sequence[str], *, cmap="Blues",
                   value_fontsize: float | None = None, label_fontsize: float | None = None,
                   xlabel: str = "Predicted", ylabel: str = "True") -> np.ndarray:
    """Counts with row percentages (rows true, columns predicted), coloured by row share.

    Returns the matrix as int64 (K, K). ``value_fontsize`` / ``label_fontsize``: None keeps
    matplotlib's defaults; the GUI passes its own sizes and translated axis labels.
    """
    m = np.asarray(matrix, dtype=np.int64)
    rows = m.sum(1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros(m.shape, dtype=float), where=rows > 0)
    ax.imshow(share, cmap=cmap, vmin=0.0, vmax=1.0)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, f"{m[i, j]}\n{share[i, j]:.0%}", ha="center", va="center",
                    color="white" if share[i, j] > 0.55 else "#10213A", fontsize=value_fontsize, fontweight="bold")
    ax.set_xticks(range(len(classes)), [str(c) for c in classes], fontsize=label_fontsize)
    ax.set_yticks(range(len(classes)), [str(c) for c in classes], fontsize=label_fontsize, rotation=90, va="center")
    ax.set_xlabel(xlabel, fontsize=label_fontsize)
    ax.set_ylabel(ylabel, fontsize=label_fontsize)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return m


def draw_roc_frame(ax, *, fg: str = "#7F7F7F", xlabel: str = "1 − specificity",
                   ylabel: str = "Sensitivity", fontsize: float | None = None) -> None:
    """The square [0, 1] x [0, 1] ROC axes with the chance diagonal, a grid and axis labels."""
    ax.plot([0, 1], [0, 1], ":", color=fg, alpha=0.5, lw=1)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.grid(True, alpha=0.25)
    ax.set_xlabel(xlabel, fontsize=fontsize)
    ax.set_ylabel(ylabel, fontsize=fontsize)


def draw_roc_curve(ax, fpr: Sequence[float], tpr: Sequence[float], *, label: str, colour: str = "#0072B2",
                   dashed: bool = False, operating_point: tuple[float, float] | None = None,
                   point_label: str | None = None) -> None:
    """One ROC curve (``fpr``, ``tpr``: equal-length sequences in [0, 1]); a hollow diamond marks
    ``operating_point`` = (1 - specificity, sensitivity) at the model's threshold when it is finite."""
    if len(fpr):
        ax.plot(fpr, tpr, "--" if dashed else "-", color=colour, lw=1.8, label=label, zorder=3)
    if operating_point is not None and all(np.isfinite(operating_point)):
        ax.plot([operating_point[0]], [operating_point[1]], "D", color=colour, mfc="none", ms=7, mew=1.6,
                label=point_label, zorder=4)


def draw_roc(ax, roc: dict, *, label: str, colour: str = "#0072B2",
             operating_point: tuple[float, float] | None = None) -> None:
    """ROC curve from a report's ``roc`` (fpr, tpr lists); ◇ marks the operating point."""
    draw_roc_frame(ax)
    draw_roc_curve(ax, roc.get("fpr") or [], roc.get("tpr") or [], label=label, colour=colour,
                   operating_point=operating_point, point_label="stored threshold")


def evaluation_figure(report: dict, title: str):
    """A three-panel matplotlib Figure (confusion matrix, ROC, reliability) for one evaluation
    report of ``core.metrics.evaluate_arrays``. Built without pyplot, so no GUI is involved."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(13, 4.4), dpi=100, layout="constrained")
    axes = figure.subplots(1, 3)
    draw_confusion(axes[0], report["confusion_matrix"], report["classes"])
    refused = int(report.get("n_refused") or 0)
    axes[0].set_title(f"Confusion matrix at threshold {report['threshold']:.3f}"
                      + (f"\n({refused} refused image{'s' if refused != 1 else ''} not shown)" if refused else ""))
    spec, sens = report.get("specificity"), report.get("recall")
    point = (1 - spec, sens) if spec is not None and sens is not None else None
    auc = report.get("auc")
    draw_roc(axes[1], report.get("roc") or {}, label="AUC " + ("–" if auc is None else f"{auc:.3f}"),
             operating_point=point)
    axes[1].legend(loc="lower right", fontsize=8)
    axes[1].set_title("ROC curve")
    ece = report.get("ece")
    draw_reliability(axes[2], report["reliability"], label="ECE " + ("–" if ece is None else f"{ece:.3f}"),
                     colour="#0072B2")
    axes[2].set_xlabel("Predicted probability of disease")
    axes[2].set_ylabel("Observed fraction with disease")
    axes[2].set_title("Calibration (marker size: images per bin)")
    axes[2].legend(loc="upper left", fontsize=8)
    accuracy = report.get("accuracy")
    figure.suptitle(f"{title}: {report['n']} images, accuracy "
                    + ("–" if accuracy is None else f"{accuracy:.3f}") + f", {report['n_refused']} refused",
                    fontsize=12, fontweight="bold")
    return figure


def save_figure_png(figure, path) -> None:
    """Write ``figure`` as a PNG at ``path`` atomically: a temporary file beside it, then a rename,
    so an interrupted write never leaves half a picture under the final name. The file gets the
    permissions the umask allows, like any file the person saves."""
    from .core.atomic import atomic_path

    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
