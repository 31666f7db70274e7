"""Matplotlib plots embedded in Qt: training curves, confusion matrix, ROC curve, reliability.

Every canvas is a ``FigureCanvasQTAgg(Figure())`` (never pyplot, which keeps global state and
its own event loop). Colours follow the Okabe-Ito colour-blind-safe palette, and the figure
takes its background and text colours from the widget palette so it sits well in light and
dark themes. All drawing happens on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..figures import draw_confusion, draw_reliability, reliability_points

BLUE = "#0072B2"      # Okabe-Ito blue: the new model / training
ORANGE = "#D55E00"    # Okabe-Ito vermillion: validation
GREY = "#7F7F7F"      # the active (comparison) model
GREEN = "#009E73"
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


class TrainingCurvesCanvas(PlotCanvas):
    """Loss and accuracy per epoch, training against validation, in two panels.

    ``reset(epochs)`` starts a run; ``add_epoch(...)`` appends a point to each of the four
    lines and redraws. ``series()`` returns the plotted values (for tests and export).
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, width=8.0, height=3.2)
        self._labels = {
            "loss": self.tr("Loss"),
            "accuracy": self.tr("Accuracy"),
            "epoch": self.tr("Epoch"),
            "train": self.tr("training"),
            "val": self.tr("validation"),
            "best": self.tr("best epoch"),
        }
        self.reset(10)

    def reset(self, epochs: int) -> None:
        self._epochs = max(1, int(epochs))
        self._data: dict[str, list[float]] = {k: [] for k in
                                              ("epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy")}
        self._best: tuple[float, float] | None = None
        self.figure.clear()
        self.ax_loss, self.ax_acc = self.figure.subplots(1, 2)
        lab = self._labels
        self.train_loss_line, = self.ax_loss.plot([], [], "o-", color=BLUE, ms=3.5, lw=1.6, label=lab["train"])
        self.val_loss_line, = self.ax_loss.plot([], [], "s--", color=ORANGE, ms=3.5, lw=1.6, label=lab["val"])
        # A ring around the best validation point, so the point itself stays visible.
        self.best_marker, = self.ax_loss.plot([], [], "o", ms=14, mfc="none", mec=ORANGE, mew=1.8,
                                              label=lab["best"], linestyle="none", zorder=1)
        self.train_acc_line, = self.ax_acc.plot([], [], "o-", color=BLUE, ms=3.5, lw=1.6, label=lab["train"])
        self.val_acc_line, = self.ax_acc.plot([], [], "s--", color=ORANGE, ms=3.5, lw=1.6, label=lab["val"])
        for ax, title in ((self.ax_loss, lab["loss"]), (self.ax_acc, lab["accuracy"])):
            self._style(ax)
            ax.set_title(title, fontsize=FONT + 1)
            ax.set_xlabel(lab["epoch"], fontsize=FONT)
            ax.set_xlim(0.5, max(self._epochs, 2) + 0.5)  # at least two integer ticks
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=10))
            ax.grid(True, alpha=0.25)
        self.ax_loss.set_ylim(0, 1)
        self.ax_acc.set_ylim(0.4, 1.0)
        self.ax_acc.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        # One legend for both panels, above them, so it never hides a point.
        legend = self.figure.legend(handles=[self.train_loss_line, self.val_loss_line, self.best_marker],
                                    loc="outside upper center", ncols=3, fontsize=FONT, frameon=False)
        for text in legend.get_texts():
            text.set_color(self._fg)
        self.draw_idle()

    def add_epoch(self, epoch: float, train_loss: float, val_loss: float, train_accuracy: float,
                  val_accuracy: float, is_best: bool = False) -> None:
        d = self._data
        d["epoch"].append(float(epoch))
        d["train_loss"].append(float(train_loss))
        d["val_loss"].append(float(val_loss))
        d["train_accuracy"].append(float(train_accuracy))
        d["val_accuracy"].append(float(val_accuracy))
        if is_best:
            self._best = (float(epoch), float(val_loss))
        x = d["epoch"]
        self.train_loss_line.set_data(x, d["train_loss"])
        self.val_loss_line.set_data(x, d["val_loss"])
        self.train_acc_line.set_data(x, d["train_accuracy"])
        self.val_acc_line.set_data(x, d["val_accuracy"])
        if self._best is not None:
            self.best_marker.set_data([self._best[0]], [self._best[1]])
        if x[-1] > self._epochs:
            self._epochs = int(np.ceil(x[-1]))
        for ax in (self.ax_loss, self.ax_acc):
            ax.set_xlim(0.5, max(self._epochs, 2) + 0.5)  # at least two integer ticks
        finite_losses = [v for v in d["train_loss"] + d["val_loss"] if np.isfinite(v)]
        top = max(finite_losses) if finite_losses else 1.0
        self.ax_loss.set_ylim(0, max(0.1, top * 1.15))
        accs = [v for v in d["train_accuracy"] + d["val_accuracy"] if np.isfinite(v)]
        low = min(accs) if accs else 0.5
        self.ax_acc.set_ylim(max(0.0, min(0.4, low - 0.05)), 1.0)
        self.draw_idle()

    def series(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self._data.items()}

    def lines(self) -> dict[str, object]:
        return {"train_loss": self.train_loss_line, "val_loss": self.val_loss_line,
                "train_accuracy": self.train_acc_line, "val_accuracy": self.val_acc_line}


