"""The active model: loading it off the GUI thread, its threshold, and the models on disk.

``ModelManager`` loads model files in a ``GeneratorJob`` (torch is imported there, never on the
GUI thread before the window shows), keeps the active ``Classifier`` and its content version,
and resolves the threshold in use: the one the person set for this model version (stored in
the settings), else the model's own. A file that fails to load leaves the current model
active and is reported through ``load_failed``.

Also here: the model information dialog and the threshold dialog.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QSlider, QTextBrowser,
    QVBoxLayout,
)

from ..paths import BUILTIN_MODEL_PATHS, DEFAULT_MODEL_PATH, user_models_dir
from .i18n import format_number, format_percent
from .results_model import class_display_name
from .settings import Settings
from .stress_labels import STRESS_NAMES, stress_label
from .workers import GeneratorJob

MODEL_SUFFIX = ".pneumo"
_torch_configured = False


def ensure_torch_configured() -> None:
    """Pin torch's thread count once per process (called from worker threads)."""
    global _torch_configured
    if not _torch_configured:
        from ..cli import configure_torch_threads

        configure_torch_threads()
        _torch_configured = True


def lower_thread_priority(nice: int = 10) -> bool:
    """Make the calling (worker) thread yield the CPU to the GUI thread. Threads it starts
    afterwards (the decode pool, torch's pool on first use) inherit the lower priority.

    Linux: per-thread nice value; Windows: below-normal thread priority; elsewhere nothing
    (macOS has no per-thread nice, and renicing the process would slow the GUI too). On an idle
    machine this costs nothing; on a busy one a batch runs a little slower and the window stays
    smooth. Returns True if the priority was changed.
    """
    import os
    import sys
    import threading

    try:
        if sys.platform.startswith("linux"):
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), nice))
            return True
        if sys.platform == "win32":
            import ctypes

            kernel32 = ctypes.windll.kernel32
            return bool(kernel32.SetThreadPriority(kernel32.GetCurrentThread(), -1))  # BELOW_NORMAL
    except (OSError, AttributeError, ValueError):
        pass
    return False


def _freeze_long_lived_objects() -> None:
    """Hide everything alive now (torch, numpy, Qt wrappers, the model) from the cyclic garbage
    collector. A full collection otherwise walks ~180,000 objects: about 0.1 s of CPU, and over
    a second of wall time on a busy machine, all of it holding the GIL, so when it happens to
    run inside a worker the window freezes. Frozen, it takes milliseconds."""
    import gc

    gc.freeze()


def _load_model(path: str):
    """Generator run in a worker: yields (classifier, version) once."""
    ensure_torch_configured()
    from ..core.classifier import Classifier

    classifier = Classifier.load(path)
    yield classifier, classifier.version


