"""Specificity of each model under each stress change, as grouped horizontal bars."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import PercentFormatter
from PySide6.QtWidgets import QWidget

from .plot_canvas import BLUE, FONT, GREY, ORANGE, PlotCanvas


class RobustnessCanvas(PlotCanvas):
    """Specificity of each model under each stress change (``validation_stress_metrics``).

    Horizontal bars, one group per change, weakest (for the new model) at the top; the new model
    in blue, the active one in grey. ``show_models(new, active, label_of)`` draws; ``bars``
    maps ``"new"``/``"active"`` to {change key: specificity} for tests.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, width=4.2, height=3.6)
        self.bars: dict[str, dict[str, float]] = {}
        self.show_models(None, None, lambda key: key)

    def show_models(self, new: dict | None, active: dict | None, label_of, new_label: str = "",
                    active_label: str = "") -> None:
        self.bars = {}
        ax = self._single_axes()
        if not new or not new.get("changes"):
            ax.set_axis_off()
            ax.text(0.5, 0.5, self.tr("No stress figures in this model file"), ha="center", va="center",
                    color=self._fg, fontsize=FONT, transform=ax.transAxes)
            self.draw_idle()
            return
        keys = sorted(new["changes"], key=lambda k: new["changes"][k].get("specificity") or 0.0)
        y = np.arange(len(keys))
        height = 0.38 if active else 0.6
        series = [("new", new, BLUE, new_label or self.tr("new model"), -height / 2 if active else 0.0)]
        if active and active.get("changes"):
            series.append(("active", active, GREY, active_label or self.tr("active model"), height / 2))
        for which, stress, colour, label, offset in series:
            values = [stress["changes"].get(k, {}).get("specificity") for k in keys]
            self.bars[which] = {k: v for k, v in zip(keys, values) if v is not None}
            ax.barh(y + offset, [v if v is not None else 0.0 for v in values], height, color=colour,
                    alpha=0.9 if which == "new" else 0.6, label=label)
            # The value at the end of each bar, so that 0% reads as a figure, not as a missing bar.
            for row, value in zip(y, values):
                if value is not None:
                    ax.text(value + 0.01, row + offset, f"{value:.0%}", va="center", ha="left",
                            fontsize=FONT - 2, color=self._fg)
        ax.set_yticks(y, [label_of(k) for k in keys], fontsize=FONT - 1)
        ax.invert_yaxis()  # weakest first, at the top
        ax.set_xlim(0, 1.12)  # room for the value after a full bar
        ax.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.axvline(0.8, color=ORANGE, lw=1, ls=":")
        ax.set_xlabel(self.tr("Specificity on changed healthy chests"), fontsize=FONT)
        # A figure title: centred on the canvas, not on the axes that the long labels push right.
        self.figure.suptitle(self.tr("Healthy chests under acquisition changes\n(each model on its own validation "
                                     "split)"), fontsize=FONT, color=self._fg)
        ax.grid(True, axis="x", alpha=0.25)
        # Below the axes, so no bar is hidden behind it.
        self._legend(ax, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
        self.draw_idle()
