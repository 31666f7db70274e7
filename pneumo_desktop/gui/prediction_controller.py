"""Batch prediction off the GUI thread: one run at a time, newer requests supersede older ones.

``PredictionController`` runs ``core.predict.predict_files`` through a ``LatestJob``. A request
that arrives while a batch runs cancels it and queues the files it had not answered yet in front
of the new ones, so nothing asked for is dropped; a request made before any model is loaded
waits until ``request`` is called again with a model present. Records reach the owner in small
batches (every ``FLUSH_MS``), so a table of thousands of rows stays smooth.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ..process import ensure_torch_configured, lower_thread_priority
from .latest_job import LatestJob
from .model_manager import ModelManager

FLUSH_MS = 40
DEFAULT_BATCH_SIZE = 16


def predict_inputs(classifier, inputs: list[str], threshold: float | None, batch_size: int):
    """Generator run in a worker: expand ``inputs`` (files and folders), yield
    ``("planned", paths)``, then one PredictionRecord per file (``image_u8`` kept, for heatmaps)."""
    lower_thread_priority()
    ensure_torch_configured()
    from ..core.imageio import list_input_files
    from ..core.predict import predict_files

    paths = [str(p) for p in list_input_files(inputs)]
    yield ("planned", paths)
    if paths:
        yield from predict_files(classifier, paths, threshold=threshold, batch_size=batch_size, workers=2,
                                 keep_images=True)


class PredictionController(QObject):
    """Predicts files with the active model of ``models``, one batch at a time.

    Signals (GUI thread): ``planned(int)`` once the inputs are expanded (the number of files),
    ``records_arrived(list)`` with PredictionRecords of the current batch, ``finished(str)``
    with ``"done"``, ``"cancelled"`` or ``"error: <message>"``. A superseded or discarded batch
    emits nothing more.
    """

    planned = Signal(int)
    records_arrived = Signal(list)
    finished = Signal(str)

    def __init__(self, models: ModelManager, parent: QObject | None = None):
        super().__init__(parent)
        self.batch_size = DEFAULT_BATCH_SIZE
        self._models = models
        self._job = LatestJob(self, "pneumo-predict")
        self._job.yielded.connect(self._on_item)
        self._job.failed.connect(self._on_failed)
        self._job.done.connect(self._on_done)
        self._job.cancelled.connect(self._on_cancelled)
        self._waiting: list[str] = []      # inputs asked for before a model was ready
        self._inputs: list[str] = []       # the current batch's inputs, as asked
        self._paths: list[str] | None = None  # ... and expanded to files, once known
        self._received: set[str] = set()
        self._active = False               # from start until ``finished`` (or discard)
        self._cancel_requested = False
        self.run_threshold: float | None = None  # the threshold the current batch labels with
        self.started_at = time.monotonic()
        self.answered = 0
        self._buffer: list = []
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)

    # ----- state ---------------------------------------------------------------------------------------
    def is_running(self) -> bool:
        """True from the start of a batch until its ``finished`` (also while it is cancelling)."""
        return self._active

    def is_cancelling(self) -> bool:
        return self._active and self._cancel_requested

    def threads_running(self) -> bool:
        return self._job.threads_running()

    def waiting_inputs(self) -> list[str]:
        """Inputs that wait for a model."""
        return list(self._waiting)

    def planned_total(self) -> int:
        """Files in the current batch (0 until they are known)."""
        return len(self._paths) if self._paths is not None else 0

    # ----- requests ------------------------------------------------------------------------------------
    def request(self, inputs: list[str]) -> bool:
        """Predict ``inputs`` (files and folders). A running batch is superseded, its unanswered
        files queued first. Without a model everything waits; returns False then."""
        queued = list(dict.fromkeys(self._waiting + self.discard() + [str(p) for p in inputs]))
        classifier = self._models.classifier
        if classifier is None:
            self._waiting = queued
            return False
        self._waiting = []
        if queued:
            self._start(classifier, queued)
        return True

    def _start(self, classifier, inputs: list[str]) -> None:
        threshold = self._models.threshold()
        batch_size = self.batch_size
        self._inputs = list(inputs)
        self._paths = None
        self._received = set()
        self._active = True
        self._cancel_requested = False
        self.run_threshold = threshold
        self.started_at = time.monotonic()
        self.answered = 0
        self._job.start(lambda: predict_inputs(classifier, inputs, threshold, batch_size))

    def cancel(self) -> None:
        """Stop the batch at the next file. Every record computed before the worker saw the
        request is still delivered (none is lost), and ``finished("cancelled")`` follows once
        its worker has stopped."""
        if not self._active or self._cancel_requested:
            return
        self._flush()
        self._cancel_requested = True
        self._job.cancel(keep_arrived=True)

    def discard(self) -> list[str]:
        """Drop the running batch without a ``finished`` signal and return the inputs it had not
        answered; ``[]`` when none runs."""
        if not self._active:
            return []
        self._flush()  # what arrived counts as answered
        remaining = list(self._inputs) if self._paths is None else [p for p in self._paths
                                                                      if p not in self._received]
        self._active = False
        self._cancel_requested = False
        self._job.cancel()
        return remaining

    def forget_waiting(self) -> None:
        self._waiting = []

    def stop(self) -> None:
        """On close: cancel everything and wait for the worker thread."""
        self._flush_timer.stop()
        self._buffer = []
        self._active = False
        self._waiting = []
        self._job.stop(30000)

    # ----- worker output -------------------------------------------------------------------------------
    @Slot(object)
    def _on_item(self, item) -> None:
        if isinstance(item, tuple) and item and item[0] == "planned":
            self._paths = list(item[1])
            self.planned.emit(len(self._paths))
            return
        self._received.add(item.path)
        self._buffer.append(item)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    @Slot()
    def _flush(self) -> None:
        self._flush_timer.stop()
        if self._buffer:
            batch, self._buffer = self._buffer, []
            self.answered += len(batch)
            self.records_arrived.emit(batch)

    def _end(self, outcome: str) -> None:
        self._flush()
        self._active = False
        self._cancel_requested = False
        self.finished.emit(outcome)

    @Slot()
    def _on_done(self) -> None:
        self._end("done")

    @Slot(str, str)
    def _on_failed(self, message: str, _traceback: str) -> None:
        self._end(f"error: {message}")

    @Slot()
    def _on_cancelled(self) -> None:
        if self._active and self._cancel_requested:
            self._end("cancelled")
