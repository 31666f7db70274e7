"""Run a core generator off the GUI thread: a worker QObject moved to a QThread its owner keeps.

The worker pulls one item at a time from the generator and emits it through ``yielded``; the
cancel flag is checked between items, and the generator is closed (so it stops at its next
yield and releases what it holds). Signals are delivered to the owner's thread as queued
calls, so slots connected to them run on the GUI thread.

Usage (owner keeps ``self._job`` alive until ``finished``)::

    self._job = GeneratorJob(lambda: predict_files(...), parent=self)
    self._job.worker.yielded.connect(self._on_record)
    self._job.start()
    ...
    self._job.stop()   # on cancel or close: asks to stop, then waits for the thread
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, QThread, Signal, Slot


class GeneratorWorker(QObject):
    """Drives ``factory()``'s generator on whatever thread it lives in."""

    started = Signal()
    yielded = Signal(object)
    returned = Signal()
    errored = Signal(str, str)  # (one-line message, traceback text)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, factory: Callable[[], Iterator]):
        super().__init__()
        self._factory = factory
        self._cancel = threading.Event()

    def request_cancel(self) -> None:
        """Thread-safe: the run loop stops before taking the next item."""
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    @Slot()
    def run(self) -> None:
        self.started.emit()
        generator = None
        try:
            generator = self._factory()
            for item in generator:
                if self._cancel.is_set():
                    break
                self.yielded.emit(item)
                if self._cancel.is_set():
                    break
            if self._cancel.is_set():
                self.cancelled.emit()
            else:
                self.returned.emit()
        except Exception as exc:  # noqa: BLE001 - reported to the GUI as a message, never a crash
            self.errored.emit(str(exc) or type(exc).__name__, traceback.format_exc())
        finally:
            if generator is not None and hasattr(generator, "close"):
                try:
                    generator.close()
                except Exception:  # noqa: BLE001 - closing must not mask the run's outcome
                    pass
            self.finished.emit()


class GeneratorJob(QObject):
    """Owns one GeneratorWorker and its QThread; one job is one run of one generator."""

    finished = Signal()

    def __init__(self, factory: Callable[[], Iterator], parent: QObject | None = None, name: str = "pneumo-job"):
        super().__init__(parent)
        self.worker = GeneratorWorker(factory)
        self.thread = QThread()
        self.thread.setObjectName(name)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.finished.connect(self.thread.quit)
        self.thread.finished.connect(self._on_thread_finished)
        self._running = False

    def start(self) -> None:
        self._running = True
        self.thread.start()

    def is_running(self) -> bool:
        return self._running and self.thread.isRunning()

    def cancel(self) -> None:
        """Ask the worker to stop at the next item; returns at once."""
        self.worker.request_cancel()

    def stop(self, timeout_ms: int = 30000) -> bool:
        """Cancel and wait for the thread to end. Returns True if it ended in time."""
        self.worker.request_cancel()
        if self.thread.isRunning():
            self.thread.quit()
            return self.thread.wait(timeout_ms)
        return True

    @Slot()
    def _on_thread_finished(self) -> None:
        self._running = False
        self.finished.emit()
