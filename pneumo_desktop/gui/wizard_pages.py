"""The five pages of the training and evaluation wizard (see ``training_wizard.py``)."""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QElapsedTimer, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QDoubleSpinBox, QFileDialog, QFormLayout, QFrame, QGridLayout,
    QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox, QPlainTextEdit, QProgressBar,
    QPushButton, QScrollArea, QSizePolicy, QSlider, QSpinBox, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout,
    QWidget, QWizard, QWizardPage,
)

from ..core.errors import DatasetError, ModelFileError
from ..core.evaluation import sensitivity_specificity_at
from ..core.training import (
    BatchDone, DataReady, DecodeProgress, EpochDone, StatusMessage, TrainingConfig, TrainingFinished,
)
from ..paths import BUILTIN_MODEL_PATHS, DEFAULT_MODEL_PATH, RESOURCES_DIR, user_cache_dir, user_models_dir
from .image_grid import ImageGrid
from .latest_job import LatestJob
from .plots import BLUE, GREY, ConfusionMatrixCanvas, ReliabilityCanvas, RobustnessCanvas, RocCanvas, TrainingCurvesCanvas
from .stress_labels import stress_label
from .wizard_jobs import (
    TINY_CLASS, ClassSamples, EvalDone, EvalFailed, EvalProgress, OverlapCheck, ScanStage, ScanSummary,
    SplitReady, binary_confusion_at, default_model_name, estimate_training_seconds, evaluation_run,
    is_finite, sanitise_model_name, scan_for_wizard, training_run,
)

_CTX = "TrainingWizard"


def _t(text: str) -> str:
    return QCoreApplication.translate(_CTX, text)


def format_duration(seconds: float | None) -> str:
    """'42 s', '3 min 05 s', '1 h 02 min' (translated units)."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = max(0, int(round(seconds)))
    if s < 60:
        return QCoreApplication.translate("TrainingWizard", "{s} s").format(s=s)
    if s < 3600:
        return QCoreApplication.translate("TrainingWizard", "{m} min {s:02d} s").format(m=s // 60, s=s % 60)
    return QCoreApplication.translate("TrainingWizard", "{h} h {m:02d} min").format(h=s // 3600, m=(s % 3600) // 60)


def _pct(value) -> str:
    return f"{100 * value:.1f}%" if is_finite(value) else QCoreApplication.translate("TrainingWizard", "n/a")


def _num(value, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if is_finite(value) else QCoreApplication.translate("TrainingWizard", "n/a")


# ----- small widgets ----------------------------------------------------------------------------
_STYLES = {
    "error": "background:#FDECEA; color:#611A15; border:1px solid #F1A39B;",
    "warning": "background:#FFF4E5; color:#5F3B00; border:1px solid #F0B46E;",
    "info": "background:#E8F1FB; color:#0B3A66; border:1px solid #9CC3EA;",
    "ok": "background:#EAF6EC; color:#1E4620; border:1px solid #9BD0A0;",
}


class MessageLabel(QLabel):
    """A word-wrapped coloured box for errors, warnings and notes; hidden while empty.

    The colours are explicit foreground/background pairs so they read in light and dark themes.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.kind = ""
        self.hide()

    def show_message(self, kind: str, text: str) -> None:
        self.kind = kind
        self.setStyleSheet(f"QLabel {{ {_STYLES[kind]} border-radius:4px; padding:6px; }}")
        self.setText(text)
        self.setVisible(bool(text))

    def clear_message(self) -> None:
        self.kind = ""
        self.setText("")
        self.hide()


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    font = QFont(label.font())
    font.setBold(True)
    label.setFont(font)
    return label


def _browse_row(parent: QWidget, placeholder: str, button_text: str) -> tuple[QLineEdit, QPushButton, QHBoxLayout]:
    edit = QLineEdit(parent)
    edit.setPlaceholderText(placeholder)
    edit.setClearButtonEnabled(True)
    button = QPushButton(button_text, parent)
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return edit, button, row


class _Page(QWizardPage):
    def wiz(self):
        return self.wizard()


