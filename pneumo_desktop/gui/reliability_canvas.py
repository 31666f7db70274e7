"""Reliability diagrams (calibration) of the new and the active model."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QWidget

from ..figures import draw_reliability, reliability_points
from .plot_canvas import BLUE, FONT, PlotCanvas


class ReliabilityCanvas(PlotCanvas):
    """Reliability diagrams: observed fraction abnormal against the predicted P(abnormal).

    ``add_model(key, reliability, ece, label, colour, dashed)`` draws one model's bins (from an
    evaluation report's ``reliability``); ``clear()`` starts again. ``models`` maps each key
    to its (mean predicted, observed) arrays, for tests.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, width=4.2, height=3.6)
        self.models: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.clear()

    def clear(self) -> None:
        self.models = {}
        ax = self._single_axes()
        ax.plot([0, 1], [0, 1], ":", color=self._fg, alpha=0.5, lw=1, label=self.tr("perfect calibration"))
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_aspect("equal")
        ax.grid(True, alpha=0.25)
        ax.set_xlabel(self.tr("Predicted probability of disease"), fontsize=FONT)
        ax.set_ylabel(self.tr("Observed fraction with disease"), fontsize=FONT)
        ax.set_title(self.tr("Calibration (marker size: images per bin)"), fontsize=FONT + 1)
        self.draw_idle()

    def add_model(self, key: str, reliability: dict | None, ece: float | None, label: str,
                  colour: str = BLUE, dashed: bool = False) -> None:
        if not reliability:
            return
        mean_p, freq, _ = reliability_points(reliability)
        self.models[key] = (mean_p, freq)
        ece_text = "–" if ece is None or not np.isfinite(ece) else f"{ece:.3f}"
        draw_reliability(self.ax, reliability, label=self.tr("{label}, ECE {ece}").format(label=label, ece=ece_text),
                         colour=colour, fg=self._fg, dashed=dashed, draw_diagonal=False)
        self._legend(self.ax, loc="upper left")
        self.draw_idle()
