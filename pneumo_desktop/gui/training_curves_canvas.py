"""Live training curves: loss and accuracy per epoch, training against validation."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator, PercentFormatter
from PySide6.QtWidgets import QWidget

from .plot_canvas import BLUE, FONT, ORANGE, PlotCanvas


class TrainingCurvesCanvas(PlotCanvas):
    """Loss and accuracy per epoch, training against validation, in two panels.

    ``reset(epochs)`` starts a run; ``add_epoch(...)`` appends a point to each of the four
    lines and redraws; a value that is NaN (no validation films) leaves a gap in its line.
    ``set_sections(size, labels)`` marks runs that follow one another on the epoch axis (the
    folds of a fine-tune, then its final model), ``size`` epochs each. ``series()`` returns the
    plotted values (for tests and export).
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
            "runs": self.tr("Epoch (one band per fine-tune)"),
            "held_out": self.tr("held-out films"),
        }
        self.sections: list[str] = []
        self.reset(10)

    def reset(self, epochs: int) -> None:
        self._epochs = max(1, int(epochs))
        self._data: dict[str, list[float]] = {k: [] for k in
                                              ("epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy")}
        self._best: tuple[float, float] | None = None
        self.sections = []
        self._section_size = 0
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
        self._add_legend([self.train_loss_line, self.val_loss_line, self.best_marker])
        self.draw_idle()

    def _add_legend(self, handles: list) -> None:
        """One legend for both panels, above them, so it never hides a point."""
        for old in list(self.figure.legends):
            old.remove()
        legend = self.figure.legend(handles=handles, loc="outside upper center", ncols=len(handles), fontsize=FONT,
                                    frameon=False)
        for text in legend.get_texts():
            text.set_color(self._fg)

    def set_sections(self, size: int, labels: list[str]) -> None:
        """Mark ``len(labels)`` runs of ``size`` epochs each: a light band behind every other run,
        a line between runs and each run's label at the top. No run has a best epoch, so the
        legend drops that entry."""
        size = max(1, int(size))
        self.sections = list(labels)
        self._section_size = size
        for ax in (self.ax_loss, self.ax_acc):
            for i, label in enumerate(labels):
                start = i * size + 0.5
                if i % 2:
                    ax.axvspan(start, start + size, color=self._fg, alpha=0.05, lw=0, zorder=0)
                if i:
                    ax.axvline(start, color=self._fg, alpha=0.3, lw=0.8, zorder=0)
                # At the foot of the panel, where losses near 0 and accuracies near 40% seldom are.
                ax.text(start + size / 2, 0.015, label, transform=ax.get_xaxis_transform(), ha="center",
                        va="bottom", fontsize=FONT - 2, color=self._fg, alpha=0.75)
            ax.set_xlabel(self._labels["runs"], fontsize=FONT)
        for line in (self.val_loss_line, self.val_acc_line):
            line.set_label(self._labels["held_out"])
        self._add_legend([self.train_loss_line, self.val_loss_line])
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
        for line, key in ((self.train_loss_line, "train_loss"), (self.val_loss_line, "val_loss"),
                          (self.train_acc_line, "train_accuracy"), (self.val_acc_line, "val_accuracy")):
            line.set_data(*self._plotted(key))
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

    def _plotted(self, key: str) -> tuple[list[float], list[float]]:
        """x and ``key``'s values, with a gap where one section (run) ends and the next begins:
        separate fine-tunes are not one curve."""
        x, y = self._data["epoch"], self._data[key]
        if not self._section_size:
            return list(x), list(y)
        px: list[float] = []
        py: list[float] = []
        for i, (xi, yi) in enumerate(zip(x, y)):
            if i and (xi - 1) // self._section_size != (x[i - 1] - 1) // self._section_size:
                px.append(np.nan)
                py.append(np.nan)
            px.append(xi)
            py.append(yi)
        return px, py

    def series(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self._data.items()}

    def lines(self) -> dict[str, object]:
        return {"train_loss": self.train_loss_line, "val_loss": self.val_loss_line,
                "train_accuracy": self.train_acc_line, "val_accuracy": self.val_acc_line}