# ================================================================================================
# 1. Data
# ================================================================================================
class DataPage(_Page):
    """Choose a labelled folder; show class counts, imbalance, warnings and sample images."""

    scan_finished = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle(self.tr("Choose the training images"))
        self.setSubTitle(self.tr("A folder with one sub-folder per class, for example NORMAL/ and PNEUMONIA/. "
                                 "Every file inside a class folder counts as an image of that class."))
        self.summary: ScanSummary | None = None
        self._scanned_text: str | None = None
        self._job = LatestJob(self, "pneumo-scan")
        self._job.yielded.connect(self._on_item)
        self._job.failed.connect(self._on_failed)
        self._job.done.connect(self._on_done)

        self.folder_edit, browse, row = _browse_row(self, self.tr("Folder with one sub-folder per class"),
                                                           self.tr("Browse…"))
        browse.clicked.connect(self._browse)
        self.folder_edit.editingFinished.connect(self._on_edited)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.status_label = QLabel(self)
        self.error_label = MessageLabel(self)
        self.warning_label = MessageLabel(self)

        # Counts on the left, the gallery on the right.
        self.counts_table = QTableWidget(0, 3, self)
        self.counts_table.setHorizontalHeaderLabels([self.tr("Class"), self.tr("Images"), self.tr("Share")])
        self.counts_table.verticalHeader().hide()
        self.counts_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.counts_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.counts_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.counts_table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.counts_table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._fit_table()
        self.imbalance_label = QLabel(self)
        self.imbalance_label.setWordWrap(True)
        self.split_note = QLabel(self.tr(
            "Next, a validation part is set aside from this folder, patient by patient: all images "
            "of one patient (file names such as person123_… or IM-0115-…) stay on the same side, so "
            "the model is never validated on a patient it has seen. Byte-identical copies stay "
            "together too."), self)
        self.split_note.setWordWrap(True)
        self.split_note.hide()
        left = QVBoxLayout()
        left.addWidget(_heading(self.tr("Images per class")))
        left.addWidget(self.counts_table)
        left.addWidget(self.imbalance_label)
        left.addWidget(self.warning_label)
        left.addSpacing(8)
        left.addWidget(self.split_note)
        left.addStretch(1)

        self.gallery = QWidget(self)
        self.gallery_layout = QHBoxLayout(self.gallery)
        self.gallery_layout.setContentsMargins(0, 0, 0, 0)
        self.gallery_layout.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.gallery_layout.addStretch(1)
        self.sample_grids: dict[str, ImageGrid] = {}
        scroll = QScrollArea(self)
        scroll.setWidget(self.gallery)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        right = QVBoxLayout()
        right.addWidget(_heading(self.tr("Sample images")))
        right.addWidget(scroll, 1)

        body = QHBoxLayout()
        body.addLayout(left, 4)
        body.addLayout(right, 6)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_label)
        status_row.addWidget(self.progress, 1)
        layout.addLayout(status_row)
        layout.addWidget(self.error_label)
        layout.addLayout(body, 1)

    # ----- choosing -------------------------------------------------------------------------
    @Slot()
    def _browse(self) -> None:
        start = self.folder_edit.text() or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose the training folder"), start)
        if folder:
            self.set_folder(folder)

    @Slot()
    def _on_edited(self) -> None:
        text = self.folder_edit.text().strip()
        if text and text != self._scanned_text:
            self.set_folder(text)

    def set_folder(self, folder: str | Path) -> None:
        """Show ``folder`` and scan it in the background (``scan_finished`` when done)."""
        text = str(folder)
        self.folder_edit.setText(text)
        self._scanned_text = text
        self.summary = None
        self._clear_results()
        self.status_label.setText(self.tr("Checking the folder…"))
        self.progress.show()
        self.completeChanged.emit()
        self._job.start(lambda: scan_for_wizard(text))

    def _fit_table(self) -> None:
        table = self.counts_table
        table.resizeRowsToContents()
        rows = sum(table.rowHeight(r) for r in range(table.rowCount())) if table.rowCount() else 0
        table.setFixedHeight(table.horizontalHeader().sizeHint().height() + rows + 2 * table.frameWidth())

    def _clear_results(self) -> None:
        self.error_label.clear_message()
        self.warning_label.clear_message()
        self.counts_table.setRowCount(0)
        self._fit_table()
        self.imbalance_label.clear()
        self.split_note.hide()
        for grid_box in self.gallery.findChildren(QGroupBox):
            grid_box.setParent(None)
            grid_box.deleteLater()
        self.sample_grids = {}

    def is_busy(self) -> bool:
        return self._job.is_busy()

    # ----- results --------------------------------------------------------------------------
    @Slot(object)
    def _on_item(self, item: object) -> None:
        if isinstance(item, ScanStage):
            self.status_label.setText(self.tr("Checking the folder: listing and fingerprinting the files…"))
        elif isinstance(item, ScanSummary):
            self._show_summary(item)
        elif isinstance(item, ClassSamples):
            self._show_samples(item)

    @Slot(str, str)
    def _on_failed(self, message: str, _tb: str) -> None:
        self.progress.hide()
        self.status_label.clear()
        self.summary = None
        self.error_label.show_message("error", self.tr("This folder cannot be used for training:\n{msg}")
                                      .format(msg=message))
        self.completeChanged.emit()
        self.scan_finished.emit()

    @Slot()
    def _on_done(self) -> None:
        self.progress.hide()
        if self.summary is not None:
            self.status_label.setText(self.tr("{n} images in {k} classes.").format(
                n=f"{self.summary.n_images:,}", k=len(self.summary.counts)))
        self.completeChanged.emit()
        self.scan_finished.emit()

    def _show_summary(self, summary: ScanSummary) -> None:
        self.summary = summary
        self.status_label.setText(self.tr("Reading sample images…"))
        total = max(1, summary.n_images)
        self.counts_table.setRowCount(len(summary.counts))
        for row, (label, count) in enumerate(summary.counts.items()):
            items = [QTableWidgetItem(label), QTableWidgetItem(f"{count:,}"), QTableWidgetItem(f"{count / total:.1%}")]
            for col, item in enumerate(items):
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.counts_table.setItem(row, col, item)
        self.counts_table.resizeColumnsToContents()
        self.counts_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self._fit_table()
        self.split_note.setVisible(summary.unusable is None)
        ordered = sorted(summary.counts.items(), key=lambda kv: kv[1], reverse=True)
        big, small = ordered[0], ordered[-1]
        text = self.tr("Imbalance: {ratio:.1f} : 1 ({big} to {small}).").format(
            ratio=summary.imbalance, big=big[0], small=small[0])
        if summary.imbalance >= 1.5:
            text += " " + self.tr("Training weighs every class equally, so the larger class does not "
                                  "dominate; the validation split keeps the same proportions.")
        self.imbalance_label.setText(text)
        self._show_warnings(summary)
        if summary.unusable:
            self.error_label.show_message("error", self.tr("This folder cannot be used for training:\n{msg}")
                                          .format(msg=summary.unusable))
        self.completeChanged.emit()

    def _show_warnings(self, summary: ScanSummary) -> None:
        lines = []
        for label, count in summary.tiny_classes.items():
            lines.append(self.tr("• {label} has only {n} images (fewer than {min}): the model and its "
                                 "validation numbers will be unreliable.").format(label=label, n=count, min=TINY_CLASS))
        if summary.duplicates:
            n_files = sum(len(g) for g in summary.duplicates)
            example = " = ".join(Path(p).name for p in summary.duplicates[0][:2])
            lines.append(self.tr("• {groups} sets of byte-identical files ({files} files), e.g. {example}. "
                                 "Copies are kept on the same side of the validation split, but they count "
                                 "more than once in training.").format(
                groups=len(summary.duplicates), files=n_files, example=example))
        if summary.conflicts:
            example = ", ".join(Path(p).parent.name + "/" + Path(p).name for p in summary.conflicts[0][:2])
            lines.append(self.tr("• {n} identical images are filed under different classes ({example}). "
                                 "Check their labels before training.").format(n=len(summary.conflicts),
                                                                               example=example))
        if lines:
            self.warning_label.show_message("warning", "\n".join(lines))
        else:
            self.warning_label.clear_message()

    def _show_samples(self, samples: ClassSamples) -> None:
        count = self.summary.counts.get(samples.label, 0) if self.summary else 0
        box = QGroupBox(self.tr("{label} ({n} images)").format(label=samples.label, n=f"{count:,}"), self.gallery)
        n_classes = len(self.summary.counts) if self.summary else 2
        cell = 150 if n_classes <= 2 else 100
        grid = ImageGrid(box, cell_size=cell, columns=2, mode="fixed")
        grid.set_images(samples.images, captions=samples.names,
                        tooltips=[f"{samples.label}: {n}" for n in samples.names])
        if not samples.images:
            grid.set_placeholder(self.tr("No readable sample"))
        box.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Maximum)
        inner = QVBoxLayout(box)
        inner.addWidget(grid, 0, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.gallery_layout.insertWidget(self.gallery_layout.count() - 1, box)
        self.sample_grids[samples.label] = grid

    # ----- wizard ---------------------------------------------------------------------------
    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return self.summary is not None and self.summary.unusable is None and not self._job.is_busy()

    def validatePage(self) -> bool:  # noqa: N802 - Qt API
        if not self.isComplete():
            return False
        wizard = self.wiz()
        wizard.data_dir = self.summary.folder
        wizard.table = self.summary.table
        return True

    def stop(self) -> None:
        self._job.stop()


# ================================================================================================
# 2. Settings
# ================================================================================================
class SettingsPage(_Page):
    """Training settings, an optional separate test folder, and the time estimate."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle(self.tr("Training settings"))
        self.setSubTitle(self.tr("The defaults are the recipe of the shipped default model. A separate test "
                                 "folder gives the fairest evaluation; without one, the validation split is used."))
        self.data_label = QLabel(self)
        self.data_label.setWordWrap(True)

        self.epochs = QSpinBox(self)
        self.epochs.setRange(1, 500)
        self.epochs.setSuffix(self.tr(" epochs"))
        self.batch_size = QSpinBox(self)
        self.batch_size.setRange(2, 1024)
        self.batch_size.setSuffix(self.tr(" images"))
        self.learning_rate = QDoubleSpinBox(self)
        self.learning_rate.setDecimals(5)
        self.learning_rate.setRange(0.00001, 0.5)
        self.learning_rate.setSingleStep(0.0005)
        self.val_fraction = QSpinBox(self)
        self.val_fraction.setRange(5, 50)
        self.val_fraction.setSingleStep(5)
        self.val_fraction.setSuffix(" %")
        self.augment = QCheckBox(self.tr("Random rotations, zoom, shifts, contrast and blur while training"), self)
        self.seed = QSpinBox(self)
        self.seed.setRange(0, 2_147_483_647)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)

        def row(label: str, widget: QWidget, hint: str) -> None:
            line = QHBoxLayout()
            widget.setMinimumWidth(120)
            line.addWidget(widget)
            if hint:
                note = QLabel(hint, self)
                note.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # muted, theme-aware
                line.addSpacing(12)
                line.addWidget(note)
            line.addStretch(1)
            form.addRow(label, line)

        row(self.tr("Epochs:"), self.epochs,
            self.tr("Passes over the training images; the epoch with the lowest validation loss is kept."))
        row(self.tr("Batch size:"), self.batch_size, self.tr("Images per training step."))
        row(self.tr("Learning rate:"), self.learning_rate,
            self.tr("Peak step size; it warms up, then decays smoothly."))
        row(self.tr("Validation share:"), self.val_fraction,
            self.tr("Set aside by patient to choose the epoch and the threshold."))
        row(self.tr("Augmentation:"), self.augment, "")
        row(self.tr("Random seed:"), self.seed, self.tr("The same seed and data give the same model."))

        self.test_edit, browse, test_row = _browse_row(
            self, self.tr("Optional: a labelled folder never used in training"), self.tr("Browse…"))
        browse.clicked.connect(self._browse_test)
        self.test_edit.textChanged.connect(self._check_test_folder)
        test_box = QGroupBox(self.tr("Separate test folder (optional)"), self)
        test_layout = QVBoxLayout(test_box)
        test_layout.addLayout(test_row)
        self.test_label = MessageLabel(self)
        test_layout.addWidget(self.test_label)

        self.estimate_label = QLabel(self)
        font = QFont(self.estimate_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.estimate_label.setFont(font)
        self.estimate_note = QLabel(self)
        self.estimate_note.setWordWrap(True)
        estimate_box = QGroupBox(self.tr("Estimated training time"), self)
        est_layout = QVBoxLayout(estimate_box)
        est_layout.addWidget(self.estimate_label)
        est_layout.addWidget(self.estimate_note)

        layout = QVBoxLayout(self)
        layout.addWidget(self.data_label)
        layout.addLayout(form)
        layout.addWidget(test_box)
        layout.addWidget(estimate_box)
        layout.addStretch(1)

        for spin in (self.epochs, self.val_fraction):
            spin.valueChanged.connect(self.update_estimate)
        self._test_ok = True

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        wizard = self.wiz()
        cfg: TrainingConfig = wizard.base_config
        self.epochs.setValue(cfg.epochs)
        self.batch_size.setValue(cfg.batch_size)
        self.learning_rate.setValue(cfg.learning_rate)
        self.val_fraction.setValue(int(round(cfg.val_fraction * 100)))
        self.augment.setChecked(cfg.augment)
        self.seed.setValue(cfg.seed)
        counts = wizard.table["label"].value_counts().sort_index() if wizard.table is not None else {}
        parts = " · ".join(f"{k} {int(v):,}" for k, v in counts.items())
        self.data_label.setText(self.tr("Training folder: {folder}\n{parts} ({n} images)").format(
            folder=wizard.data_dir, parts=parts, n=f"{self.n_images():,}"))
        self._check_test_folder()
        self.update_estimate()

    def n_images(self) -> int:
        table = self.wiz().table if self.wiz() is not None else None
        return 0 if table is None else len(table)

    def config(self) -> TrainingConfig:
        """The base configuration with this page's values."""
        from dataclasses import replace

        return replace(self.wiz().base_config, epochs=self.epochs.value(), batch_size=self.batch_size.value(),
                       learning_rate=float(self.learning_rate.value()), val_fraction=self.val_fraction.value() / 100,
                       augment=self.augment.isChecked(), seed=self.seed.value())

    def estimate_seconds(self) -> float:
        cfg = self.wiz().base_config
        return estimate_training_seconds(self.n_images(), self.epochs.value(), cfg.input_size, cfg.widths)

    @Slot()
    def update_estimate(self) -> None:
        if self.wiz() is None:
            return
        seconds = self.estimate_seconds()
        self.estimate_label.setText(self.tr("About {t}").format(t=format_duration(seconds)))
        cfg = self.wiz().base_config
        self.estimate_note.setText(self.tr(
            "An estimate, not a promise: about 0.01 s per image per epoch at 150 px on a 2-core CPU "
            "({n} images × {e} epochs at {s} px), plus reading each image once and calibrating at the "
            "end. A faster computer takes less, a busy one more; images read before are not read again.").format(
            n=f"{self.n_images():,}", e=self.epochs.value(), s=cfg.input_size))

    @Slot()
    def _browse_test(self) -> None:
        start = self.test_edit.text() or str(Path(self.wiz().data_dir or Path.home()).parent)
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose the test folder"), start)
        if folder:
            self.test_edit.setText(folder)

    @Slot()
    def _check_test_folder(self) -> None:
        text = self.test_edit.text().strip()
        self._test_ok = True
        if not text:
            self.test_label.show_message("info", self.tr("No test folder: the new model is evaluated on the "
                                                          "validation split, which also chose its threshold, "
                                                          "so those numbers are slightly optimistic."))
        else:
            problem = self._test_problem(Path(text))
            if problem:
                self._test_ok = False
                self.test_label.show_message("error", problem)
            else:
                self.test_label.show_message("ok", self.tr("The new model and the active model will both be "
                                                           "evaluated on this folder."))
        self.completeChanged.emit()

    def _test_problem(self, folder: Path) -> str | None:
        if not folder.is_dir():
            return self.tr("Not a folder: {f}").format(f=folder)
        wizard = self.wiz()
        try:
            data = Path(wizard.data_dir).resolve()
            test = folder.resolve()
        except OSError as exc:
            return str(exc)
        if test == data or data in test.parents or test in data.parents:
            return self.tr("The test folder must be separate from the training folder.")
        subfolders = {p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")}
        classes = set(wizard.table["label"]) if wizard.table is not None else set()
        if not subfolders:
            return self.tr("The test folder needs one sub-folder per class, like the training folder.")
        unknown = sorted(subfolders - classes)
        if unknown:
            return self.tr("The test folder has classes the training folder lacks: {c}").format(c=", ".join(unknown))
        return None

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return self._test_ok

    def validatePage(self) -> bool:  # noqa: N802 - Qt API
        wizard = self.wiz()
        config = self.config()
        try:
            config.validate()
        except DatasetError as exc:
            QMessageBox.warning(self, self.tr("Training settings"), str(exc))
            return False
        wizard.config = config
        wizard.test_dir = self.test_edit.text().strip() or None
        return True


# ================================================================================================
# 3. Training
# ================================================================================================
class TrainingPage(_Page):
    """Runs the training on a worker thread with live curves, progress, ETA and a Stop button."""

    training_ended = Signal(str)  # "finished", "cancelled" or "failed"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle(self.tr("Training"))
        self.setSubTitle(self.tr("Training runs in the background. Stopping it, or closing this window, "
                                 "leaves every saved model exactly as it was."))
        self.state = "idle"  # idle, running, finished, cancelled, failed
        self.finished: TrainingFinished | None = None
        self._job = LatestJob(self, "pneumo-training")
        self._job.yielded.connect(self._on_event)
        self._job.failed.connect(self._on_failed)
        self._job.done.connect(self._on_done)
        self._clock = QElapsedTimer()
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)
        self._eta: float | None = None

        self.status_label = QLabel(self)
        font = QFont(self.status_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.status_label.setFont(font)
        self.status_label.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setFormat("%p%")
        self.elapsed_label = QLabel(self)
        self.eta_label = QLabel(self)
        self.batch_label = QLabel(self)
        self.stop_button = QPushButton(self.tr("Stop training"), self)
        self.stop_button.clicked.connect(self.stop_training)
        self.restart_button = QPushButton(self.tr("Train again"), self)
        self.restart_button.clicked.connect(self.start_training)
        self.restart_button.hide()
        times = QHBoxLayout()
        times.addWidget(self.elapsed_label)
        times.addSpacing(24)
        times.addWidget(self.eta_label)
        times.addSpacing(24)
        times.addWidget(self.batch_label, 1)
        times.addWidget(self.restart_button)
        times.addWidget(self.stop_button)
        self.data_label = QLabel(self)
        self.data_label.setWordWrap(True)
        self.message = MessageLabel(self)
        self.details = QPlainTextEdit(self)
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(120)
        self.details.hide()
        self.curves = TrainingCurvesCanvas(self)
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setMaximumHeight(84)
        self.log.setPlaceholderText(self.tr("One line per epoch appears here."))
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSizeF(self.log.font().pointSizeF() * 0.92)
        self.log.setFont(mono)

        layout = QVBoxLayout(self)
        layout.addWidget(self.status_label)
        layout.addWidget(self.progress)
        layout.addLayout(times)
        layout.addWidget(self.data_label)
        layout.addWidget(self.message)
        layout.addWidget(self.details)
        layout.addWidget(self.curves, 1)
        layout.addWidget(self.log)

    # ----- control --------------------------------------------------------------------------
    def initializePage(self) -> None:  # noqa: N802 - Qt API
        self.start_training()

    def cleanupPage(self) -> None:  # noqa: N802 - Qt API (Back pressed)
        self.stop_training(quiet=True)
        self.finished = None
        self.wiz().finished_training = None

    @Slot()
    def start_training(self) -> None:
        wizard = self.wiz()
        self._job.stop()
        self.finished = None
        wizard.finished_training = None
        wizard.split_table = None
        config: TrainingConfig = wizard.config
        self.state = "running"
        self._eta = None
        self.curves.reset(config.epochs * config.members)
        self.log.clear()
        self.message.clear_message()
        self.details.hide()
        self.data_label.clear()
        self.batch_label.clear()
        self.progress.setRange(0, 0)
        self.status_label.setText(self.tr("Preparing the images…"))
        self.stop_button.show()
        self.stop_button.setEnabled(True)
        self.restart_button.hide()
        self._clock.start()
        self._ticker.start()
        self._tick()
        table = wizard.table
        data_dir = wizard.data_dir
        command = f"PneumoDesktop training wizard on {data_dir}"
        self._job.start(lambda: training_run(table, config, cache_dir=user_cache_dir(), command=command,
                                             name="model"))
        self.completeChanged.emit()

    @Slot()
    def stop_training(self, quiet: bool = False) -> None:
        """Cancel the run and wait for the worker; nothing is written either way."""
        if self.state != "running":
            self._job.stop()
            return
        self._job.stop()
        self._ticker.stop()
        self.state = "cancelled"
        self.progress.setRange(0, 1000)
        self.status_label.setText(self.tr("Training stopped."))
        self.stop_button.hide()
        self.restart_button.show()
        if not quiet:
            self.message.show_message("info", self.tr("Training was stopped. Nothing was saved and every "
                                                      "existing model is unchanged."))
        self.completeChanged.emit()
        self.training_ended.emit("cancelled")

    def is_running(self) -> bool:
        return self.state == "running"

    def threads_running(self) -> bool:
        return self._job.threads_running()

    def stop(self) -> bool:
        was_running = self.state == "running"
        ok = self._job.stop()
        self._ticker.stop()
        if was_running:
            self.state = "cancelled"
        return ok

    # ----- events ---------------------------------------------------------------------------
    @Slot()
    def _tick(self) -> None:
        if self.state == "running":
            self.elapsed_label.setText(self.tr("Elapsed: {t}").format(t=format_duration(self._clock.elapsed() / 1000)))
            eta = self.tr("estimating…") if self._eta is None else format_duration(self._eta)
            self.eta_label.setText(self.tr("Remaining: {t}").format(t=eta))

    @Slot(object)
    def _on_event(self, event: object) -> None:
        wizard = self.wiz()
        if isinstance(event, SplitReady):
            wizard.split_table = event.table
        elif isinstance(event, StatusMessage):
            self.status_label.setText(self._status_text(event.text))
        elif isinstance(event, DecodeProgress):
            self.status_label.setText(self.tr("Reading and preparing the images… {done} of {total}").format(
                done=f"{event.done:,}", total=f"{event.total:,}"))
            # The bar follows the reading too; DataReady resets it for the training batches.
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * event.done / max(1, event.total)))
        elif isinstance(event, DataReady):
            train = ", ".join(f"{k} {v:,}" for k, v in event.train_counts.items())
            val = ", ".join(f"{k} {v:,}" for k, v in event.val_counts.items())
            text = self.tr("Training on {n} images ({train}); validating on {m} ({val}). "
                           "No patient appears on both sides. Images read in {t}.").format(
                n=f"{event.n_train:,}", train=train, m=f"{event.n_val:,}", val=val,
                t=format_duration(event.decode_seconds))
            self.data_label.setText(text)
            if event.unreadable:
                names = ", ".join(Path(p).name for p in list(event.unreadable)[:5])
                self.message.show_message("warning", self.tr("{n} files could not be read and are left out: {names}")
                                          .format(n=len(event.unreadable), names=names))
            self.status_label.setText(self.tr("Training…"))
            self.progress.setRange(0, 1000)
            self.progress.setValue(0)
        elif isinstance(event, BatchDone):
            config = wizard.config
            total = event.n_batches * config.epochs * config.members
            done = (event.member * config.epochs + event.epoch - 1) * event.n_batches + event.batch
            self.progress.setValue(int(1000 * done / max(1, total)))
            self._eta = event.eta_s
            member = (self.tr("member {i}, ").format(i=event.member + 1) if config.members > 1 else "")
            self.status_label.setText(self.tr("Epoch {e} of {n}").format(e=event.epoch, n=config.epochs))
            self.batch_label.setText(self.tr("{member}batch {b}/{nb} · loss {loss:.3f}").format(
                member=member, b=event.batch, nb=event.n_batches, loss=event.loss))
            self._tick()
        elif isinstance(event, EpochDone):
            x = event.member * event.epochs + event.epoch
            self.curves.add_epoch(x, event.train_loss, event.val_loss, event.train_accuracy, event.val_accuracy,
                                  event.is_best)
            auc = _num(event.val_auc)
            line = self.tr("epoch {e:>3}/{n}  train loss {tl:.3f} acc {ta:5.1%}  |  val loss {vl:.3f} "
                           "acc {va:5.1%} AUC {auc}{best}").format(
                e=event.epoch, n=event.epochs, tl=event.train_loss, ta=event.train_accuracy, vl=event.val_loss,
                va=event.val_accuracy, auc=auc, best=self.tr("  ← best so far") if event.is_best else "")
            self.log.appendPlainText(line)
            self._eta = event.eta_s
        elif isinstance(event, TrainingFinished):
            self.finished = event
            wizard.finished_training = event

    def _status_text(self, text: str) -> str:
        known = {
            "Decoding images…": self.tr("Reading and preparing the images…"),
            "Calibrating on the validation split…": self.tr("Calibrating on the validation split…"),
            "Fitting the unfamiliar-image gate…": self.tr("Fitting the unfamiliar-image check…"),
        }
        return known.get(text, text)

    @Slot()
    def _on_done(self) -> None:
        self._ticker.stop()
        if self.finished is None:
            self._on_failed(self.tr("training ended without a model"), "")
            return
        self.state = "finished"
        self.progress.setRange(0, 1000)
        self.progress.setValue(1000)
        self.stop_button.hide()
        self.restart_button.show()
        classifier = self.finished.classifier
        training = classifier.metadata.get("training", {})
        best = training.get("best_epochs", [[None]])
        best_epoch = best[0][0] if best and best[0] else None
        vm = self.finished.validation_metrics
        self.status_label.setText(self.tr("Finished in {t}.").format(t=format_duration(self.finished.seconds)))
        self.elapsed_label.setText(self.tr("Elapsed: {t}").format(t=format_duration(self.finished.seconds)))
        self.eta_label.setText(self.tr("Remaining: done"))
        self.batch_label.clear()
        self.message.show_message("ok", self.tr(
            "The model from epoch {best} (lowest validation loss) is kept. On the validation split: "
            "accuracy {acc}, sensitivity {sens}, specificity {spec}, AUC {auc}. Operating threshold "
            "{thr:.3f}, the highest that keeps validation sensitivity at or above {target:.0%}. "
            "Press Next to evaluate it; nothing is saved yet.").format(
            best=best_epoch if best_epoch is not None else "?", acc=_pct(vm.get("accuracy")),
            sens=_pct(vm.get("recall")), spec=_pct(vm.get("specificity")), auc=_num(vm.get("auc")),
            thr=classifier.threshold, target=self.wiz().config.min_sensitivity))
        self.completeChanged.emit()
        self.training_ended.emit("finished")

    @Slot(str, str)
    def _on_failed(self, message: str, tb: str) -> None:
        self._ticker.stop()
        self.state = "failed"
        self.progress.setRange(0, 1000)
        self.stop_button.hide()
        self.restart_button.show()
        self.status_label.setText(self.tr("Training failed."))
        self.message.show_message("error", self.tr("Training could not be completed: {msg}\n"
                                                   "No model was saved; existing models are unchanged.")
                                  .format(msg=message))
        if tb:
            self.details.setPlainText(tb)
            self.details.show()
        self.completeChanged.emit()
        self.training_ended.emit("failed")

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return self.state == "finished" and self.finished is not None


