"""Wizard page 2: where training starts (the model in use, adapted to the folder's films, or from
scratch), the from-scratch settings, an optional separate test folder, and the time estimate."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QMessageBox,
    QRadioButton, QSpinBox, QVBoxLayout, QWidget,
)

from ..core.errors import DatasetError
from ..core.finetune import FineTuneConfig, check_local_folder, parent_recipe
from ..core.training import TrainingConfig
from .i18n import format_duration
from .message_label import MessageLabel
from .wizard_jobs import (
    ADAPT_BY_DEFAULT_BELOW, FINETUNE_SECONDS_PER_STEP, FINETUNE_WIDTHS, estimate_finetune_seconds,
    estimate_training_seconds, finetune_plan,
)
from .wizard_page import WizardPage, browse_row, epochs_text


def _muted(label: QLabel) -> QLabel:
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # muted, theme-aware
    return label


class SettingsPage(WizardPage):
    """Start from the model in use or from scratch, the settings, a test folder and the estimate.

    ``adapt_radio`` / ``scratch_radio``: the choice. Adapting is offered when the active model's
    classes are the folder's and the folder is large enough (``core.finetune.check_local_folder``;
    else the radio is disabled and ``adapt_reason`` says why), and chosen by default below
    ``ADAPT_BY_DEFAULT_BELOW`` films. While adapting, the from-scratch settings are hidden and
    ``adapt_box`` describes the fine-tune and its validation instead.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle(self.tr("Training settings"))
        self.setSubTitle(self.tr("Start from the model in use or from scratch. A separate test folder gives the "
                                 "fairest evaluation; without one, films of this folder held out from training "
                                 "are used."))
        self.data_label = QLabel(self)
        self.data_label.setWordWrap(True)

        # ----- where training starts --------------------------------------------------------
        self.adapt_radio = QRadioButton(self)
        self.adapt_note = _muted(QLabel(self.tr(
            "Recommended below about 1,000 films. Every layer starts from this model's weights and is "
            "fine-tuned briefly on your films; its classes, image size and checks are kept."), self))
        self.scratch_radio = QRadioButton(self.tr("From scratch: a new network that starts from random weights"),
                                          self)
        self.scratch_note = _muted(QLabel(self.tr(
            "Needs thousands of films to do as well as a trained model; the settings below are "
            "the recipe of the shipped default model."), self))
        for note in (self.adapt_note, self.scratch_note):
            note.setWordWrap(True)
            note.setContentsMargins(24, 0, 0, 4)  # under the radio's text, not its circle
        self.start_group = QButtonGroup(self)
        self.start_group.addButton(self.adapt_radio)
        self.start_group.addButton(self.scratch_radio)
        self.scratch_radio.setChecked(True)
        self.adapt_radio.toggled.connect(self._on_start_changed)
        self.adapt_reason = MessageLabel(self)
        start_box = QGroupBox(self.tr("Start from"), self)
        start_layout = QVBoxLayout(start_box)
        start_layout.setSpacing(2)
        start_layout.addWidget(self.adapt_radio)
        start_layout.addWidget(self.adapt_note)
        start_layout.addWidget(self.adapt_reason)
        start_layout.addWidget(self.scratch_radio)
        start_layout.addWidget(self.scratch_note)

        # ----- adapting: what is done, and how it is checked ---------------------------------
        self.adapt_recipe_label = QLabel(self)
        self.adapt_recipe_label.setWordWrap(True)
        self.adapt_recipe_label.setTextFormat(Qt.TextFormat.PlainText)  # the model's name is not markup
        self.validation_label = QLabel(self)
        self.validation_label.setWordWrap(True)
        self.validation_label.setTextFormat(Qt.TextFormat.RichText)
        self.adapt_box = QGroupBox(self.tr("Adapting the model in use"), self)
        adapt_layout = QVBoxLayout(self.adapt_box)
        adapt_layout.addWidget(self.adapt_recipe_label)
        adapt_layout.addWidget(self.validation_label)

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

        # The from-scratch recipe, hidden while adapting (a fine-tune keeps the model's recipe).
        self.scratch_settings = QWidget(self)
        form = QFormLayout(self.scratch_settings)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)

        def row(label: str, widget: QWidget, hint: str) -> None:
            line = QHBoxLayout()
            widget.setMinimumWidth(120)
            line.addWidget(widget)
            if hint:
                note = _muted(QLabel(hint, self))
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
        estimate_box = QGroupBox(self.tr("Estimated time"), self)
        est_layout = QVBoxLayout(estimate_box)
        est_layout.addWidget(self.estimate_label)
        est_layout.addWidget(self.estimate_note)

        layout = QVBoxLayout(self)
        layout.addWidget(self.data_label)
        layout.addWidget(start_box)
        layout.addWidget(self.scratch_settings)
        layout.addWidget(self.adapt_box)
        layout.addWidget(test_box)
        layout.addWidget(estimate_box)
        layout.addStretch(1)

        for spin in (self.epochs, self.val_fraction):
            spin.valueChanged.connect(self.update_estimate)
        self._test_ok = True
        self.adapt_box.hide()

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
        self._offer_adapting()
        self._check_test_folder()
        self.update_estimate()

    # ----- where training starts ------------------------------------------------------------
    def adapt_problem(self) -> str | None:
        """Why the active model cannot be adapted to this folder, or None when it can."""
        wizard = self.wiz()
        parent = wizard.active_classifier
        if parent is None:
            return self.tr("There is no model in use to adapt. Load one with Model › Load model file…, or "
                           "train from scratch.")
        if wizard.table is None:
            return self.tr("No training folder was scanned.")
        try:
            check_local_folder(wizard.table, parent)
        except DatasetError as exc:
            return self.tr("Adapting is not possible for this folder: {msg}.").format(msg=exc)
        return None

    def _offer_adapting(self) -> None:
        wizard = self.wiz()
        parent = wizard.active_classifier
        if parent is not None:
            self.adapt_radio.setText(self.tr("The model in use, {name} (version {version}): adapt it to your "
                                             "films").format(name=parent.name, version=parent.version))
        else:
            self.adapt_radio.setText(self.tr("The model in use: adapt it to your films"))
        problem = self.adapt_problem()
        self.adapt_radio.setEnabled(problem is None)
        self.adapt_note.setEnabled(problem is None)
        if problem:
            self.adapt_reason.show_message("info", problem)
            self.scratch_radio.setChecked(True)
        else:
            self.adapt_reason.clear_message()
            if self.n_images() < ADAPT_BY_DEFAULT_BELOW:
                self.adapt_radio.setChecked(True)
            else:
                self.scratch_radio.setChecked(True)
        self._on_start_changed()

    def adapting(self) -> bool:
        """True when the person chose to adapt the model in use (and it can be)."""
        return self.adapt_radio.isChecked() and self.adapt_radio.isEnabled()

    @Slot()
    def _on_start_changed(self) -> None:
        adapting = self.adapting()
        self.scratch_settings.setVisible(not adapting)
        self.adapt_box.setVisible(adapting)
        if adapting and self.wiz() is not None:
            self._describe_finetune()
        self._check_test_folder()
        self.update_estimate()

    def _describe_finetune(self) -> None:
        wizard = self.wiz()
        parent = wizard.active_classifier
        config = self.finetune_config()
        augment = (self.tr("with the random rotations, zoom and contrast changes the model was trained with")
                   if parent_recipe(parent).augment else self.tr("without random image changes, as the model was "
                                                                 "trained"))
        self.adapt_recipe_label.setText(self.tr(
            "Every layer of the model in use ({name}) is fine-tuned on your films for {e}, at a low learning "
            "rate ({lr:g}), {b} films per step, {augment}. Its classes ({classes}) and image size stay as they "
            "are; the check that refuses images that are not chest X-rays is kept, and the check for unfamiliar "
            "images is refitted to your films.").format(
            name=parent.name, e=epochs_text(config.epochs), lr=config.learning_rate, b=config.batch_size,
            augment=augment, classes=", ".join(parent.classes)))
        plan = finetune_plan(self.n_images(), config)
        if plan.cross_fit:
            text = self.tr(
                "<b>Validation:</b> fewer than {limit} films, so none can be spared for a validation part. "
                "The model is checked by {k}-fold cross-validation instead: the films are split into {k} parts "
                "(a patient's films stay in one part), and {k} fine-tunes, each on all but one part, predict "
                "the part they did not see. Those predictions set the decision threshold and are compared with "
                "the model in use on the same films; the model you keep is then fine-tuned once more on all "
                "{n} films.").format(limit=f"{config.hold_out_from:,}", k=plan.folds, n=f"{plan.n_images:,}")
        else:
            text = self.tr(
                "<b>Validation:</b> {pct}% of the films (about {m}, a patient's films kept together) are held "
                "out of the fine-tune. They set the decision threshold and compare the adapted model with the "
                "model in use on the same films.").format(pct=round(100 * config.val_fraction),
                                                          m=f"{plan.n_held_out:,}")
        self.validation_label.setText(text)

    def finetune_config(self) -> FineTuneConfig:
        """The fine-tuning schedule used when adapting (the wizard's ``base_finetune``)."""
        return replace(self.wiz().base_finetune)

    @Slot(int)
    def _update_epoch_suffix(self, n: int) -> None:
        self.epochs.setSuffix(epochs_text(n)[len(str(n)):])

    def n_images(self) -> int:
        table = self.wiz().table if self.wiz() is not None else None
        return 0 if table is None else len(table)

    def config(self) -> TrainingConfig:
        """The base configuration with this page's values."""
        return replace(self.wiz().base_config, epochs=self.epochs.value(), batch_size=self.batch_size.value(),
                       learning_rate=float(self.learning_rate.value()), val_fraction=self.val_fraction.value() / 100,
                       augment=self.augment.isChecked(), seed=self.seed.value())

    def _parent_architecture(self) -> tuple[int, tuple[int, ...], int]:
        """The active model's input size, widths and number of networks."""
        parent = self.wiz().active_classifier
        widths = tuple((parent.metadata.get("architecture") or {}).get("widths") or FINETUNE_WIDTHS)
        return int(parent.preprocessing.input_size), widths, max(1, len(parent.members))

    def estimate_seconds(self) -> float:
        if self.adapting():
            size, widths, members = self._parent_architecture()
            return estimate_finetune_seconds(self.n_images(), self.finetune_config(), size, widths, members)
        cfg = self.wiz().base_config
        return estimate_training_seconds(self.n_images(), self.epochs.value(), cfg.input_size, cfg.widths,
                                         detector_epochs=cfg.detector_epochs)

    @Slot()
    def update_estimate(self) -> None:
        if self.wiz() is None:
            return
        seconds = self.estimate_seconds()
        self.estimate_label.setText(self.tr("About {t}").format(t=format_duration(seconds)))
        if self.adapting():
            self.estimate_note.setText(self._finetune_estimate_note())
            return
        cfg = self.wiz().base_config
        self.estimate_note.setText(self.tr(
            "An estimate, not a promise: about 0.01 s per image per epoch at 150 px on a 2-core CPU "
            "({n} images × {e} at {s} px), plus reading each image once, training the check that refuses "
            "images that are not chest X-rays, and calibrating at the end. A faster computer takes less, a "
            "busy one more; images read before are not read again.").format(
            n=f"{self.n_images():,}", e=epochs_text(self.epochs.value()), s=cfg.input_size))

    def _finetune_estimate_note(self) -> str:
        config = self.finetune_config()
        plan = finetune_plan(self.n_images(), config)
        size, widths, members = self._parent_architecture()
        steps = max(config.min_steps_per_epoch, -(-plan.train_sizes[0] // config.batch_size))
        if plan.cross_fit:
            fits = self.tr("{f} fine-tunes ({k} for the cross-validation, 1 on all films)").format(
                f=plan.fits, k=plan.folds)
        else:
            fits = self.tr("1 fine-tune")
        networks = self.tr(" × {m} networks").format(m=members) if members > 1 else ""
        scaled = self.tr(", scaled to this model's {px} px and widths").format(px=size) \
            if (size, widths) != (150, FINETUNE_WIDTHS) else ""
        return self.tr(
            "An estimate, not a promise: {fits} × {e} × about {s} steps of {b} films{networks}, at about "
            "{sec:.2f} s per step of 16 films at 150 px on a 2-core CPU{scaled}, plus reading each image once "
            "and, at the end, scoring both models on the held-out films and refitting the unfamiliar-image "
            "check. A faster computer takes less, a busy one more.").format(
            fits=fits, e=epochs_text(config.epochs), s=steps, b=config.batch_size, networks=networks,
            sec=FINETUNE_SECONDS_PER_STEP, scaled=scaled)

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
        if not text and self.wiz() is not None and self.adapting():
            self.test_label.show_message("info", self.tr("No test folder: the adapted model and the model in use "
                                                          "are compared on the films held out from the fine-tune, "
                                                          "which also set its threshold, so its numbers are "
                                                          "slightly optimistic."))
        elif not text:
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
        wizard.finetune_config = None
        if self.adapting():
            finetune = self.finetune_config()
            try:
                finetune.validate()
            except DatasetError as exc:
                QMessageBox.warning(self, self.tr("Training settings"), str(exc))
                return False
            wizard.finetune_config = finetune
        wizard.test_dir = self.test_edit.text().strip() or None
        return True
