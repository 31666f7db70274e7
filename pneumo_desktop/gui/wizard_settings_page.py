"""Wizard page 2: training settings, an optional separate test folder, and the time estimate."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QCheckBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QMessageBox,
    QSpinBox, QVBoxLayout, QWidget,
)

from ..core.errors import DatasetError
from ..core.training import TrainingConfig
from .i18n import format_duration
from .message_label import MessageLabel
from .wizard_jobs import estimate_training_seconds
from .wizard_page import WizardPage, browse_row, epochs_text


class SettingsPage(WizardPage):
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
        self.epochs.valueChanged.connect(self._update_epoch_suffix)
        self._update_epoch_suffix(self.epochs.value())
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

        self.test_edit, browse, test_row = browse_row(
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

    @Slot(int)
    def _update_epoch_suffix(self, n: int) -> None:
        self.epochs.setSuffix(epochs_text(n)[len(str(n)):])

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
        return estimate_training_seconds(self.n_images(), self.epochs.value(), cfg.input_size, cfg.widths,
                                         detector_epochs=cfg.detector_epochs)

    @Slot()
    def update_estimate(self) -> None:
        if self.wiz() is None:
            return
        seconds = self.estimate_seconds()
        self.estimate_label.setText(self.tr("About {t}").format(t=format_duration(seconds)))
        cfg = self.wiz().base_config
        self.estimate_note.setText(self.tr(
            "An estimate, not a promise: about 0.01 s per image per epoch at 150 px on a 2-core CPU "
            "({n} images × {e} at {s} px), plus reading each image once, training the check that refuses "
            "images that are not chest X-rays, and calibrating at the end. A faster computer takes less, a "
            "busy one more; images read before are not read again.").format(
            n=f"{self.n_images():,}", e=epochs_text(self.epochs.value()), s=cfg.input_size))

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