# ================================================================================================
# 4. Evaluation
# ================================================================================================
_METRIC_ROWS = (
    ("accuracy", QT_TRANSLATE_NOOP("TrainingWizard", "Accuracy")),
    ("recall", QT_TRANSLATE_NOOP("TrainingWizard", "Sensitivity (recall)")),
    ("specificity", QT_TRANSLATE_NOOP("TrainingWizard", "Specificity")),
    ("precision", QT_TRANSLATE_NOOP("TrainingWizard", "Precision (PPV)")),
    ("f1", QT_TRANSLATE_NOOP("TrainingWizard", "F1 score")),
    ("auc", QT_TRANSLATE_NOOP("TrainingWizard", "ROC AUC")),
)


class EvaluationPage(_Page):
    """Metrics with 95 % CIs, confusion matrix, ROC and a live threshold slider; new vs active."""

    evaluation_finished = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle(self.tr("Evaluation"))
        self.setSubTitle(self.tr("How the new model does on images it was not trained on, next to the model "
                                 "in use now."))
        self.results: dict[str, object] = {}
        self.active_error: str | None = None
        self.state = "idle"
        self._job = LatestJob(self, "pneumo-evaluation")
        self._job.yielded.connect(self._on_item)
        self._job.failed.connect(self._on_failed)
        self._job.done.connect(self._on_done)

        self.source_label = MessageLabel(self)
        self.overlap_label = MessageLabel(self)
        self.progress = QProgressBar(self)
        self.progress.setMaximumHeight(16)
        self.progress_label = QLabel(self)
        self.error_label = MessageLabel(self)

        self.table = QTableWidget(len(_METRIC_ROWS) + 2, 4, self)
        self.table.setHorizontalHeaderLabels([self.tr("New model"), self.tr("95% CI"), self.tr("Active model"),
                                              self.tr("95% CI")])
        self.table.setVerticalHeaderLabels([self.tr("Images"), self.tr("Refused")]
                                           + [_t(label) for _, label in _METRIC_ROWS])
        self.table.verticalHeaderItem(1).setToolTip(self.tr(
            "Images the model declined to classify (unreadable, or not like a chest X-ray). "
            "They count as wrong answers in every metric."))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setWordWrap(False)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self.compare_label = QLabel(self)
        self.compare_label.setWordWrap(True)
        self.confusion = ConfusionMatrixCanvas(self)
        self.roc = RocCanvas(self)
        self.reliability = ReliabilityCanvas(self)
        # ROC and calibration share one place: both compare the two models on the same images.
        self.curve_tabs = QTabWidget(self)
        self.curve_tabs.addTab(self.roc, self.tr("ROC curve"))
        self.curve_tabs.addTab(self.reliability, self.tr("Calibration"))
        self.robustness = RobustnessCanvas(self)
        self.curve_tabs.addTab(self.robustness, self.tr("Robustness"))

        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(1, 999)
        self.slider.setSingleStep(1)
        self.slider.setPageStep(25)
        self.slider.valueChanged.connect(self._on_slider)
        self.threshold_label = QLabel(self)
        self.sensitivity_label = QLabel(self)
        self.specificity_label = QLabel(self)
        for label in (self.threshold_label, self.sensitivity_label, self.specificity_label):
            font = QFont(label.font())
            font.setBold(True)
            label.setFont(font)
            label.setMinimumWidth(190)
        self.reset_button = QPushButton(self.tr("Back to the model's threshold"), self)
        self.reset_button.clicked.connect(self.reset_threshold)
        self.slider_note = QLabel(self)
        self.slider_note.setWordWrap(True)
        slider_box = QGroupBox(self.tr("Explore the threshold (new model)"), self)
        grid = QGridLayout(slider_box)
        grid.addWidget(self.slider, 0, 0, 1, 4)
        grid.addWidget(self.threshold_label, 1, 0)
        grid.addWidget(self.sensitivity_label, 1, 1)
        grid.addWidget(self.specificity_label, 1, 2)
        grid.addWidget(self.reset_button, 1, 3, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self.slider_note, 2, 0, 1, 4)

        left = QVBoxLayout()
        left.addWidget(self.table)
        left.addWidget(self.compare_label)
        left.addStretch(1)
        body = QHBoxLayout()
        body.addLayout(left, 44)
        body.addWidget(self.confusion, 25)
        body.addWidget(self.curve_tabs, 31)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress_label)
        progress_row.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.source_label)
        layout.addWidget(self.overlap_label)
        layout.addLayout(progress_row)
        layout.addWidget(self.error_label)
        layout.addLayout(body, 1)
        layout.addWidget(slider_box)
        self._set_slider_enabled(False)

    # ----- control --------------------------------------------------------------------------
    def initializePage(self) -> None:  # noqa: N802 - Qt API
        self.start_evaluation()

    def cleanupPage(self) -> None:  # noqa: N802 - Qt API
        self._job.stop()
        self.state = "idle"

    def start_evaluation(self) -> None:
        wizard = self.wiz()
        self.results = {}
        self.active_error = None
        self.state = "running"
        self._fill_table()
        self.confusion.show_matrix(None, [])
        self.roc.clear()
        self.reliability.clear()
        self.robustness.show_models(None, None, str)
        self.error_label.clear_message()
        self.overlap_label.clear_message()
        self._set_slider_enabled(False)
        new = wizard.finished_training.classifier
        active = wizard.active_classifier
        test_dir = wizard.test_dir
        if test_dir:
            self.source_label.show_message("info", self.tr("Evaluated on the test folder {f}, which training "
                                                           "never saw.").format(f=test_dir))
        else:
            n_val = int((wizard.split_table["split"] == "val").sum()) if wizard.split_table is not None else 0
            self.source_label.show_message("warning", self.tr(
                "No test folder was given, so this is the validation split ({n} images). It also chose "
                "the model's threshold and best epoch, so these numbers are somewhat optimistic.")
                .format(n=f"{n_val:,}"))
        self.progress.setRange(0, 0)
        self.progress.show()
        self.progress_label.setText(self.tr("Evaluating the new model…"))
        split_table, train_table, n_boot = wizard.split_table, wizard.table, wizard.n_bootstrap
        self._job.start(lambda: evaluation_run(new, active, test_dir, split_table, train_table, n_boot))
        self.completeChanged.emit()

    def stop(self) -> bool:
        return self._job.stop()

    def threads_running(self) -> bool:
        return self._job.threads_running()

    # ----- events ---------------------------------------------------------------------------
    @Slot(object)
    def _on_item(self, item: object) -> None:
        if isinstance(item, EvalProgress):
            self.progress.setRange(0, item.total)
            self.progress.setValue(item.done)
            which = self.tr("new model") if item.which == "new" else self.tr("active model")
            if item.done < item.total:
                self.progress_label.setText(self.tr("Evaluating the {which}: {d} of {n} images").format(
                    which=which, d=item.done, n=item.total))
            else:
                self.progress_label.setText(self.tr("Evaluating the {which}: computing the 95% confidence "
                                                    "intervals…").format(which=which))
        elif isinstance(item, EvalDone):
            self.results[item.which] = item.result
            self._fill_table()
            if item.which == "new":
                self._show_new(item.result)
            else:
                self._add_active_curve(item.result)
        elif isinstance(item, EvalFailed):
            self.active_error = item.message
            self._fill_table()
        elif isinstance(item, OverlapCheck):
            if item.overlapping:
                names = ", ".join(Path(p).name for p in item.overlapping[:3])
                self.overlap_label.show_message("warning", self.tr(
                    "{n} of the {m} test images are byte-identical to training images ({names}). "
                    "They make the test numbers look better than they are.").format(
                    n=len(item.overlapping), m=item.n_test, names=names))

    @Slot(str, str)
    def _on_failed(self, message: str, _tb: str) -> None:
        self.state = "failed"
        self.progress.hide()
        self.progress_label.clear()
        self.error_label.show_message("error", self.tr("The evaluation could not be completed: {msg}")
                                      .format(msg=message))
        self.completeChanged.emit()
        self.evaluation_finished.emit()

    @Slot()
    def _on_done(self) -> None:
        self.state = "finished"
        self.progress.hide()
        self.progress_label.clear()
        self._fill_table()
        self.completeChanged.emit()
        self.evaluation_finished.emit()

    # ----- display --------------------------------------------------------------------------
    def _show_new(self, result) -> None:
        report = result.report
        classifier = self.wiz().finished_training.classifier
        self._classes = report["classes"]
        self._normal_index = int(report.get("normal_index", classifier.normal_index))
        self._is_abnormal = result.true_index != self._normal_index
        roc = report.get("roc") or {}
        op = (1 - report["specificity"], report["recall"]) if is_finite(report.get("specificity")) and \
            is_finite(report.get("recall")) else None
        self.roc.add_curve("new", roc.get("fpr", []), roc.get("tpr", []),
                           self.tr("new model (AUC {auc})").format(auc=_num(report.get("auc"))), BLUE,
                           operating_point=op)
        if not roc.get("fpr"):
            self.roc.show_message(self.tr("ROC undefined: the images are all of one kind"))
        self.reliability.add_model("new", report.get("reliability"), report.get("ece"), self.tr("new model"), BLUE)
        # Stress figures come from the model files (computed on validation when each was trained).
        active = self.wiz().active_classifier
        self.robustness.show_models(classifier.metadata.get("validation_stress_metrics"),
                                    active.metadata.get("validation_stress_metrics") if active is not None else None,
                                    lambda key: stress_label(key, short=True))
        self._set_slider_enabled(True)
        self.slider.blockSignals(True)
        self.slider.setValue(int(round(classifier.threshold * 1000)))
        self.slider.blockSignals(False)
        self._on_slider(self.slider.value())
        self.slider_note.setText(self.tr(
            "For exploring only: the saved model keeps the threshold chosen on the validation split "
            "({t:.3f}). ◇ marks each model's own threshold on the ROC curve, ● the slider.").format(
            t=classifier.threshold))

    def _add_active_curve(self, result) -> None:
        report = result.report
        roc = report.get("roc") or {}
        op = (1 - report["specificity"], report["recall"]) if is_finite(report.get("specificity")) and \
            is_finite(report.get("recall")) else None
        self.roc.add_curve("active", roc.get("fpr", []), roc.get("tpr", []),
                           self.tr("active model (AUC {auc})").format(auc=_num(report.get("auc"))), GREY,
                           dashed=True, operating_point=op)
        self.reliability.add_model("active", report.get("reliability"), report.get("ece"), self.tr("active model"),
                                   GREY, dashed=True)

    def _fill_table(self) -> None:
        for col, which in ((0, "new"), (2, "active")):
            result = self.results.get(which)
            report = result.report if result is not None else None
            values = [("", "")] * (len(_METRIC_ROWS) + 2)
            if report is not None:
                values = [(f"{report['n']:,}", ""), (f"{report['n_refused']:,}", "")]
                for key, _ in _METRIC_ROWS:
                    value = report.get(key)
                    ci = (report.get("ci") or {}).get(key)
                    if key in ("f1", "auc"):
                        text = _num(value)
                        ci_text = f"{ci[0]:.3f}–{ci[1]:.3f}" if ci else "–"
                    else:
                        text = _pct(value)
                        ci_text = f"{100 * ci[0]:.1f}–{100 * ci[1]:.1f}%" if ci else "–"
                    values.append((text, ci_text))
            for row, (text, ci_text) in enumerate(values):
                for offset, content in ((0, text), (1, ci_text)):
                    item = QTableWidgetItem(content)
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    self.table.setItem(row, col + offset, item)
        self._bold_better()
        active = self.wiz().active_classifier if self.wiz() is not None else None
        if active is None:
            self.compare_label.setText(self.tr("There is no active model to compare with."))
        elif self.active_error:
            self.compare_label.setText(self.tr("The active model ({name}) could not be evaluated on these "
                                               "images: {msg}").format(name=active.name, msg=self.active_error))
        elif "active" in self.results:
            self.compare_label.setText(self.tr(
                "Active model: {name}, threshold {t:.3f}. Where the 95% intervals overlap, the "
                "difference may be due to chance.").format(name=active.name, t=active.threshold))
        elif self.state == "running":
            self.compare_label.setText(self.tr("The active model ({name}) is evaluated next.").format(name=active.name))
        else:
            self.compare_label.clear()
        self.table.resizeRowsToContents()
        self.table.resizeColumnsToContents()
        height = self.table.horizontalHeader().height() + sum(
            self.table.rowHeight(r) for r in range(self.table.rowCount())) + 2 * self.table.frameWidth()
        self.table.setFixedHeight(height)
        width = self.table.verticalHeader().sizeHint().width() + sum(
            self.table.columnWidth(c) for c in range(self.table.columnCount())) + 2 * self.table.frameWidth() + 4
        self.table.setMinimumWidth(width)

    def _bold_better(self) -> None:
        new, active = self.results.get("new"), self.results.get("active")
        for row, (key, _) in enumerate(_METRIC_ROWS, start=2):
            for col in (0, 2):
                item = self.table.item(row, col)
                if item is None:
                    continue
                font = item.font()
                font.setBold(False)
                if new is not None and active is not None:
                    a, b = new.report.get(key), active.report.get(key)
                    if is_finite(a) and is_finite(b) and a != b:
                        font.setBold((a > b) == (col == 0))
                item.setFont(font)

    def _set_slider_enabled(self, enabled: bool) -> None:
        for widget in (self.slider, self.reset_button):
            widget.setEnabled(enabled)
        if not enabled:
            self.threshold_label.setText(self.tr("Threshold: –"))
            self.sensitivity_label.setText(self.tr("Sensitivity: –"))
            self.specificity_label.setText(self.tr("Specificity: –"))
            self.slider_note.clear()

    def threshold(self) -> float:
        return self.slider.value() / 1000.0

    def sensitivity_specificity(self) -> tuple[float, float]:
        result = self.results["new"]
        return sensitivity_specificity_at(self._is_abnormal, result.prob_abnormal, self.threshold())

    @Slot()
    def reset_threshold(self) -> None:
        wizard = self.wiz()
        if wizard.finished_training is not None:
            self.slider.setValue(int(round(wizard.finished_training.classifier.threshold * 1000)))

    @Slot(int)
    def _on_slider(self, _value: int) -> None:
        result = self.results.get("new")
        if result is None:
            return
        t = self.threshold()
        sens, spec = self.sensitivity_specificity()
        self.threshold_label.setText(self.tr("Threshold: {t:.3f}").format(t=t))
        self.sensitivity_label.setText(self.tr("Sensitivity: {v}").format(v=_pct(sens)))
        self.specificity_label.setText(self.tr("Specificity: {v}").format(v=_pct(spec)))
        self.roc.set_slider_point(1 - spec if math.isfinite(spec) else None, sens if math.isfinite(sens) else None)
        report = result.report
        refused = int(report.get("n_refused", 0))
        note = self.tr("{n} refused images not shown (counted as wrong in the table)").format(n=refused) \
            if refused else ""
        matrix = binary_confusion_at(result, self._classes, self._normal_index, t)
        if matrix is not None:
            self.confusion.show_matrix(matrix, self._classes, self.tr("Confusion matrix\nat threshold {t:.3f}")
                                       .format(t=t), note)
        elif self.confusion.matrix is None:
            self.confusion.show_matrix(report["confusion_matrix"], self._classes,
                                       self.tr("Confusion matrix\nat the model's threshold"), note)

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return self.state in ("finished", "failed")