class ModelManager(QObject):
    loading = Signal(str)               # path being loaded
    model_changed = Signal(object)      # the new active Classifier
    load_failed = Signal(str, str)      # (path, human message)
    threshold_changed = Signal(float)   # the threshold now in use

    def __init__(self, parent=None):
        super().__init__(parent)
        self._classifier = None
        self._version = ""
        self._job: GeneratorJob | None = None
        self._retired: list[GeneratorJob] = []
        self._loading_path: str | None = None
        self._fallback_to_default = False
        self._pending_default = False

    # ----- state --------------------------------------------------------------------------------------
    @property
    def classifier(self):
        return self._classifier

    @property
    def version(self) -> str:
        return self._version

    def is_loading(self) -> bool:
        return self._job is not None

    def loading_path(self) -> str | None:
        return self._loading_path

    def active_path(self) -> str | None:
        return None if self._classifier is None else self._classifier.source_path

    def default_threshold(self) -> float | None:
        return None if self._classifier is None else float(self._classifier.threshold)

    def threshold(self) -> float | None:
        """The threshold in use: the person's choice for this model version, else the model's."""
        if self._classifier is None:
            return None
        chosen = Settings().threshold_for(self._version)
        return float(self._classifier.threshold) if chosen is None else chosen

    def set_threshold(self, value: float | None) -> None:
        """Store a threshold for the active model (None restores the model's own)."""
        if self._classifier is None:
            return
        if value is not None and abs(float(value) - float(self._classifier.threshold)) < 1e-9:
            value = None
        Settings().set_threshold_for(self._version, value)
        self.threshold_changed.emit(self.threshold())

    # ----- models on disk --------------------------------------------------------------------------------
    @staticmethod
    def builtin_models() -> list[Path]:
        """The models shipped in the package that are present: default, ensemble, three-class."""
        return [p for p in BUILTIN_MODEL_PATHS if p.is_file()]

    @staticmethod
    def user_models() -> list[Path]:
        """Models trained in (or adopted into) the app, newest first."""
        folder = user_models_dir()
        files = [p for p in folder.glob(f"*{MODEL_SUFFIX}") if p.is_file() and not p.name.startswith(".")]
        return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)

    @staticmethod
    def startup_model_path() -> Path:
        stored = Settings().active_model_path()
        if stored and Path(stored).is_file():
            return Path(stored)
        return DEFAULT_MODEL_PATH

    # ----- loading ---------------------------------------------------------------------------------------
    def load_startup_model(self) -> None:
        path = self.startup_model_path()
        self._fallback_to_default = Path(path) != DEFAULT_MODEL_PATH and DEFAULT_MODEL_PATH.is_file()
        self.load(path)

    def load(self, path: str | Path) -> None:
        """Load ``path`` in the background; a newer request supersedes an older one."""
        path = str(path)
        if self._job is not None:
            self._retire(self._job)
        self._loading_path = path
        job = GeneratorJob(lambda: _load_model(path), parent=self, name="pneumo-model-load")
        job.worker.yielded.connect(self._on_loaded)
        job.worker.errored.connect(self._on_error)
        job.finished.connect(self._on_job_finished)
        self._job = job
        self.loading.emit(path)
        job.start()

    def _retire(self, job: GeneratorJob) -> None:
        for signal, slot in ((job.worker.yielded, self._on_loaded), (job.worker.errored, self._on_error)):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        job.cancel()
        self._retired.append(job)
        if self._job is job:
            self._job = None

    @Slot(object)
    def _on_loaded(self, item) -> None:
        classifier, version = item
        _freeze_long_lived_objects()
        self._classifier = classifier
        self._version = version
        self._fallback_to_default = False
        Settings().set_active_model_path(classifier.source_path)
        self.model_changed.emit(classifier)
        self.threshold_changed.emit(self.threshold())

    @Slot(str, str)
    def _on_error(self, message: str, _traceback: str) -> None:
        path = self._loading_path or ""
        self.load_failed.emit(path, message)
        if self._fallback_to_default and self._classifier is None:
            self._fallback_to_default = False
            self._pending_default = True  # try the built-in model once this job has ended

    @Slot()
    def _on_job_finished(self) -> None:
        job = self.sender()
        if job is self._job:
            self._job = None
            self._loading_path = None
            if self._pending_default:
                self._pending_default = False
                self.load(DEFAULT_MODEL_PATH)
        elif job in self._retired:
            self._retired.remove(job)

    def stop(self) -> None:
        """Stop every load job and wait for its thread (on close)."""
        jobs = ([self._job] if self._job is not None else []) + self._retired
        for job in jobs:
            job.stop()
        self._job = None
        self._retired.clear()


# ----- dialogs ----------------------------------------------------------------------------------------------
METRIC_ROWS = (
    ("n", QT_TRANSLATE_NOOP("ModelInfoDialog", "Images")),
    ("accuracy", QT_TRANSLATE_NOOP("ModelInfoDialog", "Accuracy")),
    ("recall", QT_TRANSLATE_NOOP("ModelInfoDialog", "Sensitivity (recall)")),
    ("specificity", QT_TRANSLATE_NOOP("ModelInfoDialog", "Specificity")),
    ("precision", QT_TRANSLATE_NOOP("ModelInfoDialog", "Precision (PPV)")),
    ("f1", QT_TRANSLATE_NOOP("ModelInfoDialog", "F1 score")),
    ("auc", QT_TRANSLATE_NOOP("ModelInfoDialog", "ROC AUC")),
    ("ece", QT_TRANSLATE_NOOP("ModelInfoDialog", "Calibration error (ECE)")),
)


