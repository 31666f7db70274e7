"""Qt-free matplotlib drawing shared by the GUI's canvases and the figures in ``docs/``.

Functions here draw on a matplotlib ``Axes`` they are given; they never create a figure or
use pyplot, so the GUI embeds them in its own canvases and ``docs/make_figures.py`` renders
them with the Agg backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def reliability_points(reliability: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-empty bins of a reliability report (``core.evaluation``'s ``reliability``).

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


def draw_confusion(ax, matrix: Sequence[Sequence[int]], classes: Sequence[str], cmap="Blues") -> None:
    """Counts with row percentages (rows true, columns predicted), coloured by row share."""
    m = np.asarray(matrix, dtype=np.int64)
    rows = m.sum(1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros(m.shape, dtype=float), where=rows > 0)
    ax.imshow(share, cmap=cmap, vmin=0.0, vmax=1.0)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, f"{m[i, j]}\n{share[i, j]:.0%}", ha="center", va="center",
                    color="white" if share[i, j] > 0.55 else "#10213A", fontweight="bold")
    ax.set_xticks(range(len(classes)), [str(c) for c in classes])
    ax.set_yticks(range(len(classes)), [str(c) for c in classes], rotation=90, va="center")
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
