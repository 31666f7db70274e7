"""Export of the results: the table as CSV (at once) and the PDF report (in the background).

``ExportController`` reads the rows of a ``ResultsTableModel`` with their current verdicts, the
active model and threshold from a ``ModelManager``, and each row's heatmap from a
``ViewController`` (cached heatmaps are reused; missing ones are computed by the report's
worker). The report is written through a ``ReportWriter`` into a temporary file that replaces
the target only when complete, so a failed or cancelled report leaves nothing behind.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

from .latest_job import LatestJob
from .model_manager import ModelManager
from .results_model import ResultRow, ResultsTableModel, class_display_name
from .view_controller import ViewController

MIN_REPORT_OPACITY = 0.35  # a report page must show the heatmap even if the viewer's is faint


class ExportController(QObject):
    """Writes the results as CSV or as a PDF report.

    Signals (GUI thread): ``csv_written(path)``; ``report_finished(path, written)`` when a report
    run ends (written False when it failed or was cancelled); ``failed(message)`` with a
    translated explanation when either could not be written.
    """

    csv_written = Signal(str)
    report_finished = Signal(str, bool)
    failed = Signal(str)

    def __init__(self, results: ResultsTableModel, models: ModelManager, view: ViewController,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._results = results
        self._models = models
        self._view = view
        self._writer = None  # ReportWriter of the report being written
        self._rows: list[ResultRow] = []
        self._explained: list[str | None] = []
        self._progress: QProgressDialog | None = None
        self._job = LatestJob(self, "pneumo-report")
        self._job.yielded.connect(self._on_item)
        self._job.failed.connect(self._on_failed)
        self._job.done.connect(self._on_done)
        self._job.cancelled.connect(self._on_cancelled)

    def is_writing_report(self) -> bool:
        return self._writer is not None

    def threads_running(self) -> bool:
        return self._job.threads_running()

    # ----- CSV -----------------------------------------------------------------------------------------
    def export_csv(self, path: str | Path) -> bool:
        """Write every row (with its current verdict) as CSV. Returns True when written."""
        from ..core.results import write_results_csv

        classifier = self._models.classifier
        classes = classifier.classes if classifier is not None else []
        try:
            write_results_csv([r.current_record() for r in self._results.rows()], path, classes,
                              self._models.threshold())
        except OSError as exc:
            self.failed.emit(self.tr("Could not write {path}:\n{error}").format(path=path, error=exc))
            return False
        self.csv_written.emit(str(path))
        return True

    # ----- PDF report ----------------------------------------------------------------------------------
    def export_report(self, path: str | Path, opacity: float, show_progress: bool = True, image_pages: bool = False,
                      dialog_parent: QWidget | None = None) -> bool:
        """Start writing the PDF report in the background; ``report_finished`` tells the end.

        ``opacity``: the heatmap's opacity on the pages (at least ``MIN_REPORT_OPACITY``).
        ``image_pages``: write PNG pages into the folder ``path`` instead (previews).
        ``show_progress``: a window-modal progress dialog over ``dialog_parent``, with Cancel.
        Returns False (and starts nothing) while a report is being written or with no rows.
        """
        from .report import ReportWriter, report_items

        if self._writer is not None or self._results.rowCount() == 0:
            return False
        classifier = self._models.classifier
        rows = self._results.rows()
        items, explained, cached = [], [], {}
        for row in rows:
            target = self._view.explain_target(row)
            items.append((row.path, row.status, row.record.image_u8, target))
            explained.append(class_display_name(classifier.classes[target]) if target is not None else None)
            heat = self._view.cached_heatmap(row.path, target) if target is not None else None
            if heat is not None:
                cached[(row.path, target)] = heat
        writer = ReportWriter(path, classifier.name if classifier else "—", self._models.version,
                              self._models.threshold(), image_pages=image_pages)
        if classifier is not None:
            writer.normal_class = classifier.classes[classifier.normal_index]
        writer.begin(rows)
        self._writer, self._rows, self._explained = writer, rows, explained
        if show_progress:
            progress = QProgressDialog(self.tr("Writing the report…"), self.tr("Cancel"), 0, len(rows), dialog_parent)
            progress.setWindowTitle(self.tr("Export report"))
            progress.setWindowModality(Qt.WindowModality.WindowModal)
            progress.setMinimumDuration(300)
            progress.canceled.connect(self.cancel_report)
            self._progress = progress
        opacity = max(MIN_REPORT_OPACITY, float(opacity))
        self._job.start(lambda: report_items(classifier, items, cached, opacity))
        return True

    @Slot()
    def cancel_report(self) -> None:
        """Stop the report; ``report_finished(path, False)`` follows once its worker stopped."""
        self._job.cancel()

    @Slot(object)
    def _on_item(self, item) -> None:
        index, gray, overlay = item
        if self._writer is None:
            return
        self._writer.add_case(self._rows[index], gray, overlay, self._explained[index])
        if self._progress is not None:
            self._progress.setValue(index + 1)

    @Slot()
    def _on_done(self) -> None:
        self._end(written=True)

    @Slot(str, str)
    def _on_failed(self, message: str, _traceback: str) -> None:
        self._end(written=False, error=message)

    @Slot()
    def _on_cancelled(self) -> None:
        self._end(written=False)

    def _end(self, written: bool, error: str = "") -> None:
        writer, self._writer = self._writer, None
        self._rows, self._explained = [], []
        self._close_progress()
        if writer is None:
            return
        if written:
            writer.finish()
        else:
            writer.abort()
        if error:
            self.failed.emit(self.tr("The report could not be written:\n{error}").format(error=error))
        self.report_finished.emit(str(writer.path), written)

    def _close_progress(self) -> None:
        if self._progress is not None:
            self._progress.canceled.disconnect(self.cancel_report)
            self._progress.close()
            self._progress.deleteLater()
            self._progress = None

    def stop(self) -> None:
        """On close: cancel the report, wait for its worker and remove its partial file."""
        self._job.stop(30000)
        self._close_progress()
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
