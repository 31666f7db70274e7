"""The active model: loading it off the GUI thread, its threshold, and the models on disk.

``ModelManager`` loads model files through a ``LatestJob`` (torch is imported in its worker,
never on the GUI thread before the window shows; a newer request supersedes an older one),
keeps the active ``Classifier`` and its content version, and resolves the threshold in use: the
one the person set for this model version (stored in the settings), else the model's own. A
file that fails to load leaves the current model active and is reported through
``load_failed``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from ..core.modelfile import MODEL_SUFFIX
from ..process import ensure_torch_configured
from ..paths import BUILTIN_MODEL_PATHS, DEFAULT_MODEL_PATH, user_models_dir
from .latest_job import LatestJob
from .settings import Settings


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

    def __init__(self, parent=None, settings: Settings | None = None):
        """``settings``: where the model choice and thresholds are kept (default: the user's)."""
        super().__init__(parent)
        self._settings = settings if settings is not None else Settings()
        self._classifier = None
        self._version = ""
        self._job = LatestJob(self, "pneumo-model-load")
        self._job.yielded.connect(self._on_loaded)
        self._job.failed.connect(self._on_error)
        self._job.done.connect(self._on_done)
        self._loading_path: str | None = None
        self._fallback_to_default = False

    # ----- state --------------------------------------------------------------------------------------
    @property
    def classifier(self):
        return self._classifier

    @property
    def version(self) -> str:
        return self._version

    def is_loading(self) -> bool:
        return self._job.is_busy()

    def threads_running(self) -> bool:
        return self._job.threads_running()

    def active_path(self) -> str | None:
        return None if self._classifier is None else self._classifier.source_path

    def default_threshold(self) -> float | None:
        return None if self._classifier is None else float(self._classifier.threshold)

    def threshold(self) -> float | None:
        """The threshold in use: the person's choice for this model version, else the model's."""
        if self._classifier is None:
            return None
        chosen = self._settings.threshold_for(self._version)
        return float(self._classifier.threshold) if chosen is None else chosen

    def set_threshold(self, value: float | None) -> None:
        """Store a threshold for the active model (None restores the model's own)."""
        if self._classifier is None:
            return
        if value is not None and abs(float(value) - float(self._classifier.threshold)) < 1e-9:
            value = None
        self._settings.set_threshold_for(self._version, value)
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

    def startup_model_path(self) -> Path:
        stored = self._settings.active_model_path()
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
        self._loading_path = path
        self._job.start(lambda: _load_model(path))
        self.loading.emit(path)

    @Slot(object)
    def _on_loaded(self, item) -> None:
        classifier, version = item
        _freeze_long_lived_objects()
        self._classifier = classifier
        self._version = version
        self._fallback_to_default = False
        self._settings.set_active_model_path(classifier.source_path)
        self.model_changed.emit(classifier)
        self.threshold_changed.emit(self.threshold())

    @Slot(str, str)
    def _on_error(self, message: str, _traceback: str) -> None:
        path = self._loading_path or ""
        self._loading_path = None
        self.load_failed.emit(path, message)
        if self._fallback_to_default and self._classifier is None and not self._job.is_busy():
            self._fallback_to_default = False
            self.load(DEFAULT_MODEL_PATH)  # the stored model is gone or broken: use the built-in one

    @Slot()
    def _on_done(self) -> None:
        self._loading_path = None

    def stop(self) -> None:
        """Stop every load job and wait for its thread (on close)."""
        self._job.stop(30000)
