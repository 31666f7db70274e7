"""Wizard page 4: the new model's metrics with 95% CIs, its confusion matrix, ROC, calibration
and robustness, compared with the active model, and a live threshold slider.

A model adapted from the active one (``core.finetune``) is shown beside it on the local films
held out from the fine-tune, from the run's own ``LocalComparison``: nothing is scored again.
With a separate test folder, both are scored on that folder as for a model trained anew."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView, QGridLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
    QSizePolicy, QSlider, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from ..core.metrics import sensitivity_specificity_at
from .confusion_matrix_canvas import ConfusionMatrixCanvas
from .latest_job import LatestJob
from .metric_labels import metric_label
from .message_label import MessageLabel
from .plot_canvas import BLUE, GREY
from .reliability_canvas import ReliabilityCanvas
from .robustness_canvas import RobustnessCanvas
from .roc_canvas import RocCanvas
from .stress_labels import stress_label
from .wizard_jobs import (
    EvalDone, EvalFailed, EvalProgress, OverlapCheck, binary_confusion_at, comparison_results, evaluation_run,
    is_finite,
)
from .wizard_page import WizardPage, num_text, pct_text

# The figures of the comparison table, below its Images and Refused rows (names in metric_labels.py).
_METRIC_KEYS = ("accuracy", "recall", "specificity", "precision", "f1", "auc")


class EvaluationPage(WizardPage):
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
        self.adapted = False       # the new model was adapted from the active one
        self.local_comparison = False  # the figures are the fine-tune's held-out comparison
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

        self.table = QTableWidget(len(_METRIC_KEYS) + 2, 4, self)
        self._set_headers()
        self.table.setVerticalHeaderLabels([self.tr("Images"), self.tr("Refused")]
                                           + [metric_label(key) for key in _METRIC_KEYS])
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
        # The note under the matrix is a wrapping label, not figure text: a figure cannot wrap,
        # and centred text wider than the canvas was cut off on both sides.
        self.confusion_note = QLabel(self)
        self.confusion_note.setObjectName("confusionNote")
        self.confusion_note.setWordWrap(True)
        self.confusion_note.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.confusion_note.setVisible(False)
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
        self.slider_box = slider_box = QGroupBox(self.tr("Explore the threshold (new model)"), self)
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
        matrix_column = QVBoxLayout()
        matrix_column.addWidget(self.confusion, 1)
        matrix_column.addWidget(self.confusion_note)
        body.addLayout(matrix_column, 25)
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

    def _set_headers(self) -> None:
        if self.adapted:
            names = [self.tr("Adapted model"), self.tr("95% CI"), self.tr("Model in use"), self.tr("95% CI")]
        else:
            names = [self.tr("New model"), self.tr("95% CI"), self.tr("Active model"), self.tr("95% CI")]
        self.table.setHorizontalHeaderLabels(names)

    def _names(self) -> tuple[str, str]:
        """What the two models are called on the plots."""
        if self.adapted:
            return self.tr("adapted model"), self.tr("model in use")
        return self.tr("new model"), self.tr("active model")

    def start_evaluation(self) -> None:
        wizard = self.wiz()
        self.results = {}
        self.active_error = None
        self.state = "running"
        self.adapted = wizard.adapting()
        comparison = wizard.finished_training.comparison if self.adapted else None
        self.local_comparison = comparison is not None and not wizard.test_dir
        self._set_headers()
        if self.adapted:
            self.setSubTitle(self.tr("How the adapted model does on films it was not fine-tuned on, next to the "
                                     "model it started from, the model in use now."))
            self.slider_box.setTitle(self.tr("Explore the threshold (adapted model)"))
        else:
            self.setSubTitle(self.tr("How the new model does on images it was not trained on, next to the model "
                                     "in use now."))
            self.slider_box.setTitle(self.tr("Explore the threshold (new model)"))
        self._fill_table()
        self.confusion.show_matrix(None, [])
        self.set_confusion_note("")
        self.roc.clear()
        self.reliability.clear()
        self.robustness.show_models(None, None, str)
        self.error_label.clear_message()
        self.overlap_label.clear_message()
        self._set_slider_enabled(False)
        if self.local_comparison:
            self._show_comparison(comparison)
            return
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

    def _show_comparison(self, comparison) -> None:
        """The fine-tune's own comparison: both models on the same held-out local films."""
        classifier = self.wiz().finished_training.classifier
        n = len(comparison.paths)
        local = sum(((classifier.metadata.get("lineage") or {}).get("local_counts") or {}).values())
        if local and n >= local:  # every film was held out once: cross-validation
            lead = self.tr("Both models on the same {n} films of your folder, each predicted by a fine-tune "
                           "that had not seen it (cross-validation); the model in use scored them as it is. "
                           "These predictions also set the adapted model's threshold, so its numbers are "
                           "slightly optimistic.")
        else:
            lead = self.tr("Both models on the same {n} films of your folder, held out from the fine-tune "
                           "(a patient's films kept together). They also set the adapted model's threshold, so "
                           "its numbers are slightly optimistic.")
        self.source_label.show_message("info", lead.format(n=f"{n:,}") + "\n"
                                       + self.tr("How: {how}.").format(how=comparison.how))
        self.results = comparison_results(comparison)
        self._show_new(self.results["new"])
        self._add_active_curve(self.results["active"])
        self._on_done()

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
        new_name, active_name = self._names()
        self.roc.add_curve("new", roc.get("fpr", []), roc.get("tpr", []),
                           self.tr("{model} (AUC {auc})").format(model=new_name, auc=num_text(report.get("auc"))),
                           BLUE, operating_point=op)
        if not roc.get("fpr"):
            self.roc.show_message(self.tr("ROC undefined: the images are all of one kind"))
        self.reliability.add_model("new", report.get("reliability"), report.get("ece"), new_name, BLUE)
        # Stress figures come from the model files (computed on validation when each was trained).
        active = self.wiz().active_classifier
        self.robustness.show_models(classifier.metadata.get("validation_stress_metrics"),
                                    active.metadata.get("validation_stress_metrics") if active is not None else None,
                                    lambda key: stress_label(key, short=True), new_name, active_name)
        self._set_slider_enabled(True)
        self.slider.blockSignals(True)
        self.slider.setValue(int(round(classifier.threshold * 1000)))
        self.slider.blockSignals(False)
        self._on_slider(self.slider.value())
        if self.adapted:
            self.slider_note.setText(self.tr(
                "For exploring only: the saved model keeps the threshold chosen on the held-out films "
                "({t:.3f}). ◇ marks each model's own threshold on the ROC curve, ● the slider.").format(
                t=classifier.threshold))
        else:
            self.slider_note.setText(self.tr(
                "For exploring only: the saved model keeps the threshold chosen on the validation split "
                "({t:.3f}). ◇ marks each model's own threshold on the ROC curve, ● the slider.").format(
                t=classifier.threshold))

    def _add_active_curve(self, result) -> None:
        report = result.report
        roc = report.get("roc") or {}
        op = (1 - report["specificity"], report["recall"]) if is_finite(report.get("specificity")) and \
            is_finite(report.get("recall")) else None
        _new_name, active_name = self._names()
        self.roc.add_curve("active", roc.get("fpr", []), roc.get("tpr", []),
                           self.tr("{model} (AUC {auc})").format(model=active_name, auc=num_text(report.get("auc"))),
                           GREY, dashed=True, operating_point=op)
        self.reliability.add_model("active", report.get("reliability"), report.get("ece"), active_name,
                                   GREY, dashed=True)

    def _fill_table(self) -> None:
        for col, which in ((0, "new"), (2, "active")):
            result = self.results.get(which)
            report = result.report if result is not None else None
            values = [("", "")] * (len(_METRIC_KEYS) + 2)
            if report is not None:
                values = [(f"{report['n']:,}", ""), (f"{report['n_refused']:,}", "")]
                for key in _METRIC_KEYS:
                    value = report.get(key)
                    ci = (report.get("ci") or {}).get(key)
                    if key in ("f1", "auc"):
                        text = num_text(value)
                        ci_text = f"{ci[0]:.3f}–{ci[1]:.3f}" if ci else "–"
                    else:
                        text = pct_text(value)
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
        elif "active" in self.results and self.adapted:
            text = self.tr(
                "Model in use: {name} (version {version}), threshold {t:.3f}, on the same images; the adapted "
                "model started from it. Where the 95% intervals overlap, the difference may be due to "
                "chance.").format(name=active.name, version=active.version, t=active.threshold)
            self.compare_label.setText(text)
        elif "active" in self.results:
            text = self.tr(
                "Active model: {name}, threshold {t:.3f}. Where the 95% intervals overlap, the "
                "difference may be due to chance.").format(name=active.name, t=active.threshold)
            merged = self.results["active"].report.get("class_mapping") or {}
            if merged:
                text += " " + self.tr("Its {classes} answers count as {label} here.").format(
                    classes=" / ".join(merged), label=" / ".join(sorted(set(merged.values()))))
            self.compare_label.setText(text)
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
        for row, key in enumerate(_METRIC_KEYS, start=2):
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
        self.sensitivity_label.setText(self.tr("Sensitivity: {v}").format(v=pct_text(sens)))
        self.specificity_label.setText(self.tr("Specificity: {v}").format(v=pct_text(spec)))
        self.roc.set_slider_point(1 - spec if math.isfinite(spec) else None, sens if math.isfinite(sens) else None)
        report = result.report
        refused = int(report.get("n_refused", 0))
        note = self.tr("{n} refused images not shown (counted as wrong in the table)").format(n=refused) \
            if refused else ""
        matrix = binary_confusion_at(result, self._classes, self._normal_index, t)
        if matrix is not None:
            self.confusion.show_matrix(matrix, self._classes, self.tr("Confusion matrix\nat threshold {t:.3f}")
                                       .format(t=t))
        elif self.confusion.matrix is None:
            self.confusion.show_matrix(report["confusion_matrix"], self._classes,
                                       self.tr("Confusion matrix\nat the model's threshold"))
        self.set_confusion_note(note)

    def set_confusion_note(self, text: str) -> None:
        """The line under the confusion matrix (refused images), wrapped to the column's width."""
        self.confusion_note.setText(text)
        self.confusion_note.setVisible(bool(text))

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return self.state in ("finished", "failed")