class ModelInfoDialog(QDialog):
    """Everything the model file says about itself, in plain language."""

    def __init__(self, classifier, version: str, threshold: float | None, parent=None):
        super().__init__(parent)
        self.setObjectName("modelInfoDialog")
        self.setWindowTitle(self.tr("Model information"))
        self.resize(640, 620)
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setHtml(self.build_html(classifier, version, threshold))
        layout.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)

    def _metric(self, metrics: dict | None, key: str) -> str:
        if not metrics or metrics.get(key) is None:
            return "—"
        value = metrics[key]
        if key == "n":
            return str(int(value))
        text = format_percent(value) if key != "ece" else format_number(value, 3)
        ci = (metrics.get("ci") or {}).get(key)
        if ci and ci[0] is not None and ci[1] is not None and key != "ece":
            text += f" <span style='color:#5f6368'>({format_percent(ci[0])}–{format_percent(ci[1])})</span>"
        return text

    def stress_labels(self) -> dict[str, str]:
        """Plain-language names of the stress changes (core/stress.py), by their key."""
        return {key: stress_label(key) for key in STRESS_NAMES}

    def weakness_html(self, stress: dict | None) -> list[str]:
        """The stress validation as a table, weakest first; nothing when the file has none."""
        if not stress or not stress.get("changes"):
            return []
        e = html.escape
        labels = self.stress_labels()
        parts = ["<h3>" + e(self.tr("Known weaknesses (stress test on validation images)")) + "</h3>",
                 "<p>" + e(self.tr(
                     "Each change was applied to the validation X-rays of healthy children only, as if they "
                     "came from another machine or exposure. Where specificity falls, the model tends to call "
                     "such healthy chests abnormal: review its positive verdicts on images like these with "
                     "extra care.")) + "</p>",
                 "<table cellspacing='0' cellpadding='3' border='1' style='border-collapse:collapse'>",
                 "<tr><th>" + e(self.tr("Change to healthy chests")) + "</th><th>" + e(self.tr("Specificity"))
                 + "</th><th>" + e(self.tr("ROC AUC")) + "</th></tr>"]
        changes = sorted(stress["changes"].items(),
                         key=lambda item: (item[1].get("specificity") is None, item[1].get("specificity") or 0.0))
        for key, figures in changes:
            spec, auc = figures.get("specificity"), figures.get("auc")
            spec_text = "—" if spec is None else e(format_percent(spec))
            if spec is not None and spec < 0.8:
                spec_text = f"<b style='color:#B3261E'>{spec_text}</b>"
            auc_text = "—" if auc is None else e(format_number(auc, 3))
            parts.append(f"<tr><td>{e(labels.get(key, stress_label(key)))}</td><td>{spec_text}</td><td>{auc_text}</td></tr>")
        parts.append("</table>")
        parts.append("<p style='color:#5f6368'>" + e(self.tr(
            "These figures describe how the model reacts to each change. They did not predict its accuracy "
            "on the official test split (docs/experiments.md).")) + "</p>")
        return parts

    def build_html(self, classifier, version: str, threshold: float | None) -> str:
        meta = classifier.metadata
        training = meta.get("training") or {}
        data = training.get("data") or {}
        e = html.escape
        rows = []

        def row(label: str, value: str) -> None:
            rows.append(f"<tr><td style='padding:2px 12px 2px 0; color:#5f6368'>{e(label)}</td><td>{value}</td></tr>")

        row(self.tr("Name"), e(classifier.name))
        row(self.tr("Version"), f"<code>{e(version)}</code>")
        row(self.tr("Created"), e(str(meta.get("created", "—"))))
        row(self.tr("File"), e(str(classifier.source_path or "—")))
        row(self.tr("Classes"), e(", ".join(class_display_name(c) for c in classifier.classes)))
        row(self.tr("Threshold in use"), e(format_percent(threshold)) if threshold is not None else "—")
        row(self.tr("Model's own threshold"), e(format_percent(classifier.threshold)))
        if meta.get("threshold_rule"):
            row(self.tr("How it was chosen"), e(str(meta["threshold_rule"])))
        row(self.tr("Temperature (calibration)"), e(format_number(classifier.temperature, 3)))
        arch = meta.get("architecture") or {}
        if arch:
            row(self.tr("Architecture"), e(self.tr("{type} {widths}, ensemble of {n}").format(
                type=arch.get("type", "?"), widths=arch.get("widths", ""), n=arch.get("n_members", 1))))
        prep = meta.get("preprocessing") or {}
        if prep:
            row(self.tr("Input"), e(f"{prep.get('input_size', '?')} px, {prep.get('equalise', '')}"))
        if meta.get("tta_shifts"):
            row(self.tr("Test-time views"), e(str(len(meta["tta_shifts"]))))
        parts = [f"<h2>{e(classifier.name)}</h2>", "<table>", *rows, "</table>"]

        label_style = "padding:2px 12px 2px 0; color:#5f6368"

        def row2(label: str, value: str) -> str:
            return f"<tr><td style='{label_style}'>{e(label)}</td><td>{value}</td></tr>"

        parts.append("<h3>" + e(self.tr("Training data")) + "</h3><table>")
        for title, key in ((self.tr("Training images"), "train_counts"), (self.tr("Validation images"), "val_counts")):
            counts = data.get(key) or {}
            text = ", ".join(f"{e(class_display_name(k))}: {int(v)}" for k, v in counts.items()) or "—"
            parts.append(row2(title, text))
        if data.get("split"):
            parts.append(row2(self.tr("Split"), e(str(data["split"]))))
        if training.get("seconds") is not None:
            parts.append(row2(self.tr("Training time"), e(format_number(float(training["seconds"]), 1)) + " s"))
        if training.get("seed") is not None:
            parts.append(row2(self.tr("Seed"), e(str(training["seed"]))))
        if training.get("command"):
            parts.append(row2(self.tr("Command"), "<code>" + e(str(training["command"])) + "</code>"))
        parts.append("</table>")

        val = meta.get("validation_metrics")
        test = meta.get("test_metrics")
        parts.append("<h3>" + e(self.tr("Performance")) + "</h3>")
        parts.append("<table cellspacing='0' cellpadding='3' border='1' style='border-collapse:collapse'>")
        parts.append("<tr><th></th><th>" + e(self.tr("Validation")) + "</th><th>" + e(self.tr("Test")) + "</th></tr>")
        for key, label in METRIC_ROWS:
            parts.append("<tr><td>" + e(QCoreApplication.translate("ModelInfoDialog", label)) + "</td>"
                         f"<td>{self._metric(val, key)}</td><td>{self._metric(test, key)}</td></tr>")
        parts.append("</table>")
        note = self.tr("Ranges in brackets are 95% confidence intervals. Test figures are shown only when the "
                       "model file records an evaluation on a held-out test set.")
        parts.append(f"<p style='color:#5f6368'>{e(note)}</p>")
        parts.extend(self.weakness_html(meta.get("validation_stress_metrics")))
        disclaimer = self.tr("Research use only — not a medical device")
        parts.append(f"<p><b>{e(disclaimer)}</b></p>")
        return "".join(parts)