# ================================================================================================
# 5. Adopt
# ================================================================================================
class AdoptPage(_Page):
    """Name the model and optionally make it active; nothing is written until Finish."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle(self.tr("Keep the new model"))
        self.setSubTitle(self.tr("Nothing has been saved yet. Press Save model to keep it, or Cancel to "
                                 "discard it. The built-in model is never changed."))
        self.setFinalPage(True)
        self.summary_label = QLabel(self)
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.name_edit = QLineEdit(self)
        self.name_edit.setMaxLength(80)
        self.name_edit.setMinimumWidth(420)
        self.name_edit.textChanged.connect(self._update_target)
        self.path_label = QLabel(self)
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.path_label.setTextFormat(Qt.TextFormat.PlainText)
        self.name_message = MessageLabel(self)
        self.make_active = QCheckBox(self.tr("Make it the active model (used for new predictions)"), self)
        self.save_error = MessageLabel(self)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow(self.tr("Model name:"), self.name_edit)
        form.addRow(self.tr("Saved as:"), self.path_label)
        summary_box = QGroupBox(self.tr("The new model"), self)
        QVBoxLayout(summary_box).addWidget(self.summary_label)
        layout = QVBoxLayout(self)
        layout.addWidget(summary_box)
        layout.addLayout(form)
        layout.addWidget(self.name_message)
        layout.addWidget(self.make_active)
        layout.addWidget(self.save_error)
        layout.addStretch(1)

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        wizard = self.wiz()
        wizard.setButtonText(QWizard.WizardButton.FinishButton, self.tr("Save model"))
        classifier = wizard.finished_training.classifier
        if not self.name_edit.text():
            self.name_edit.setText(default_model_name(classifier.classes, _dt.datetime.now().strftime("%Y-%m-%d-%H%M")))
        self.save_error.clear_message()
        self.summary_label.setText(self._summary_text())
        self._update_target()

    def _summary_text(self) -> str:
        wizard = self.wiz()
        finished = wizard.finished_training
        classifier = finished.classifier
        data = classifier.metadata.get("training", {}).get("data", {})
        n_train = sum(data.get("train_counts", {}).values())
        n_val = sum(data.get("val_counts", {}).values())
        lines = [
            self.tr("Classes: {c}").format(c=", ".join(classifier.classes)),
            self.tr("Trained on {n} images from {f}, validated on {m}; {e} epochs in {t}.").format(
                n=f"{n_train:,}", f=wizard.data_dir, m=f"{n_val:,}", e=wizard.config.epochs,
                t=format_duration(finished.seconds)),
            self.tr("Operating threshold {t:.3f}.").format(t=classifier.threshold),
        ]
        vm = finished.validation_metrics
        lines.append(self.tr("Validation: accuracy {a}, sensitivity {s}, specificity {p}, AUC {u}.").format(
            a=_pct(vm.get("accuracy")), s=_pct(vm.get("recall")), p=_pct(vm.get("specificity")),
            u=_num(vm.get("auc"))))
        result = wizard.evaluation_page.results.get("new")
        if result is not None and wizard.test_dir:
            r = result.report
            lines.append(self.tr("Test folder: accuracy {a}, sensitivity {s}, specificity {p}, AUC {u} "
                                 "(stored in the model file).").format(
                a=_pct(r.get("accuracy")), s=_pct(r.get("recall")), p=_pct(r.get("specificity")),
                u=_num(r.get("auc"))))
        active_result = wizard.evaluation_page.results.get("active")
        if result is not None and active_result is not None:
            a, n = active_result.report, result.report
            where = self.tr("the test folder") if wizard.test_dir else self.tr("the validation split")
            lines.append(self.tr("Active model ({name}) on {where}: accuracy {a}, sensitivity {s}, specificity "
                                 "{p}, AUC {u}.").format(
                name=wizard.active_classifier.name, where=where, a=_pct(a.get("accuracy")),
                s=_pct(a.get("recall")), p=_pct(a.get("specificity")), u=_num(a.get("auc"))))
            if is_finite(n.get("auc")) and is_finite(a.get("auc")) and n["auc"] < a["auc"]:
                lines.append(self.tr("Note: the new model's AUC is lower than the active model's on the same "
                                     "images."))
        return "\n".join(lines)

    def target_path(self) -> Path | None:
        stem = sanitise_model_name(self.name_edit.text())
        return user_models_dir() / f"{stem}.pneumo" if stem else None

    @Slot()
    def _update_target(self) -> None:
        path = self.target_path()
        if path is None:
            self.path_label.setText("–")
            self.name_message.show_message("error", self.tr("Type a name with at least one letter or digit."))
        elif self._protected(path):
            self.path_label.setText(str(path))
            self.name_message.show_message("error", self.tr("That name belongs to a built-in model; choose another."))
        else:
            self.path_label.setText(str(path))
            if path.exists():
                self.name_message.show_message("warning", self.tr("A model with this name exists. You will be "
                                                                  "asked before it is replaced."))
            elif sanitise_model_name(self.name_edit.text()) != self.name_edit.text().strip():
                self.name_message.show_message("info", self.tr("Characters that cannot appear in a file name "
                                                               "were replaced."))
            else:
                self.name_message.clear_message()
        self.completeChanged.emit()

    @staticmethod
    def _protected(path: Path) -> bool:
        try:
            resolved = path.resolve()
            shipped = {p.resolve() for p in BUILTIN_MODEL_PATHS}
            return resolved in shipped or RESOURCES_DIR.resolve() in resolved.parents
        except OSError:
            return True

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        path = self.target_path()
        return path is not None and not self._protected(path)

    def confirm_overwrite(self, path: Path) -> bool:
        answer = QMessageBox.question(
            self, self.tr("Replace model?"),
            self.tr("A model named {name} already exists in your models folder.\nReplace it with the new model?")
            .format(name=path.name),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def validatePage(self) -> bool:  # noqa: N802 - Qt API
        wizard = self.wiz()
        path = self.target_path()
        if path is None or self._protected(path):
            return False
        if path.exists() and not self.confirm_overwrite(path):
            return False
        classifier = wizard.finished_training.classifier
        classifier.metadata["name"] = sanitise_model_name(self.name_edit.text())
        result = wizard.evaluation_page.results.get("new")
        if result is not None and wizard.test_dir:
            metrics = {k: v for k, v in result.report.items() if k != "roc"}
            metrics["data_dir"] = str(wizard.test_dir)
            classifier.metadata["test_metrics"] = metrics
        try:
            classifier.save(path)
        except (OSError, ModelFileError, ValueError) as exc:
            self.save_error.show_message("error", self.tr("The model could not be saved: {msg}").format(msg=exc))
            return False
        wizard.saved_path = path
        wizard.model_adopted.emit(str(path), self.make_active.isChecked())
        return True
