"""Wizard page 5: name the new model and optionally make it active; nothing is written until Finish."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox, QFormLayout, QGroupBox, QLabel, QLineEdit, QMessageBox, QVBoxLayout, QWidget, QWizard,
)

from ..core.errors import ModelFileError
from ..paths import BUILTIN_MODEL_PATHS, RESOURCES_DIR, user_models_dir
from .i18n import format_duration
from .message_label import MessageLabel
from .wizard_jobs import default_model_name, is_finite, sanitise_model_name
from .wizard_page import WizardPage, epochs_text, num_text, pct_text


class AdoptPage(WizardPage):
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
        self.summary_box = summary_box = QGroupBox(self.tr("The new model"), self)
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
            when = _dt.datetime.now().strftime("%Y-%m-%d-%H%M")
            parent = wizard.active_classifier if wizard.adapting() else None
            name = sanitise_model_name(f"{parent.name}-adapted-{when}") if parent is not None else ""
            self.name_edit.setText(name or default_model_name(classifier.classes, when))
        self.save_error.clear_message()
        self.summary_box.setTitle(self.tr("The adapted model") if wizard.adapting() else self.tr("The new model"))
        self.summary_label.setText(self._summary_text())
        self._update_target()

    def _lineage_lines(self) -> list[str]:
        """Where an adapted model came from, from its file's ``lineage``, and how it compares."""
        wizard = self.wiz()
        finished = wizard.finished_training
        classifier = finished.classifier
        lineage = classifier.metadata.get("lineage") or {}
        parent = lineage.get("parent") or {}
        counts = lineage.get("local_counts") or {}
        created = str(parent.get("created") or "")[:10]
        lines = [
            self.tr("Classes: {c}").format(c=", ".join(classifier.classes)),
            self.tr("Adapted from {name} (version {version}{created}) on {n} local films ({counts}) from {f}; "
                    "{e} of fine-tuning, in {t}.").format(
                name=parent.get("name", "?"), version=parent.get("version", "?"),
                created=self.tr(", created {d}").format(d=created) if created else "",
                n=f"{sum(counts.values()):,}", counts=", ".join(f"{k} {v:,}" for k, v in counts.items()),
                f=wizard.data_dir, e=epochs_text(wizard.finetune_config.epochs), t=format_duration(finished.seconds)),
            self.tr("Operating threshold {t:.3f}.").format(t=classifier.threshold),
        ]
        results = wizard.evaluation_page.results
        new, old = results.get("new"), results.get("active")
        if new is not None and old is not None:
            where = (self.tr("the test folder") if wizard.test_dir
                     else self.tr("the local films held out from the fine-tune"))
            n, a = new.report, old.report
            lines.append(self.tr("On {where}: adapted model accuracy {a}, sensitivity {s}, specificity {p}, "
                                 "AUC {u}; {name} before adapting: accuracy {a2}, sensitivity {s2}, specificity "
                                 "{p2}, AUC {u2}.").format(
                where=where, a=pct_text(n.get("accuracy")), s=pct_text(n.get("recall")),
                p=pct_text(n.get("specificity")), u=num_text(n.get("auc")), name=parent.get("name", "?"),
                a2=pct_text(a.get("accuracy")), s2=pct_text(a.get("recall")), p2=pct_text(a.get("specificity")),
                u2=num_text(a.get("auc"))))
            if is_finite(n.get("auc")) and is_finite(a.get("auc")) and n["auc"] < a["auc"]:
                lines.append(self.tr("Note: the adapted model's AUC is lower than the model it started from on "
                                     "the same images."))
        lines.append(self.tr("The file records this lineage (the parent's name, version and date, and the local "
                             "class counts), never a folder of this computer."))
        return lines

    def _summary_text(self) -> str:
        wizard = self.wiz()
        if wizard.adapting():
            return "\n".join(self._lineage_lines())
        finished = wizard.finished_training
        classifier = finished.classifier
        data = classifier.metadata.get("training", {}).get("data", {})
        n_train = sum(data.get("train_counts", {}).values())
        n_val = sum(data.get("val_counts", {}).values())
        lines = [
            self.tr("Classes: {c}").format(c=", ".join(classifier.classes)),
            self.tr("Trained on {n} images from {f}, validated on {m}; {e} in {t}.").format(
                n=f"{n_train:,}", f=wizard.data_dir, m=f"{n_val:,}", e=epochs_text(wizard.config.epochs),
                t=format_duration(finished.seconds)),
            self.tr("Operating threshold {t:.3f}.").format(t=classifier.threshold),
        ]
        vm = finished.validation_metrics
        lines.append(self.tr("Validation: accuracy {a}, sensitivity {s}, specificity {p}, AUC {u}.").format(
            a=pct_text(vm.get("accuracy")), s=pct_text(vm.get("recall")), p=pct_text(vm.get("specificity")),
            u=num_text(vm.get("auc"))))
        result = wizard.evaluation_page.results.get("new")
        if result is not None and wizard.test_dir:
            r = result.report
            lines.append(self.tr("Test folder: accuracy {a}, sensitivity {s}, specificity {p}, AUC {u} "
                                 "(stored in the model file).").format(
                a=pct_text(r.get("accuracy")), s=pct_text(r.get("recall")), p=pct_text(r.get("specificity")),
                u=num_text(r.get("auc"))))
        active_result = wizard.evaluation_page.results.get("active")
        if result is not None and active_result is not None:
            a, n = active_result.report, result.report
            where = self.tr("the test folder") if wizard.test_dir else self.tr("the validation split")
            lines.append(self.tr("Active model ({name}) on {where}: accuracy {a}, sensitivity {s}, specificity "
                                 "{p}, AUC {u}.").format(
                name=wizard.active_classifier.name, where=where, a=pct_text(a.get("accuracy")),
                s=pct_text(a.get("recall")), p=pct_text(a.get("specificity")), u=num_text(a.get("auc"))))
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
            # Not the test folder's path: a shared model file must not name this site's folders.
            classifier.metadata["test_metrics"] = {k: v for k, v in result.report.items() if k != "roc"}
        try:
            classifier.save(path)
        except (OSError, ModelFileError, ValueError) as exc:
            self.save_error.show_message("error", self.tr("The model could not be saved: {msg}").format(msg=exc))
            return False
        wizard.saved_path = path
        wizard.model_adopted.emit(str(path), self.make_active.isChecked())
        return True