class ThresholdDialog(QDialog):
    """Pick the operating threshold (as a percentage) with a slider and a spin box."""

    def __init__(self, current: float, model_default: float, parent=None):
        super().__init__(parent)
        self.setObjectName("thresholdDialog")
        self.setWindowTitle(self.tr("Set threshold"))
        self._default = float(model_default)
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr(
            "An image is called abnormal when the model's probability of pneumonia is at or above the "
            "threshold. A lower threshold misses fewer cases (higher sensitivity) but raises more false "
            "alarms; a higher one does the opposite. The model's own threshold is {d}, chosen on its "
            "validation data. Your choice is remembered for this model only.").format(d=format_percent(model_default)))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, 999)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(0.1, 99.9)
        self.spin.setDecimals(1)
        self.spin.setSingleStep(0.5)
        self.spin.setSuffix(" %")
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        layout.addLayout(row)
        self.slider.valueChanged.connect(self._on_slider)
        self.spin.valueChanged.connect(self._on_spin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        restore = QPushButton(self.tr("Restore model's threshold"))
        buttons.addButton(restore, QDialogButtonBox.ButtonRole.ResetRole)
        restore.clicked.connect(self._restore)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.set_value(current)
        self.resize(480, self.sizeHint().height())

    def set_value(self, value: float) -> None:
        self.spin.setValue(float(value) * 100.0)

    def value(self) -> float:
        """The chosen threshold in [0, 1]; exactly the model's own when the box shows it."""
        if abs(self.spin.value() - round(self._default * 100.0, 1)) < 1e-6:
            return self._default
        return round(self.spin.value() / 100.0, 4)

    @Slot(int)
    def _on_slider(self, value: int) -> None:
        if abs(self.spin.value() - value / 10.0) > 1e-6:
            self.spin.setValue(value / 10.0)

    @Slot(float)
    def _on_spin(self, value: float) -> None:
        position = int(round(value * 10))
        if self.slider.value() != position:
            self.slider.blockSignals(True)
            self.slider.setValue(position)
            self.slider.blockSignals(False)

    @Slot()
    def _restore(self) -> None:
        self.set_value(self._default)

