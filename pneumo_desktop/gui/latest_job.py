"""One background generator at a time per widget; a newer request supersedes the older one.

``LatestJob`` wraps :class:`~pneumo_desktop.gui.workers.GeneratorJob`. Each run's items are
tagged with a run number on the worker thread, so items, failures and completion from a run
that has since been superseded or cancelled are dropped on arrival instead of reaching the
widget. An exception inside the generator arrives as ``failed(message, traceback)``. A run
stopped by ``cancel()`` ends with ``cancelled()`` once its worker thread has ended (a run
superseded by ``start`` ends silently), so an owner can say "cancelled" only when it is true.

``stop()`` cancels every run and waits for its thread. A thread still busy after the wait (a
long blocking step inside the generator) is parked: kept referenced, under the application
object, until it ends, so closing a window can never destroy a running QThread.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from .workers import GeneratorJob

_PARKED: set[GeneratorJob] = set()


class _Done:
    """Marks the normal end of a run."""


class _Failed:
    def __init__(self, message: str, tb: str):
        self.message = message
        self.traceback = tb


def _tagged(token: int, factory: Callable[[], Iterator]) -> Iterator[tuple[int, object]]:
    try:
        for item in factory():
            yield token, item
    except Exception as exc:  # noqa: BLE001 - shown to the person as a message, never a crash
        yield token, _Failed(str(exc) or type(exc).__name__, traceback.format_exc())
        return
    yield token, _Done()


class LatestJob(QObject):
    """Runs ``factory()``'s generator off the GUI thread; ``start`` again to supersede.

    Signals (GUI thread): ``yielded(object)`` per item of the current run, ``failed(str, str)``
    (message, traceback) if it raised, ``done()`` when it ended normally, ``cancelled()`` when a
    run stopped by ``cancel()`` has ended (its thread is no longer running).
    """

    yielded = Signal(object)
    failed = Signal(str, str)
    done = Signal()
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None, name: str = "pneumo-job"):
        super().__init__(parent)
        self._name = name
        self._token = 0
        self._busy = False
        self._jobs: list[GeneratorJob] = []
        self._cancelled_job: GeneratorJob | None = None  # ends with ``cancelled`` once its thread is done

    def start(self, factory: Callable[[], Iterator]) -> None:
        self._drop_current()
        self._token += 1
        token = self._token
        job = GeneratorJob(lambda: _tagged(token, factory), parent=self, name=f"{self._name}-{token}")
        job.worker.yielded.connect(self._on_item)
        job.finished.connect(self._reap)
        self._jobs.append(job)
        self._busy = True
        job.start()

    def is_busy(self) -> bool:
        """True from ``start`` until the current run is done, failed or cancelled."""
        return self._busy

    def threads_running(self) -> bool:
        return any(job.thread.isRunning() for job in self._jobs)

    def cancel(self, keep_arrived: bool = False) -> None:
        """Ask the current run's worker to stop; returns at once. If a run was in progress,
        ``cancelled`` follows when its thread has ended, unless ``start`` or ``stop`` comes first.

        ``keep_arrived``: items the worker produced before it saw the request are still
        delivered (a batch prediction keeps every answer it computed); otherwise they are
        dropped."""
        current = self._jobs[-1] if self._busy and self._jobs else None
        if keep_arrived:
            self._busy = False
            for job in self._jobs:
                job.cancel()
        else:
            self._drop_current()
        self._cancelled_job = current

    def _drop_current(self) -> None:
        self._token += 1
        self._busy = False
        self._cancelled_job = None
        for job in self._jobs:
            job.cancel()

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Cancel, then wait for every worker thread (no ``cancelled`` follows: the owner is
        closing). Returns True if all ended in time."""
        self._drop_current()
        all_ended = True
        for job in list(self._jobs):
            if not job.stop(timeout_ms):
                all_ended = False
                self._park(job)
        self._jobs = [job for job in self._jobs if job.thread.isRunning()]
        return all_ended

    def _park(self, job: GeneratorJob) -> None:
        app = QCoreApplication.instance()
        if app is not None:
            job.setParent(app)
        _PARKED.add(job)
        job.finished.connect(lambda: _PARKED.discard(job))  # same-thread signal: a lambda is fine
        if job in self._jobs:
            self._jobs.remove(job)

    @Slot(object)
    def _on_item(self, tagged: object) -> None:
        token, item = tagged  # type: ignore[misc]
        if token != self._token:
            return
        if isinstance(item, _Done):
            self._busy = False
            self.done.emit()
        elif isinstance(item, _Failed):
            self._busy = False
            self.failed.emit(item.message, item.traceback)
        else:
            self.yielded.emit(item)

    @Slot()
    def _reap(self) -> None:
        finished = [job for job in self._jobs if not job.thread.isRunning()]
        for job in finished:
            self._jobs.remove(job)
            job.deleteLater()
        if self._cancelled_job is not None and self._cancelled_job in finished:
            self._cancelled_job = None
            self.cancelled.emit()
