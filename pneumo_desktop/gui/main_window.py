"""The main window: open X-rays, see verdicts stream into a table, inspect one image at a time.

``MainWindowLayout`` builds the widgets, actions and menus and shows their texts; ``MainWindow``
connects them, restores and saves the settings, takes dropped files and opens dialogs and other
windows. Controllers do the work, each through a ``LatestJob`` (one run at a time, the newest
request superseding the older one):

* ``models`` (``ModelManager``): loading model files, the threshold in use;
* ``predictions`` (``PredictionController``): batch prediction; a new request supersedes the
  running batch, whose unanswered files are queued in front of the new ones. Cancel keeps the
  rows already in;
* ``view_controller`` (``ViewController``): the selected image and its Grad-CAM, decoded and
  explained on demand, cached per image and class so that toggling the overlay is instant;
* ``exports`` (``ExportController``): the CSV file and the PDF report.

Closing the window stops every job and waits for its thread.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from . import i18n
from .about_dialog import AboutDialog, app_icon
from .export_controller import ExportController
from .main_window_layout import MainWindowLayout
from .model_info_dialog import ModelInfoDialog
from .model_manager import ModelManager
from .prediction_controller import PredictionController
from .results_model import ResultRow
from .settings import Settings
from .threshold_dialog import ThresholdDialog
from .view_controller import AUTO_EXPLAIN, ViewController

IMAGE_PATTERNS = "*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.dcm *.dicom *.gif *.webp"


class MainWindow(MainWindowLayout):
    """The PneumoDesktop main window."""

    records_added = Signal(int)        # rows added or updated in the last flush
    prediction_finished = Signal(str)  # outcome of the batch: done / cancelled / error: …
    view_ready = Signal(str)           # path whose image is now in the viewer
    heatmap_ready = Signal(str, int)   # (path, class index) whose heatmap is now cached
    report_finished = Signal(str, bool)  # (path, written)

    def __init__(self, load_default_model: bool = True, initial_paths: list[str] | None = None, parent=None,
                 settings: Settings | None = None):
        """``settings``: the store the window restores from and saves to, the model choice and
        thresholds included; the user's own settings file by default."""
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._settings = settings if settings is not None else Settings()
        self._inspector = None
        self._wizard = None
        self._user_model_request: str | None = None
        self._closing = False
        self.models = ModelManager(self, self._settings)
        self._build_layout(self._settings.language(), self._settings.overlay_opacity())
        self.view_controller = ViewController(self.viewer, self.panel, self.models, self)
        self.predictions = PredictionController(self.models, self)
        self.exports = ExportController(self.results, self.models, self.view_controller, self)
        self._connect()
        if initial_paths:
            self.predictions.request([str(p) for p in initial_paths])  # they wait for the model
        self._retranslate()
        self._restore_layout(self._settings.window_geometry(), self._settings.window_state())
        self.act_overlay.setChecked(self._settings.overlay_visible())
        self._update_actions()
        if load_default_model:
            QTimer.singleShot(0, self.models.load_startup_model)

    def _connect(self) -> None:
        for act, slot in ((self.act_open, self.open_images_dialog), (self.act_open_folder, self.open_folder_dialog),
                          (self.act_clear, self.clear_results), (self.act_export_csv, self.export_csv_dialog),
                          (self.act_export_pdf, self.export_report_dialog), (self.act_cancel, self.cancel_prediction),
                          (self.act_inspector, self.open_model_inspector),
                          (self.act_load_model, self.load_model_dialog), (self.act_model_info, self.show_model_info),
                          (self.act_threshold, self.threshold_dialog),
                          (self.act_train, self.open_training_wizard), (self.act_about, self.show_about)):
            act.triggered.connect(slot)
        self.act_overlay.toggled.connect(self.set_overlay_visible)
        self.cancel_button.clicked.connect(self.cancel_prediction)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.models_menu.aboutToShow.connect(self._fill_models_menu)
        for act in self.language_actions.values():
            act.triggered.connect(self._on_language_action)
        self.opacity_slider.valueChanged.connect(self._on_opacity_changed)
        self.class_combo.currentIndexChanged.connect(self._on_class_combo)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row_changed)

        self.models.loading.connect(self._on_model_loading)
        self.models.model_changed.connect(self._on_model_changed)
        self.models.load_failed.connect(self._on_model_failed)
        self.models.threshold_changed.connect(self._on_threshold_changed)
        self.predictions.planned.connect(self._update_progress)
        self.predictions.records_arrived.connect(self._on_records)
        self.predictions.finished.connect(self._on_prediction_finished)
        self.view_controller.image_shown.connect(self.view_ready)
        self.view_controller.heatmap_ready.connect(self.heatmap_ready)
        self.view_controller.failed.connect(self._on_view_failed)
        self.exports.csv_written.connect(self._on_csv_written)
        self.exports.report_finished.connect(self._on_report_finished)
        self.exports.failed.connect(self._on_export_failed)

    # =============================================================================================
    # translation and settings
    # =============================================================================================
    def _retranslate(self) -> None:
        super()._retranslate()
        self._update_title()
        self._fill_class_combo()
        self.view_controller.retranslate()
        self._update_summary()
        self._update_model_status()
        self._update_progress()
        self._update_viewer_message()

    def _update_title(self) -> None:
        classifier = self.models.classifier
        self._show_title(classifier.name if classifier is not None else None)

    def _save_settings(self) -> None:
        self._settings.set_window(self.saveGeometry(), self.saveState())
        self._settings.set_overlay_opacity(self.opacity_slider.value() / 100)
        self._settings.set_overlay_visible(self.act_overlay.isChecked())
        self._settings.sync()

    # =============================================================================================
    # opening files
    # =============================================================================================
    @Slot()
    def open_images_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, self.tr("Open chest X-ray images"), self._settings.last_folder("open"),
            self.tr("Images ({patterns});;All files (*)").format(patterns=IMAGE_PATTERNS))
        if files:
            self._settings.set_last_folder("open", str(Path(files[0]).parent))
            self.open_paths(files)

    @Slot()
    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Open a folder of chest X-rays"),
                                                  self._settings.last_folder("open"))
        if folder:
            self._settings.set_last_folder("open", folder)
            self.open_paths([folder])

    def open_paths(self, paths: list[str | Path]) -> None:
        """Analyse files and folders (folders recursively); rows appear as results arrive."""
        paths = [str(p) for p in paths]
        if not paths:
            return
        self._settings.add_recent(paths)
        self.request_prediction(paths)

    def _fill_recent_menu(self) -> None:
        actions, clear = self._show_recent(self._settings.recent_files())
        for act in actions:
            act.triggered.connect(self._on_recent_action)
        if clear is not None:
            clear.triggered.connect(self._settings.clear_recent)

    @Slot()
    def _on_recent_action(self) -> None:
        act = self.sender()
        if isinstance(act, QAction) and act.data():
            self.open_paths([str(act.data())])

    def dragEnterEvent(self, event):  # noqa: N802 - Qt API
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event):  # noqa: N802 - Qt API
        self.dragEnterEvent(event)

    def dropEvent(self, event):  # noqa: N802 - Qt API
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    # =============================================================================================
    # prediction
    # =============================================================================================
    def request_prediction(self, inputs: list[str]) -> None:
        """Predict ``inputs``. Without a model yet, they wait for it. A running batch is
        superseded: cancelled, with the files it had not reached queued before the new ones."""
        if not self.predictions.request(inputs):
            self.statusBar().showMessage(self.tr("Waiting for the model to load…"), 4000)
            self._update_viewer_message()
        self._update_progress()
        self._update_actions()

    def is_predicting(self) -> bool:
        return self.predictions.is_running()

    @Slot()
    def cancel_prediction(self) -> None:
        """Stop the running batch at the next file; rows already in stay."""
        self.predictions.cancel()
        self._update_progress()

    @Slot(list)
    def _on_records(self, records: list) -> None:
        self.view_controller.forget([record.path for record in records])
        had_rows = self.results.rowCount() > 0
        self.results.add_records(records)
        classifier, threshold = self.models.classifier, self.models.threshold()
        used = self.predictions.run_threshold
        if classifier is not None and threshold is not None and used is not None and abs(used - threshold) > 1e-12:
            self.results.relabel(classifier, threshold)  # the threshold changed while the batch ran
        current = self.current_row()
        if current is not None and any(r.path == current.path for r in records):
            self._show_row(current)
        if not had_rows and self.table.currentIndex().row() < 0 and self.proxy.rowCount() > 0:
            self.table.selectRow(0)
        self._update_progress()
        self._update_summary()
        self._update_actions()
        self.records_added.emit(len(records))

    @Slot(str)
    def _on_prediction_finished(self, outcome: str) -> None:
        self._update_progress()
        self._update_actions()
        self._announce_batch_end(outcome, self.results.rowCount(), ask=not self._closing)
        self.prediction_finished.emit(outcome)

    @Slot()
    def _update_progress(self) -> None:
        batch = self.predictions
        self._show_progress(batch.is_running(), batch.is_cancelling(), batch.planned_total(), batch.answered,
                            time.monotonic() - batch.started_at)

    def _update_summary(self) -> None:
        self._show_summary(self.results.counts())

    @Slot()
    def clear_results(self) -> None:
        self.predictions.discard()
        self.predictions.forget_waiting()
        self.results.clear()
        self.view_controller.clear()
        self._update_progress()
        self._update_viewer_message()
        self._update_summary()
        self._update_actions()

    # =============================================================================================
    # selection and viewer
    # =============================================================================================
    def current_row(self) -> ResultRow | None:
        index = self.table.currentIndex()
        return self.proxy.row_at(index.row()) if index.isValid() else None

    def select_path(self, path: str) -> bool:
        position = self.results.position_of(str(path))
        if position is None:
            return False
        proxy_index = self.proxy.mapFromSource(self.results.index(position, 0))
        if not proxy_index.isValid():
            return False
        self.table.selectRow(proxy_index.row())
        return True

    @Slot(QModelIndex, QModelIndex)
    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_row(self.proxy.row_at(current.row()) if current.isValid() else None)

    def _show_row(self, row: ResultRow | None) -> None:
        self.view_controller.show_row(row)
        if row is not None:
            self._update_inspector()

    def heatmap_cached(self, path: str, target: int | None = None) -> bool:
        return self.view_controller.heatmap_cached(path, target)

    @Slot(bool)
    def set_overlay_visible(self, visible: bool) -> None:
        if self.act_overlay.isChecked() != bool(visible):
            self.act_overlay.setChecked(bool(visible))  # re-enters through toggled
            return
        self.view_controller.set_overlay_visible(bool(visible))
        self._settings.set_overlay_visible(bool(visible))

    @Slot(int)
    def _on_opacity_changed(self, value: int) -> None:
        self.viewer.set_overlay_opacity(value / 100)
        self._settings.set_overlay_opacity(value / 100)

    def _fill_class_combo(self) -> None:
        classifier = self.models.classifier
        self._show_explain_choices(classifier.classes if classifier is not None else [], AUTO_EXPLAIN)
        self.view_controller.explain_choice = self.class_combo.currentData()

    @Slot(int)
    def _on_class_combo(self, _index: int) -> None:
        self.view_controller.explain_choice = self.class_combo.currentData()
        self.view_controller.refresh()

    @Slot(str)
    def _on_view_failed(self, message: str) -> None:
        self.statusBar().showMessage(self.tr("Could not show the image: {message}").format(message=message), 8000)

    def _update_viewer_message(self) -> None:
        if not self.viewer.has_image():
            self._show_viewer_hint(self.models.classifier is not None, self.models.is_loading(),
                                   self.results.rowCount() > 0, len(self.predictions.waiting_inputs()))

    # =============================================================================================
    # model
    # =============================================================================================
    def load_model(self, path: str | Path) -> None:
        """Load a model file chosen by the person: on failure a message box, current model kept."""
        self._user_model_request = str(path)
        self.models.load(path)

    @Slot()
    def load_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Load a PneumoDesktop model"),
                                              self._settings.last_folder("model"),
                                              self.tr("PneumoDesktop models (*.pneumo);;All files (*)"))
        if path:
            self._settings.set_last_folder("model", str(Path(path).parent))
            self.load_model(path)

    @Slot(str)
    def _on_model_loading(self, path: str) -> None:
        self.model_status.setText(self.tr("Loading model {name}…").format(name=Path(path).name))
        self._update_viewer_message()

    @Slot(object)
    def _on_model_changed(self, classifier) -> None:
        self._user_model_request = None
        self.view_controller.forget_heatmaps()
        self._fill_class_combo()
        self._update_title()
        self._update_model_status()
        threshold = self.models.threshold()
        self.panel.set_model(classifier.name, self.models.version, threshold, classifier.threshold,
                             classifier.classes[classifier.normal_index])
        self.results.set_decision_rule(classifier.classes[classifier.normal_index], threshold)
        # Results on screen must come from the model on screen: analyse them again.
        again = self.results.paths() + self.predictions.discard()
        if again:
            self.results.clear()
            self.view_controller.clear()
            self.statusBar().showMessage(self.tr("Model changed: analysing the images again."), 6000)
        self.predictions.request(again)  # with the inputs that waited for a model
        self._update_progress()
        self._update_viewer_message()
        self._update_actions()
        if self._inspector is not None:
            self._update_inspector()

    @Slot(str, str)
    def _on_model_failed(self, path: str, message: str) -> None:
        self._update_model_status()
        self._update_viewer_message()
        asked, self._user_model_request = self._user_model_request is not None, None
        if not self._closing:
            kept = self.models.classifier
            self._tell_model_failed(Path(path).name, message, asked, kept.name if kept is not None else None)

    @Slot(float)
    def _on_threshold_changed(self, threshold: float) -> None:
        classifier = self.models.classifier
        if classifier is None:
            return
        self.results.relabel(classifier, threshold)
        self.panel.set_model(classifier.name, self.models.version, threshold, classifier.threshold,
                             classifier.classes[classifier.normal_index])
        row = self.current_row()
        if row is not None:
            self.view_controller.show_row(row)
            self.view_controller.refresh()
        self._update_summary()
        self._update_model_status()

    def set_threshold(self, threshold: float | None) -> None:
        """Use ``threshold`` for the active model (None: the model's own); re-labels at once."""
        self.models.set_threshold(threshold)

    @Slot()
    def threshold_dialog(self) -> None:
        classifier = self.models.classifier
        if classifier is None:
            return
        dialog = ThresholdDialog(self.models.threshold(), classifier.threshold, self)
        if dialog.exec() == ThresholdDialog.DialogCode.Accepted:
            self.set_threshold(dialog.value())

    def _update_model_status(self) -> None:
        classifier = self.models.classifier
        self._show_model_status(classifier.name if classifier is not None else None, self.models.threshold(),
                                self.models.is_loading())

    @Slot()
    def show_model_info(self) -> None:
        classifier = self.models.classifier
        if classifier is None:
            return
        ModelInfoDialog(classifier, self.models.version, self.models.threshold(), self).exec()

    def _fill_models_menu(self) -> None:
        for act in self._show_model_choices(self.models.builtin_models(), self.models.user_models(),
                                            self.models.active_path()):
            act.triggered.connect(self._on_model_menu_action)

    @Slot()
    def _on_model_menu_action(self) -> None:
        act = self.sender()
        if isinstance(act, QAction) and act.data():
            self.load_model(str(act.data()))

    # =============================================================================================
    # export
    # =============================================================================================
    def _ask_export_path(self, title: str, name: str, file_filter: str) -> str:
        """A save path chosen by the person, with ``name``'s suffix; "" when cancelled."""
        path = self._ask_save_path(title, Path(self._settings.last_folder("export")) / name, file_filter)
        if path:
            self._settings.set_last_folder("export", str(Path(path).parent))
        return path

    @Slot()
    def export_csv_dialog(self) -> None:
        if self.results.rowCount() == 0:
            return
        path = self._ask_export_path(self.tr("Export results"), "pneumo_results.csv", self.tr("CSV files (*.csv)"))
        if path:
            self.export_csv(path)

    def export_csv(self, path: str | Path) -> bool:
        """Write every row (with its current verdict) as CSV. Returns True when written."""
        return self.exports.export_csv(path)

    @Slot()
    def export_report_dialog(self) -> None:
        if self.results.rowCount() == 0 or self.exports.is_writing_report():
            return
        path = self._ask_export_path(self.tr("Export report"), "pneumo_report.pdf", self.tr("PDF files (*.pdf)"))
        if path:
            self.export_report(path)

    def export_report(self, path: str | Path, show_progress: bool = True, image_pages: bool = False) -> bool:
        """Start writing the PDF report (in the background); ``report_finished`` tells the end.
        ``image_pages``: write PNG pages into the folder ``path`` instead (previews)."""
        started = self.exports.export_report(path, self.opacity_slider.value() / 100, show_progress, image_pages,
                                             dialog_parent=self)
        self._update_actions()
        return started

    @Slot(str)
    def _on_csv_written(self, path: str) -> None:
        self.statusBar().showMessage(self.tr("Results saved to {path}").format(path=path), 8000)

    @Slot(str, bool)
    def _on_report_finished(self, path: str, written: bool) -> None:
        self._update_actions()
        if written:
            self.statusBar().showMessage(self.tr("Report saved to {path}").format(path=path), 8000)
        self.report_finished.emit(path, written)

    @Slot(str)
    def _on_export_failed(self, message: str) -> None:
        if not self._closing:
            QMessageBox.critical(self, self.tr("Export failed"), message)

    # =============================================================================================
    # other windows
    # =============================================================================================
    @Slot()
    def open_model_inspector(self) -> None:
        classifier = self.models.classifier
        if classifier is None:
            QMessageBox.information(self, self.tr("Model inspector"), self.tr("Load a model first."))
            return
        if self._inspector is None:
            try:
                from .model_inspector import ModelInspector
            except Exception as exc:  # noqa: BLE001 - an optional module must not take the window down
                QMessageBox.warning(self, self.tr("Model inspector"),
                                    self.tr("The model inspector is not available in this build:\n{error}").format(
                                        error=exc))
                return
            inspector = ModelInspector(self)
            if not inspector.isWindow():
                inspector.setWindowFlag(Qt.WindowType.Window, True)
            self._inspector = inspector
        self._update_inspector()
        self._inspector.show()
        self._inspector.raise_()
        self._inspector.activateWindow()

    def _inspector_image(self, classifier) -> np.ndarray:
        """The selected row's model input (uint8 (S, S)), else a synthetic chest's."""
        row = self.current_row()
        if row is not None and row.record.image_u8 is not None:
            return row.record.image_u8
        from ..core.synthetic import synthetic_chest_image

        return classifier.prepare(synthetic_chest_image(256).astype(np.float32) / 255.0)

    def _update_inspector(self) -> None:
        classifier = self.models.classifier
        if self._inspector is None or classifier is None:
            return
        try:
            self._inspector.set_image(classifier, self._inspector_image(classifier))
        except Exception as exc:  # noqa: BLE001 - a fault in the inspector must not break the window
            self.statusBar().showMessage(self.tr("Model inspector: {error}").format(error=exc), 8000)

    @Slot()
    def open_training_wizard(self) -> None:
        if self._wizard is not None and self._wizard.isVisible():
            self._wizard.raise_()
            self._wizard.activateWindow()
            return
        try:
            from .training_wizard import TrainingWizard
        except Exception as exc:  # noqa: BLE001 - an optional module must not take the window down
            QMessageBox.warning(self, self.tr("Train new model"),
                                self.tr("Training is not available in this build:\n{error}").format(error=exc))
            return
        wizard = TrainingWizard(self.models.classifier, self)
        wizard.model_adopted.connect(self._on_model_adopted)
        self._wizard = wizard
        wizard.show()

    @Slot(str, bool)
    def _on_model_adopted(self, path: str, make_active: bool) -> None:
        self.statusBar().showMessage(self.tr("New model saved: {path}").format(path=path), 8000)
        if make_active:
            self.load_model(path)

    @Slot()
    def show_about(self) -> None:
        classifier = self.models.classifier
        AboutDialog(classifier.name if classifier else None, self.models.version if classifier else None, self).exec()

    @Slot()
    def _on_language_action(self) -> None:
        act = self.sender()
        if not isinstance(act, QAction):
            return
        code = str(act.data() or "")
        self._settings.set_language(code)
        i18n.install_language(code)

    # =============================================================================================
    # state and shutdown
    # =============================================================================================
    def _update_actions(self) -> None:
        has_model = self.models.classifier is not None
        has_rows = self.results.rowCount() > 0
        self.act_export_csv.setEnabled(has_rows)
        self.act_export_pdf.setEnabled(has_rows and not self.exports.is_writing_report())
        self.act_clear.setEnabled(has_rows or self.predictions.is_running())
        self.act_model_info.setEnabled(has_model)
        self.act_threshold.setEnabled(has_model)
        self.act_inspector.setEnabled(has_model)
        self.act_cancel.setEnabled(self.predictions.is_running())

    def _controllers(self) -> tuple:
        return self.predictions, self.view_controller, self.exports, self.models

    def jobs_running(self) -> bool:
        """True while any job is at work or any worker thread has yet to end."""
        busy = (self.predictions.is_running() or self.view_controller.is_busy() or self.exports.is_writing_report()
                or self.models.is_loading())
        return busy or any(controller.threads_running() for controller in self._controllers())

    def stop_all_jobs(self) -> None:
        """Cancel every background job and wait for its thread to end."""
        for controller in self._controllers():
            controller.stop()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self._closing = True
        for window in (self._wizard, self._inspector):
            if window is not None:
                window.close()
        self._save_settings()
        self.stop_all_jobs()
        QApplication.processEvents()  # deliver the queued "finished" notifications now
        event.accept()
        super().closeEvent(event)
