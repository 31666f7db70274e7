"""ROC curves of the new and the active model, with operating points and the slider's point."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtWidgets import QWidget

from ..figures import draw_roc_curve, draw_roc_frame
from .plot_canvas import BLUE, FONT, ORANGE, PlotCanvas


class RocCanvas(PlotCanvas):
    """ROC curves (sensitivity against 1 - specificity) with the model's operating point and a
    movable point for the threshold slider."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, width=4.2, height=3.6)
        self.curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.clear()

    def clear(self) -> None:
        self.curves = {}
        ax = self._single_axes()
        draw_roc_frame(ax, fg=self._fg, xlabel=self.tr("1 − specificity (false-positive rate)"),
                       ylabel=self.tr("Sensitivity"), fontsize=FONT)
        ax.set_title(self.tr("ROC curve"), fontsize=FONT + 1)
        self.slider_point, = ax.plot([], [], "o", color=ORANGE, ms=9, mec=self._fg, mew=0.8, zorder=5)
        self.draw_idle()

    def add_curve(self, key: str, fpr: Sequence[float], tpr: Sequence[float], label: str,
                  colour: str = BLUE, dashed: bool = False,
                  operating_point: tuple[float, float] | None = None) -> None:
        """Add one model's curve; ``operating_point`` = (1 - specificity, sensitivity) at its threshold."""
        fpr = np.asarray(fpr, dtype=float)
        tpr = np.asarray(tpr, dtype=float)
        self.curves[key] = (fpr, tpr)
        draw_roc_curve(self.ax, fpr, tpr, label=label, colour=colour, dashed=dashed, operating_point=operating_point)
        handles, labels = self.ax.get_legend_handles_labels()
        self._legend(self.ax, handles=[*handles, self.slider_point], labels=[*labels, self.tr("slider threshold")],
                     loc="lower right")
        self.draw_idle()

    def set_slider_point(self, fpr: float | None, tpr: float | None) -> None:
        if fpr is None or tpr is None or not (np.isfinite(fpr) and np.isfinite(tpr)):
            self.slider_point.set_data([], [])
        else:
            self.slider_point.set_data([fpr], [tpr])
        self.draw_idle()

    def show_message(self, text: str) -> None:
        self.ax.text(0.5, 0.5, text, ha="center", va="center", color=self._fg, fontsize=FONT,
                     transform=self.ax.transAxes, wrap=True)
        self.draw_idle()
