"""A confusion matrix plot with counts and row percentages."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from PySide6.QtWidgets import QWidget

from ..figures import draw_confusion
from .plot_canvas import FONT, PlotCanvas

_BLUES = LinearSegmentedColormap.from_list("pneumo_blues", ["#F4F8FC", "#9ECAE1", "#2171B5", "#08306B"])


class ConfusionMatrixCanvas(PlotCanvas):
    """A K x K confusion matrix (rows true, columns predicted) with counts and row percentages."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, width=4.2, height=3.6)
        self.matrix: np.ndarray | None = None
        self.show_matrix(None, [])

    def show_matrix(self, matrix: Sequence[Sequence[int]] | None, classes: Sequence[str], title: str = "",
                    note: str = "") -> None:
        ax = self._single_axes()
        if matrix is None or not len(classes):
            self.matrix = None
            ax.set_axis_off()
            ax.text(0.5, 0.5, self.tr("No evaluation yet"), ha="center", va="center", color=self._fg,
                    fontsize=FONT + 1, transform=ax.transAxes)
            self.draw_idle()
            return
        self.matrix = draw_confusion(ax, matrix, classes, cmap=_BLUES,
                                     value_fontsize=FONT + 2 if len(classes) <= 3 else FONT, label_fontsize=FONT,
                                     xlabel=self.tr("Predicted"), ylabel=self.tr("True"))
        if title:
            ax.set_title(title, fontsize=FONT + 1, color=self._fg)
        if note:
            self.figure.text(0.5, 0.005, note, ha="center", va="bottom", fontsize=FONT - 1, color=self._fg)
        self.draw_idle()

    def total(self) -> int:
        return int(self.matrix.sum()) if self.matrix is not None else 0