_BLUES = LinearSegmentedColormap.from_list("pneumo_blues", ["#F4F8FC", "#9ECAE1", "#2171B5", "#08306B"])


class ConfusionMatrixCanvas(PlotCanvas):
    """A K x K confusion matrix (rows true, columns predicted) with counts and row percentages."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, width=4.2, height=3.6)
        self.matrix: np.ndarray | None = None
        self.show_matrix(None, [])

    def show_matrix(self, matrix: Sequence[Sequence[int]] | None, classes: Sequence[str], title: str = "",
                    note: str = "") -> None:
        self.figure.clear()
        ax = self.figure.add_subplot(1, 1, 1)
        self.ax = ax
        self._style(ax)
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


class RocCanvas(PlotCanvas):
    """ROC curves (sensitivity against 1 - specificity) with the model's operating point and a
    movable point for the threshold slider."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, width=4.2, height=3.6)
        self.curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.clear()

    def clear(self) -> None:
        self.curves = {}
        self.figure.clear()
        ax = self.figure.add_subplot(1, 1, 1)
        self.ax = ax
        self._style(ax)
        ax.plot([0, 1], [0, 1], ":", color=self._fg, alpha=0.4, lw=1)
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
        ax.set_aspect("equal")
        ax.set_xlabel(self.tr("1 − specificity (false-positive rate)"), fontsize=FONT)
        ax.set_ylabel(self.tr("Sensitivity"), fontsize=FONT)
        ax.set_title(self.tr("ROC curve"), fontsize=FONT + 1)
        ax.grid(True, alpha=0.25)
        self.slider_point, = ax.plot([], [], "o", color=ORANGE, ms=9, mec=self._fg, mew=0.8, zorder=5)
        self.draw_idle()

    def add_curve(self, key: str, fpr: Sequence[float], tpr: Sequence[float], label: str,
                  colour: str = BLUE, dashed: bool = False,
                  operating_point: tuple[float, float] | None = None) -> None:
        """Add one model's curve; ``operating_point`` = (1 - specificity, sensitivity) at its threshold."""
        fpr = np.asarray(fpr, dtype=float)
        tpr = np.asarray(tpr, dtype=float)
        self.curves[key] = (fpr, tpr)
        if len(fpr):
            self.ax.plot(fpr, tpr, "--" if dashed else "-", color=colour, lw=1.8, label=label, zorder=3)
        if operating_point is not None and all(np.isfinite(operating_point)):
            self.ax.plot([operating_point[0]], [operating_point[1]], "D", color=colour, ms=6, mfc="none",
                         mew=1.6, zorder=4)
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
        self.figure.clear()
        ax = self.figure.add_subplot(1, 1, 1)
        self.ax = ax
        self._style(ax)
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
        self.figure.clear()
        ax = self.figure.add_subplot(1, 1, 1)
        self.ax = ax
        self._style(ax)
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
        ax.set_yticks(y, [label_of(k) for k in keys], fontsize=FONT - 1)
        ax.invert_yaxis()  # weakest first, at the top
        ax.set_xlim(0, 1)
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
