"""The base of every embedded Matplotlib plot: a palette-aware ``FigureCanvasQTAgg``.

Every canvas is a ``FigureCanvasQTAgg(Figure())`` (never pyplot, which keeps global state and
its own event loop). Colours follow the Okabe-Ito colour-blind-safe palette, and the figure
takes its background and text colours from the widget palette so it sits well in light and
dark themes. All drawing happens on the GUI thread.
"""

from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtWidgets import QSizePolicy, QWidget

BLUE = "#0072B2"      # Okabe-Ito blue: the new model / training
ORANGE = "#D55E00"    # Okabe-Ito vermillion: validation
GREY = "#7F7F7F"      # the active (comparison) model
FONT = 9


def _hex(color) -> str:
    return color.name()


class PlotCanvas(FigureCanvasQTAgg):
    """A figure canvas with palette-aware colours and a sensible minimum size."""

    def __init__(self, parent: QWidget | None = None, width: float = 5.0, height: float = 3.5, dpi: int = 100):
        self.figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
        super().__init__(self.figure)
        if parent is not None:
            self.setParent(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(260, 200)
        self._apply_palette()

    def _apply_palette(self) -> None:
        palette = self.palette()
        self._bg = _hex(palette.color(palette.ColorRole.Base))
        self._fg = _hex(palette.color(palette.ColorRole.Text))
        self.figure.set_facecolor(self._bg)

    def _single_axes(self):
        """Clear the figure and give it one styled axes, kept as ``self.ax``."""
        self.figure.clear()
        self.ax = self.figure.add_subplot(1, 1, 1)
        self._style(self.ax)
        return self.ax

    def _style(self, ax) -> None:
        ax.set_facecolor(self._bg)
        ax.tick_params(colors=self._fg, labelsize=FONT - 1)
        for spine in ax.spines.values():
            spine.set_color(self._fg)
            spine.set_alpha(0.5)
        ax.xaxis.label.set_color(self._fg)
        ax.yaxis.label.set_color(self._fg)
        ax.title.set_color(self._fg)

    def _legend(self, ax, **kwargs) -> None:
        legend = ax.legend(fontsize=FONT - 1, frameon=True, **kwargs)
        legend.get_frame().set_facecolor(self._bg)
        legend.get_frame().set_edgecolor(self._fg)
        legend.get_frame().set_alpha(0.8)
        for text in legend.get_texts():
            text.set_color(self._fg)
