"""The main window: open X-rays, see verdicts stream into a table, inspect one image at a time.

Layout: the radiograph viewer in the centre, the finding panel docked on the right, the results
table (with its filters) docked at the bottom, and the progress of a running batch in the
status bar with a Cancel button.

Work off the GUI thread, always through ``GeneratorJob``:

* model loading (``ModelManager``);
* batch prediction (``PredictionRun``): one at a time; a new request supersedes the running
  one, which is cancelled, and the files it had not reached yet are queued in front of the new
  ones, so nothing asked for is dropped. Cancel keeps the rows already in;
* the selected image and its Grad-CAM (``ViewJob``): decoded and explained on demand, cached per
  image and class so that toggling the overlay is instant;
* the PDF report.

Closing the window stops every job and waits for its thread.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QApplication, QComboBox, QDockWidget, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
    QLineEdit, QMainWindow, QMessageBox, QProgressBar, QProgressDialog, QPushButton, QScrollArea, QSizePolicy, QSlider,
    QStyle, QTableView, QToolBar, QVBoxLayout, QWidget,
)

from .. import APP_NAME
from . import i18n
from .about_dialog import AboutDialog, app_icon
from .i18n import format_duration, format_number
from .image_viewer import ImageViewer, heatmap_rgba, to_levels
from .model_info_dialog import ModelInfoDialog
from ..process import ensure_torch_configured, lower_thread_priority
from .model_manager import ModelManager
from .result_panel import ResultPanel
from .results_model import (
    FILTER_ALL, FILTER_ERROR, FILTER_NEGATIVE, FILTER_POSITIVE, FILTER_UNSUPPORTED, STATUS_OK, ResultRow,
    ResultsFilterProxy, ResultsTableModel, class_display_name,
)
from .settings import Settings
from .threshold_dialog import ThresholdDialog
from .workers import GeneratorJob

IMAGE_PATTERNS = "*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.dcm *.dicom *.gif *.webp"
HEATMAP_MAX_SIDE = 512
IMAGE_CACHE_SIZE = 8
FLUSH_MS = 40
AUTO_EXPLAIN = -1  # class combo value: explain the class of the verdict


# ----- background generators (run in worker threads) -------------------------------------------------------
def predict_inputs(classifier, inputs: list[str], threshold: float | None, batch_size: int):
    """Expand ``inputs`` (files and folders), yield ``("planned", paths)``, then one
    PredictionRecord per file (images kept, for heatmaps later)."""
    lower_thread_priority()
    ensure_torch_configured()
    from ..core.imageio import list_input_files
    from ..core.predict import predict_files

    paths = [str(p) for p in list_input_files(inputs)]
    yield ("planned", paths)
    if paths:
        yield from predict_files(classifier, paths, threshold=threshold, batch_size=batch_size, workers=2,
                                 keep_images=True)


def heatmap_size(image_size: tuple[int, int] | None, model_side: int) -> tuple[int, int]:
    """(h, w) for a heatmap: the image's aspect ratio, longer side at most HEATMAP_MAX_SIDE."""
    if not image_size:
        return model_side, model_side
    h, w = image_size
    scale = min(1.0, HEATMAP_MAX_SIDE / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def load_view(path: str, need_image: bool, classifier, image_u8, target: int | None, size):
    """Decode the image (if not cached) and compute its Grad-CAM for ``target`` (if asked)."""
    if need_image:
        from ..core.errors import ImageReadError
        from ..core.imageio import read_image

        try:
            pixels = read_image(path).pixels
            yield ("image", path, pixels, to_levels(pixels), "")
        except ImageReadError as exc:
            yield ("image", path, None, None, str(exc))
    if target is not None and image_u8 is not None and classifier is not None:
        ensure_torch_configured()
        from ..core.explain import gradcam

        heat, _ = gradcam(classifier, image_u8, target_class=target, output_size=size)
        yield ("heatmap", path, target, (heat, heatmap_rgba(heat)))


class PredictionRun(QObject):
    """One batch prediction job. Forwards its worker's output as ``planned``, ``records`` (in
    small batches, so a table of thousands of rows stays smooth) and ``ended``."""

    planned = Signal(list)
    records = Signal(list)
    ended = Signal(str)  # "done", "cancelled" or "error: <message>"

    def __init__(self, classifier, inputs: list[str], threshold: float | None, batch_size: int, parent=None):
        super().__init__(parent)
        self.inputs = list(inputs)
        self.threshold = threshold
        self.paths: list[str] | None = None
        self.received: set[str] = set()
        self.started_at = time.monotonic()
        self.outcome = ""
        self._buffer: list = []
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)
        self.job = GeneratorJob(lambda: predict_inputs(classifier, self.inputs, threshold, batch_size),
                                parent=self, name="pneumo-predict")
        self.job.worker.yielded.connect(self._on_item)
        self.job.worker.errored.connect(self._on_error)
        self.job.worker.cancelled.connect(self._on_cancelled)
        self.job.worker.returned.connect(self._on_returned)
        self.job.finished.connect(self._on_finished)

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.job.start()

    def cancel(self) -> None:
        self.job.cancel()

    def stop(self) -> None:
        self.job.stop()

    def is_running(self) -> bool:
        return self.job.is_running()

    def remaining(self) -> list[str]:
        """Inputs not yet answered: unreached files, or the raw inputs if not yet expanded."""
        if self.paths is None:
            return list(self.inputs)
        return [p for p in self.paths if p not in self.received]

    @Slot(object)
    def _on_item(self, item) -> None:
        if isinstance(item, tuple) and item and item[0] == "planned":
            self.paths = list(item[1])
            self.planned.emit(self.paths)
            return
        self.received.add(item.path)
        self._buffer.append(item)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    @Slot()
    def _flush(self) -> None:
        if self._buffer:
            batch, self._buffer = self._buffer, []
            self.records.emit(batch)

    @Slot(str, str)
    def _on_error(self, message: str, _traceback: str) -> None:
        self.outcome = f"error: {message}"

    @Slot()
    def _on_cancelled(self) -> None:
        self.outcome = "cancelled"

    @Slot()
    def _on_returned(self) -> None:
        self.outcome = "done"

    @Slot()
    def _on_finished(self) -> None:
        self._flush_timer.stop()
        self._flush()
        self.ended.emit(self.outcome or "cancelled")


class MainWindow(QMainWindow):
    """The PneumoDesktop main window."""

    records_added = Signal(int)        # rows added or updated in the last flush
    prediction_finished = Signal(str)  # outcome of the batch: done / cancelled / error: …
    view_ready = Signal(str)           # path whose image is now in the viewer
    heatmap_ready = Signal(str, int)   # (path, class index) whose heatmap is now cached
    report_finished = Signal(str, bool)  # (path, written)

    def __init__(self, load_default_model: bool = True, initial_paths: list[str] | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.prediction_batch_size = 16
        self._settings = Settings()
        self._pending_inputs: list[str] = list(initial_paths or [])
        self._run: PredictionRun | None = None
        self._retired_runs: list[PredictionRun] = []
        self._run_total = 0
        self._run_done = 0
        self._view_job: GeneratorJob | None = None
        self._retired_view_jobs: list[GeneratorJob] = []
        self._view_request: tuple | None = None
        self._images: OrderedDict[str, tuple[np.ndarray, np.ndarray] | None] = OrderedDict()
        self._image_errors: dict[str, str] = {}
        self._heatmaps: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]] = {}  # path -> class -> (heat, rgba)
        self._current_path: str | None = None
        self._report_job: GeneratorJob | None = None
        self._report_writer = None
        self._report_rows: list[ResultRow] = []
        self._report_progress: QProgressDialog | None = None
        self._report_explained: list[str | None] = []
        self._report_failed = ""
        self._report_cancelled = False
        self._inspector = None
        self._wizard = None
        self._user_model_request: str | None = None
        self._closing = False

        self.models = ModelManager(self)
        self.models.loading.connect(self._on_model_loading)
        self.models.model_changed.connect(self._on_model_changed)
        self.models.load_failed.connect(self._on_model_failed)
        self.models.threshold_changed.connect(self._on_threshold_changed)

        self._build_ui()
        self._create_actions()
        self._build_menus()
        self._build_toolbars()
        self._build_status_bar()
        self._retranslate()
        self._restore_settings()
        self._update_actions()
        if load_default_model:
            QTimer.singleShot(0, self.models.load_startup_model)

    # =============================================================================================
    # construction
    # =============================================================================================
    def _build_ui(self) -> None:
        self.viewer = ImageViewer()
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        self.image_toolbar = QToolBar()
        self.image_toolbar.setObjectName("imageToolbar")
        self.image_toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        central_layout.addWidget(self.image_toolbar)
        central_layout.addWidget(self.viewer, 1)
        self.setCentralWidget(central)
        self.viewer.pixel_hovered.connect(self._on_pixel_hovered)
        self.viewer.zoom_changed.connect(self._on_zoom_changed)
        self.viewer.window_changed.connect(self._on_window_changed)

        self.panel = ResultPanel()
        scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.panel_dock = QDockWidget(self)
        self.panel_dock.setObjectName("findingDock")
        self.panel_dock.setWidget(scroll)
        self.panel_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                    | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.panel_dock)

        self.results = ResultsTableModel(self)
        self.proxy = ResultsFilterProxy(self)
        self.proxy.setSourceModel(self.results)
        table_area = QWidget()
        table_layout = QVBoxLayout(table_area)
        table_layout.setContentsMargins(6, 4, 6, 6)
        table_layout.setSpacing(4)
        bar = QHBoxLayout()
        self._show_label = QLabel()
        self.filter_combo = QComboBox()
        self.filter_combo.setObjectName("filterCombo")
        self.filter_combo.currentIndexChanged.connect(self._on_filter_mode)
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("filterEdit")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.set_filter_text)
        self.summary_label = QLabel()
        self.summary_label.setObjectName("summaryLabel")
        bar.addWidget(self._show_label)
        bar.addWidget(self.filter_combo)
        bar.addWidget(self.filter_edit, 1)
        bar.addSpacing(12)
        bar.addWidget(self.summary_label)
        table_layout.addLayout(bar)
        self.table = QTableView()
        self.table.setObjectName("resultsTable")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, width in ((1, 190), (2, 120), (3, 110), (4, 90)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            self.table.setColumnWidth(column, width)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        table_layout.addWidget(self.table, 1)
        self.table_dock = QDockWidget(self)
        self.table_dock.setObjectName("resultsDock")
        self.table_dock.setWidget(table_area)
        self.table_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                    | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.table_dock)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.resizeDocks([self.panel_dock], [380], Qt.Orientation.Horizontal)
        self.resizeDocks([self.table_dock], [260], Qt.Orientation.Vertical)

    def _create_actions(self) -> None:
        style = self.style()

        def action(name: str, slot, shortcut=None, icon=None, checkable=False) -> QAction:
            act = QAction(self)
            act.setObjectName(name)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            if icon is not None:
                act.setIcon(icon)
            act.setCheckable(checkable)
            if checkable:
                act.toggled.connect(slot)
            else:
                act.triggered.connect(slot)
            return act

        sp = QStyle.StandardPixmap
        self.act_open = action("actOpen", self.open_images_dialog, QKeySequence.StandardKey.Open,
                               style.standardIcon(sp.SP_DialogOpenButton))
        self.act_open_folder = action("actOpenFolder", self.open_folder_dialog, "Ctrl+Shift+O",
                                      style.standardIcon(sp.SP_DirOpenIcon))
        self.act_clear = action("actClear", self.clear_results, None, style.standardIcon(sp.SP_DialogResetButton))
        self.act_export_csv = action("actExportCsv", self.export_csv_dialog, "Ctrl+E",
                                     style.standardIcon(sp.SP_DialogSaveButton))
        self.act_export_pdf = action("actExportPdf", self.export_report_dialog, "Ctrl+Shift+E",
                                     style.standardIcon(sp.SP_FileDialogDetailedView))
        self.act_quit = action("actQuit", self.close, QKeySequence.StandardKey.Quit)
        self.act_overlay = action("actOverlay", self.set_overlay_visible, "G", _heat_icon(), checkable=True)
        self.act_fit = action("actFit", self.viewer.fit, "F")
        self.act_actual = action("actActual", self.viewer.actual_size, "1")
        self.act_zoom_in = action("actZoomIn", lambda: self.viewer.zoom_by(1.25), QKeySequence.StandardKey.ZoomIn)
        self.act_zoom_out = action("actZoomOut", lambda: self.viewer.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut)
        self.act_invert = action("actInvert", self.viewer.set_invert, "I", checkable=True)
        self.act_reset_wl = action("actResetWL", self.viewer.reset_window, "R")
        self.act_inspector = action("actInspector", self.open_model_inspector, "Ctrl+I")
        self.act_load_model = action("actLoadModel", self.load_model_dialog, "Ctrl+M")
        self.act_model_info = action("actModelInfo", self.show_model_info)
        self.act_threshold = action("actThreshold", self.threshold_dialog, "Ctrl+T")
        self.act_train = action("actTrain", self.open_training_wizard)
        self.act_about = action("actAbout", self.show_about)
        self.act_cancel = action("actCancel", self.cancel_prediction, "Esc")
        self.addAction(self.act_cancel)  # shortcut only: the status bar carries the Cancel button

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("")
        self.file_menu.setObjectName("fileMenu")
        self.file_menu.addAction(self.act_open)
        self.file_menu.addAction(self.act_open_folder)
        self.recent_menu = self.file_menu.addMenu("")
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.act_export_csv)
        self.file_menu.addAction(self.act_export_pdf)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.act_clear)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.act_quit)

        self.view_menu = bar.addMenu("")
        self.view_menu.setObjectName("viewMenu")
        self.view_menu.addAction(self.act_overlay)
        self.view_menu.addSeparator()
        for act in (self.act_fit, self.act_actual, self.act_zoom_in, self.act_zoom_out):
            self.view_menu.addAction(act)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.act_invert)
        self.view_menu.addAction(self.act_reset_wl)
        self.view_menu.addSeparator()
        self.panels_menu = self.view_menu.addMenu("")
        self.panels_menu.addAction(self.panel_dock.toggleViewAction())
        self.panels_menu.addAction(self.table_dock.toggleViewAction())
        self.language_menu = self.view_menu.addMenu("")
        self.language_menu.setObjectName("languageMenu")
        self.language_group = QActionGroup(self)
        self.language_group.setExclusive(True)
        self.language_actions: dict[str, QAction] = {}
        for code in ["", *i18n.LANGUAGES]:
            act = QAction(self)
            act.setCheckable(True)
            act.setData(code)
            act.triggered.connect(self._on_language_action)
            self.language_group.addAction(act)
            self.language_menu.addAction(act)
            self.language_actions[code] = act
        self.language_actions.get(self._settings.language(), self.language_actions[""]).setChecked(True)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.act_inspector)

        self.model_menu = bar.addMenu("")
        self.model_menu.setObjectName("modelMenu")
        self.model_menu.addAction(self.act_load_model)
        self.models_menu = self.model_menu.addMenu("")
        self.models_menu.setObjectName("modelsMenu")
        self.models_menu.aboutToShow.connect(self._fill_models_menu)
        self.model_menu.addAction(self.act_model_info)
        self.model_menu.addAction(self.act_threshold)
        self.model_menu.addSeparator()
        self.model_menu.addAction(self.act_train)

        self.help_menu = bar.addMenu("")
        self.help_menu.setObjectName("helpMenu")
        self.help_menu.addAction(self.act_about)

    def _build_toolbars(self) -> None:
        self.file_toolbar = QToolBar(self)
        self.file_toolbar.setObjectName("fileToolbar")
        self.file_toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for act in (self.act_open, self.act_open_folder, self.act_export_csv, self.act_export_pdf):
            self.file_toolbar.addAction(act)
        self.addToolBar(self.file_toolbar)

        self.view_toolbar = QToolBar(self)
        self.view_toolbar.setObjectName("viewToolbar")
        self.view_toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.view_toolbar.addAction(self.act_overlay)
        self._opacity_label = QLabel()
        self._opacity_label.setContentsMargins(6, 0, 4, 0)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setObjectName("opacitySlider")
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setFixedWidth(110)
        self.opacity_slider.setValue(int(round(self._settings.overlay_opacity() * 100)))
        self.opacity_slider.valueChanged.connect(self._on_opacity_changed)
        self.viewer.set_overlay_opacity(self.opacity_slider.value() / 100)
        self._explain_label = QLabel()
        self._explain_label.setContentsMargins(10, 0, 4, 0)
        self.class_combo = QComboBox()
        self.class_combo.setObjectName("classCombo")
        self.class_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.class_combo.currentIndexChanged.connect(self._on_class_combo)
        self.view_toolbar.addWidget(self._opacity_label)
        self.view_toolbar.addWidget(self.opacity_slider)
        self.view_toolbar.addWidget(self._explain_label)
        self.view_toolbar.addWidget(self.class_combo)
        self.addToolBar(self.view_toolbar)

        # Image controls sit right above the image they act on.
        for act in (self.act_fit, self.act_actual, self.act_zoom_in, self.act_zoom_out):
            self.image_toolbar.addAction(act)
        self.image_toolbar.addSeparator()
        for act in (self.act_invert, self.act_reset_wl):
            self.image_toolbar.addAction(act)
        self._brightness_label = QLabel()
        self._brightness_label.setContentsMargins(6, 0, 4, 0)
        self.brightness_slider = QSlider(Qt.Orientation.Horizontal)
        self.brightness_slider.setObjectName("brightnessSlider")
        self.brightness_slider.setRange(0, 100)
        self.brightness_slider.setValue(50)
        self.brightness_slider.setFixedWidth(100)
        self._contrast_label = QLabel()
        self._contrast_label.setContentsMargins(6, 0, 4, 0)
        self.contrast_slider = QSlider(Qt.Orientation.Horizontal)
        self.contrast_slider.setObjectName("contrastSlider")
        self.contrast_slider.setRange(0, 100)
        self.contrast_slider.setValue(0)
        self.contrast_slider.setFixedWidth(100)
        self.brightness_slider.valueChanged.connect(self._on_window_sliders)
        self.contrast_slider.valueChanged.connect(self._on_window_sliders)
        self.image_toolbar.addWidget(self._brightness_label)
        self.image_toolbar.addWidget(self.brightness_slider)
        self.image_toolbar.addWidget(self._contrast_label)
        self.image_toolbar.addWidget(self.contrast_slider)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.image_toolbar.addWidget(spacer)
        self.zoom_label = QLabel()
        self.zoom_label.setObjectName("zoomLabel")
        self.zoom_label.setContentsMargins(8, 0, 8, 0)
        self.image_toolbar.addWidget(self.zoom_label)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.model_status = QLabel()
        self.model_status.setObjectName("modelStatus")
        self.pixel_label = QLabel()
        self.pixel_label.setObjectName("pixelLabel")
        self.pixel_label.setMinimumWidth(170)
        self.progress_label = QLabel()
        self.progress_label.setObjectName("progressLabel")
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setFixedWidth(180)
        self.progress_bar.setTextVisible(False)
        self.cancel_button = QPushButton()
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.clicked.connect(self.cancel_prediction)
        status.addWidget(self.model_status)
        status.addPermanentWidget(self.progress_label)
        status.addPermanentWidget(self.progress_bar)
        status.addPermanentWidget(self.cancel_button)
        status.addPermanentWidget(self.pixel_label)
        for widget in (self.progress_label, self.progress_bar, self.cancel_button):
            widget.setVisible(False)

    # =============================================================================================
    # translation
    # =============================================================================================
    def changeEvent(self, event):  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def _retranslate(self) -> None:
        self._update_title()
        self.file_menu.setTitle(self.tr("&File"))
        self.view_menu.setTitle(self.tr("&View"))
        self.model_menu.setTitle(self.tr("&Model"))
        self.help_menu.setTitle(self.tr("&Help"))
        self.recent_menu.setTitle(self.tr("Open &recent"))
        self.panels_menu.setTitle(self.tr("&Panels"))
        self.language_menu.setTitle(self.tr("&Language"))
        self.models_menu.setTitle(self.tr("&Models trained in this app"))
        texts = {
            self.act_open: (self.tr("&Open images…"), self.tr("Open one or more X-ray images")),
            self.act_open_folder: (self.tr("Open &folder…"), self.tr("Analyse every image in a folder and its sub-folders")),
            self.act_clear: (self.tr("C&lear results"), self.tr("Remove every row from the results table")),
            self.act_export_csv: (self.tr("Export &results…"), self.tr("Save the results table as a CSV file")),
            self.act_export_pdf: (self.tr("Export re&port…"), self.tr("Save a PDF report with each image, its heatmap and verdict")),
            self.act_quit: (self.tr("&Quit"), self.tr("Quit PneumoDesktop")),
            self.act_overlay: (self.tr("&Grad-CAM overlay"), self.tr("Show where the model looked (G)")),
            self.act_fit: (self.tr("&Fit to window"), self.tr("Fit the whole image in the view (F)")),
            self.act_actual: (self.tr("&Actual size (1:1)"), self.tr("One image pixel per screen pixel (1)")),
            self.act_zoom_in: (self.tr("Zoom i&n"), self.tr("Zoom in")),
            self.act_zoom_out: (self.tr("Zoom &out"), self.tr("Zoom out")),
            self.act_invert: (self.tr("&Invert"), self.tr("Show the image as a negative (I)")),
            self.act_reset_wl: (self.tr("&Reset window/level"), self.tr(
                "Restore the full brightness range (R). Drag with the right mouse button on the image to "
                "adjust window and level.")),
            self.act_inspector: (self.tr("&Model inspector…"), self.tr("See the selected image through the model's layers")),
            self.act_load_model: (self.tr("&Load model file…"), self.tr("Use a different .pneumo model file")),
            self.act_model_info: (self.tr("Model &information"), self.tr("Training data, metrics, threshold and date of the model")),
            self.act_threshold: (self.tr("Set &threshold…"), self.tr("Change the probability above which an image is flagged")),
            self.act_train: (self.tr("&Train new model…"), self.tr("Train a model on a labelled folder of X-rays")),
            self.act_about: (self.tr("&About PneumoDesktop"), self.tr("Version, licence and intended use")),
            self.act_cancel: (self.tr("Cancel"), self.tr("Stop the running batch; results so far are kept")),
        }
        for act, (text, tip) in texts.items():
            act.setText(text)
            act.setToolTip(tip)
            act.setStatusTip(tip)
        self.act_open.setIconText(self.tr("Open images"))
        self.act_open_folder.setIconText(self.tr("Open folder"))
        self.act_export_csv.setIconText(self.tr("Export CSV"))
        self.act_export_pdf.setIconText(self.tr("PDF report"))
        self.act_overlay.setIconText(self.tr("Heatmap"))
        self.act_fit.setIconText(self.tr("Fit"))
        self.act_actual.setIconText(self.tr("1:1"))
        self.act_invert.setIconText(self.tr("Invert"))
        self.act_reset_wl.setIconText(self.tr("Reset W/L"))
        self.act_zoom_in.setIconText(self.tr("Zoom +"))
        self.act_zoom_out.setIconText(self.tr("Zoom −"))
        self.image_toolbar.setWindowTitle(self.tr("Image"))
        self.language_actions[""].setText(self.tr("System default"))
        for code, name in i18n.LANGUAGES.items():
            self.language_actions[code].setText(name)
        self.file_toolbar.setWindowTitle(self.tr("File"))
        self.view_toolbar.setWindowTitle(self.tr("View"))
        self._opacity_label.setText(self.tr("Opacity"))
        self.opacity_slider.setToolTip(self.tr("Heatmap opacity"))
        self._explain_label.setText(self.tr("Explain"))
        self.class_combo.setToolTip(self.tr("Which class the heatmap explains"))
        self._brightness_label.setText(self.tr("Level"))
        self.brightness_slider.setToolTip(self.tr("Window level (brightness)"))
        self._contrast_label.setText(self.tr("Contrast"))
        self.contrast_slider.setToolTip(self.tr("Window width (contrast)"))
        self.panel_dock.setWindowTitle(self.tr("Finding"))
        self.table_dock.setWindowTitle(self.tr("Results"))
        self._show_label.setText(self.tr("Show"))
        current = max(0, self.filter_combo.currentIndex())
        self.filter_combo.blockSignals(True)
        self.filter_combo.clear()
        for text, mode in ((self.tr("All"), FILTER_ALL), (self.tr("Positives"), FILTER_POSITIVE),
                           (self.tr("Negatives"), FILTER_NEGATIVE), (self.tr("Unsupported"), FILTER_UNSUPPORTED),
                           (self.tr("Errors"), FILTER_ERROR)):
            self.filter_combo.addItem(text, mode)
        self.filter_combo.setCurrentIndex(current)
        self.filter_combo.blockSignals(False)
        self.filter_edit.setPlaceholderText(self.tr("Filter by file name…"))
        self.cancel_button.setText(self.tr("Cancel"))
        self.cancel_button.setToolTip(self.act_cancel.toolTip())
        self._fill_class_combo()
        self.results.retranslate()
        self._update_heatmap_note(self._current_row())
        self._update_summary()
        self._update_model_status()
        self._update_progress()
        self._update_viewer_message()
        self._update_legend_subject()

    def _update_title(self) -> None:
        classifier = self.models.classifier
        if classifier is None:
            self.setWindowTitle(APP_NAME)
        else:
            self.setWindowTitle(self.tr("{app} — model {model}").format(app=APP_NAME, model=classifier.name))

    # =============================================================================================
    # settings
    # =============================================================================================
    def _restore_settings(self) -> None:
        geometry = self._settings.window_geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            available = self.screen().availableGeometry() if self.screen() is not None else None
            width, height = 1400, 900
            if available is not None and available.width() > 0:
                width = min(width, int(available.width() * 0.95))
                height = min(height, int(available.height() * 0.92))
            self.resize(width, height)
        state = self._settings.window_state()
        if state is not None:
            self.restoreState(state)
        self.act_overlay.setChecked(self._settings.overlay_visible())

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
        self.recent_menu.clear()
        recent = self._settings.recent_files()
        for path in recent:
            act = self.recent_menu.addAction(path)
            act.setData(path)
            act.setEnabled(Path(path).exists())
            act.triggered.connect(self._on_recent_action)
        if not recent:
            empty = self.recent_menu.addAction(self.tr("No recent files"))
            empty.setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            clear = self.recent_menu.addAction(self.tr("Clear list"))
            clear.triggered.connect(self._clear_recent)

    @Slot()
    def _on_recent_action(self) -> None:
        act = self.sender()
        if isinstance(act, QAction) and act.data():
            self.open_paths([str(act.data())])

    @Slot()
    def _clear_recent(self) -> None:
        self._settings.clear_recent()

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
        classifier = self.models.classifier
        queued = list(self._pending_inputs)
        if self._run is not None:
            queued += self._run.remaining()
            self._retire_run(self._run)
        queued += [str(p) for p in inputs]
        queued = list(dict.fromkeys(queued))
        if classifier is None:
            self._pending_inputs = queued
            self.statusBar().showMessage(self.tr("Waiting for the model to load…"), 4000)
            self._update_viewer_message()
            return
        self._pending_inputs = []
        if queued:
            self._start_run(classifier, queued)

    def _start_run(self, classifier, inputs: list[str]) -> None:
        run = PredictionRun(classifier, inputs, self.models.threshold(), self.prediction_batch_size, self)
        run.planned.connect(self._on_run_planned)
        run.records.connect(self._on_run_records)
        run.ended.connect(self._on_run_ended)
        self._run = run
        self._run_total = 0
        self._run_done = 0
        run.start()
        self._update_progress()
        self._update_actions()

    def _retire_run(self, run: PredictionRun) -> None:
        for signal, slot in ((run.planned, self._on_run_planned), (run.records, self._on_run_records),
                             (run.ended, self._on_run_ended)):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        run.ended.connect(self._on_retired_run_ended)
        run.cancel()
        self._retired_runs.append(run)
        if self._run is run:
            self._run = None

    @Slot(str)
    def _on_retired_run_ended(self, _outcome: str) -> None:
        run = self.sender()
        if run in self._retired_runs:
            self._retired_runs.remove(run)
            run.deleteLater()

    def is_predicting(self) -> bool:
        return self._run is not None

    @Slot()
    def cancel_prediction(self) -> None:
        """Stop the running batch at the next file; rows already in stay."""
        if self._run is not None:
            self._run.cancel()
            self.progress_label.setText(self.tr("Cancelling…"))
            self.cancel_button.setEnabled(False)

    @Slot(list)
    def _on_run_planned(self, paths: list) -> None:
        self._run_total = len(paths)
        self._update_progress()

    @Slot(list)
    def _on_run_records(self, records: list) -> None:
        for record in records:
            self._heatmaps.pop(record.path, None)
        had_rows = self.results.rowCount() > 0
        self.results.add_records(records)
        run = self.sender()
        classifier = self.models.classifier
        threshold = self.models.threshold()
        if classifier is not None and threshold is not None and isinstance(run, PredictionRun) \
                and run.threshold is not None and abs(run.threshold - threshold) > 1e-12:
            self.results.relabel(classifier, threshold)  # the threshold changed while the batch ran
        self._run_done += len(records)
        current = self._current_row()
        if current is not None and any(r.path == current.path for r in records):
            self._show_row(current)
        if not had_rows and self.table.currentIndex().row() < 0 and self.proxy.rowCount() > 0:
            self.table.selectRow(0)
        self._update_progress()
        self._update_summary()
        self._update_actions()
        self.records_added.emit(len(records))

    @Slot(str)
    def _on_run_ended(self, outcome: str) -> None:
        run = self.sender()
        if run is not self._run:
            return
        self._run = None
        run.deleteLater()
        self._update_progress()
        self._update_actions()
        if outcome == "cancelled":
            self.statusBar().showMessage(self.tr("Cancelled: {n} results kept.").format(n=self.results.rowCount()), 6000)
        elif outcome.startswith("error"):
            message = outcome.split(":", 1)[1].strip() if ":" in outcome else outcome
            self.statusBar().showMessage(self.tr("The batch stopped: {message}").format(message=message), 10000)
            if not self._closing:
                QMessageBox.warning(self, self.tr("Analysis stopped"),
                                    self.tr("The analysis stopped because of an unexpected error:\n\n{message}\n\n"
                                            "The results so far are kept.").format(message=message))
        else:
            counts = self.results.counts()
            self.statusBar().showMessage(self.tr("Done: {n} images analysed.").format(n=counts["total"]), 6000)
        self.prediction_finished.emit(outcome)

    def _update_progress(self) -> None:
        running = self._run is not None
        for widget in (self.progress_label, self.progress_bar, self.cancel_button):
            widget.setVisible(running)
        if not running:
            return
        self.cancel_button.setEnabled(True)
        total, done = self._run_total, min(self._run_done, self._run_total or self._run_done)
        if total <= 0:
            self.progress_bar.setRange(0, 0)
            self.progress_label.setText(self.tr("Finding images…"))
            return
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        elapsed = time.monotonic() - self._run.started_at
        if done > 0 and done < total:
            eta = elapsed / done * (total - done)
            self.progress_label.setText(self.tr("{done} of {total} · about {eta} left").format(
                done=done, total=total, eta=format_duration(eta)))
        else:
            self.progress_label.setText(self.tr("{done} of {total}").format(done=done, total=total))

    def _update_summary(self) -> None:
        counts = self.results.counts()
        if counts["total"] == 0:
            self.summary_label.setText("")
            return
        self.summary_label.setText(self.tr(
            "{total} images · {pos} abnormal · {neg} normal · {uns} unsupported · {err} errors").format(
                total=counts["total"], pos=counts["positive"], neg=counts["negative"], uns=counts["unsupported"],
                err=counts["error"]))

    @Slot(int)
    def _on_filter_mode(self, _index: int) -> None:
        mode = self.filter_combo.currentData()
        self.proxy.set_filter_mode(FILTER_ALL if mode is None else int(mode))

    @Slot()
    def clear_results(self) -> None:
        if self._run is not None:
            self._retire_run(self._run)
            self._update_progress()
        self._pending_inputs = []
        self.results.clear()
        self._heatmaps.clear()
        self._current_path = None
        self.viewer.clear()
        self.panel.show_row(None)
        self._update_viewer_message()
        self._update_summary()
        self._update_actions()

    # =============================================================================================
    # selection, viewer and heatmaps
    # =============================================================================================
    def _current_row(self) -> ResultRow | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.proxy.row_at(index.row())

    def current_row(self) -> ResultRow | None:
        return self._current_row()

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
        row = self.proxy.row_at(current.row()) if current.isValid() else None
        self._show_row(row)

    def _show_row(self, row: ResultRow | None) -> None:
        self.panel.show_row(row)
        if row is None:
            self._current_path = None
            return
        changed = row.path != self._current_path
        self._current_path = row.path
        if changed:
            if row.path in self._images:
                self._images.move_to_end(row.path)
                self._display_image(row.path)
            else:
                self.viewer.clear(self.tr("Loading {name}…").format(name=Path(row.path).name))
        self._request_view(row)
        self._update_inspector()

    def _explain_target(self, row: ResultRow) -> int | None:
        classifier = self.models.classifier
        if classifier is None or row.status != STATUS_OK or row.record.image_u8 is None:
            return None
        choice = self.class_combo.currentData()
        if choice is None or choice == AUTO_EXPLAIN:
            return classifier.classes.index(row.label) if row.label in classifier.classes else None
        return int(choice)

    def _request_view(self, row: ResultRow) -> None:
        """Decode and/or explain the row's image in the background if not cached."""
        need_image = row.path not in self._images
        target = self._explain_target(row)
        cached = self._heatmaps.get(row.path, {})
        if target is not None and target in cached:
            self._apply_heatmap(row.path)
            target_needed = None
        else:
            target_needed = target
            if not need_image:
                self.viewer.set_heatmap(None)
        if not need_image and target_needed is None:
            self._update_heatmap_note(row)
            return
        request = (row.path, need_image, target_needed)
        if self._view_job is not None and self._view_request == request:
            return
        if self._view_job is not None:
            self._retire_view_job(self._view_job)
        classifier = self.models.classifier
        size = heatmap_size(row.record.image_size, classifier.preprocessing.input_size if classifier else 256)
        image_u8 = row.record.image_u8
        job = GeneratorJob(lambda: load_view(row.path, need_image, classifier, image_u8, target_needed, size),
                           parent=self, name="pneumo-view")
        job.worker.yielded.connect(self._on_view_item)
        job.worker.errored.connect(self._on_view_error)
        job.finished.connect(self._on_view_job_finished)
        self._view_job = job
        self._view_request = request
        self._update_heatmap_note(row, computing=target_needed is not None)
        job.start()

    def _retire_view_job(self, job: GeneratorJob) -> None:
        for signal, slot in ((job.worker.yielded, self._on_view_item), (job.worker.errored, self._on_view_error)):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        job.cancel()
        self._retired_view_jobs.append(job)
        if self._view_job is job:
            self._view_job = None
            self._view_request = None

    @Slot(object)
    def _on_view_item(self, item) -> None:
        kind, path = item[0], item[1]
        if kind == "image":
            pixels, levels, message = item[2], item[3], item[4]
            self._images[path] = None if pixels is None else (pixels, levels)
            if pixels is None:
                self._image_errors[path] = message
            while len(self._images) > IMAGE_CACHE_SIZE:
                self._images.popitem(last=False)
            if path == self._current_path:
                self._display_image(path)
                self.view_ready.emit(path)
        elif kind == "heatmap":
            target, heat = item[2], item[3]
            self._heatmaps.setdefault(path, {})[target] = heat
            if path == self._current_path:
                self._apply_heatmap(path)
            self.heatmap_ready.emit(path, target)

    @Slot(str, str)
    def _on_view_error(self, message: str, _traceback: str) -> None:
        self.statusBar().showMessage(self.tr("Could not show the image: {message}").format(message=message), 8000)
        row = self._current_row()
        if row is not None:
            self._update_heatmap_note(row)

    @Slot()
    def _on_view_job_finished(self) -> None:
        job = self.sender()
        if job is self._view_job:
            self._view_job = None
            self._view_request = None
        elif job in self._retired_view_jobs:
            self._retired_view_jobs.remove(job)
        job.deleteLater()

    def _display_image(self, path: str) -> None:
        entry = self._images.get(path)
        if entry is None:
            reason = self._image_errors.get(path, "")
            self.viewer.clear(self.tr("Cannot display this file.") + ("\n" + reason if reason else ""))
            return
        pixels, levels = entry
        self.viewer.set_image(pixels, levels=levels)
        self._apply_heatmap(path)

    def _apply_heatmap(self, path: str) -> None:
        row = self._current_row()
        if row is None or row.path != path or path not in self._images or self._images[path] is None:
            return
        target = self._explain_target(row)
        cached = self._heatmaps.get(path, {}).get(target) if target is not None else None
        if cached is None:
            self.viewer.set_heatmap(None)
        else:
            self.viewer.set_heatmap(cached[0], rgba=cached[1])
        self.viewer.set_overlay_visible(self.act_overlay.isChecked())
        self._update_heatmap_note(row)
        self._update_legend_subject()

    def _update_heatmap_note(self, row: ResultRow | None, computing: bool = False) -> None:
        if row is None:
            self.panel.set_heatmap_note("")
            return
        if row.status != STATUS_OK:
            self.panel.set_heatmap_note(self.tr("No heatmap: the model did not analyse this file."))
        elif computing:
            self.panel.set_heatmap_note(self.tr("Computing heatmap…"))
        elif not self.act_overlay.isChecked():
            self.panel.set_heatmap_note(self.tr("Press G or the Heatmap button to show the overlay."))
        else:
            self.panel.set_heatmap_note(self.tr(
                "Warm colours mark the regions that weighed most in the verdict. They show where the "
                "model looked, not where disease is."))

    def _update_legend_subject(self) -> None:
        row = self._current_row()
        target = self._explain_target(row) if row is not None else None
        classifier = self.models.classifier
        if target is None or classifier is None:
            self.panel.legend.set_subject("")
        else:
            self.panel.legend.set_subject(class_display_name(classifier.classes[target]))

    def heatmap_cached(self, path: str, target: int | None = None) -> bool:
        cached = self._heatmaps.get(str(path), {})
        return bool(cached) if target is None else target in cached

    @Slot(bool)
    def set_overlay_visible(self, visible: bool) -> None:
        if self.act_overlay.isChecked() != bool(visible):
            self.act_overlay.setChecked(bool(visible))  # re-enters through toggled
            return
        self.viewer.set_overlay_visible(bool(visible))
        self._settings.set_overlay_visible(bool(visible))
        self._update_heatmap_note(self._current_row())

    @Slot(int)
    def _on_opacity_changed(self, value: int) -> None:
        self.viewer.set_overlay_opacity(value / 100)
        self._settings.set_overlay_opacity(value / 100)

    def _fill_class_combo(self) -> None:
        classifier = self.models.classifier
        current = self.class_combo.currentData()
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem(self.tr("Verdict class"), AUTO_EXPLAIN)
        if classifier is not None:
            for index, name in enumerate(classifier.classes):
                self.class_combo.addItem(class_display_name(name), index)
        position = self.class_combo.findData(current) if current is not None else 0
        self.class_combo.setCurrentIndex(max(0, position))
        self.class_combo.blockSignals(False)

    @Slot(int)
    def _on_class_combo(self, _index: int) -> None:
        row = self._current_row()
        if row is not None:
            self._request_view(row)
            self._apply_heatmap(row.path)
        self._update_legend_subject()

    @Slot(int)
    def _on_window_sliders(self, _value: int) -> None:
        level = self.brightness_slider.value() / 100
        width = 1.0 - 0.95 * self.contrast_slider.value() / 100
        self.viewer.set_window(1.0 - level, width)

    @Slot(float, float)
    def _on_window_changed(self, center: float, width: float) -> None:
        for slider, value in ((self.brightness_slider, 1.0 - center), (self.contrast_slider, (1.0 - width) / 0.95)):
            slider.blockSignals(True)
            slider.setValue(int(round(min(1.0, max(0.0, value)) * 100)))
            slider.blockSignals(False)

    @Slot(int, int, float)
    def _on_pixel_hovered(self, x: int, y: int, value: float) -> None:
        if x < 0:
            self.pixel_label.setText("")
        else:
            self.pixel_label.setText(self.tr("x {x}, y {y} · value {v}").format(x=x, y=y, v=format_number(value, 3)))

    @Slot(float)
    def _on_zoom_changed(self, zoom: float) -> None:
        self.zoom_label.setText(self.tr("Zoom {z}").format(z=i18n.format_percent(zoom, 0)))

    def _update_viewer_message(self) -> None:
        if self.viewer.has_image():
            return
        if self.models.classifier is None and self.models.is_loading():
            text = self.tr("Loading the model…")
        elif self.models.classifier is None:
            text = self.tr("No model loaded. Use Model › Load model file… to choose one.")
        elif self.results.rowCount() == 0:
            text = self.tr("Open chest X-ray images or a folder (File › Open), or drop them here.")
        else:
            text = self.tr("Select a row to see the image.")
        if self._pending_inputs:
            text += "\n" + self.tr("{n} item(s) will be analysed as soon as the model is ready.").format(
                n=len(self._pending_inputs))
        self.viewer.set_message(text)

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
        self._heatmaps.clear()
        self._fill_class_combo()
        self._update_title()
        self._update_model_status()
        threshold = self.models.threshold()
        self.panel.set_model(classifier.name, self.models.version, threshold, classifier.threshold,
                             classifier.classes[classifier.normal_index])
        self.results.set_decision_rule(classifier.classes[classifier.normal_index], threshold)
        # Results on screen must come from the model on screen: analyse them again.
        again = self.results.paths()
        if self._run is not None:
            again += self._run.remaining()
            self._retire_run(self._run)
        if again:
            self.results.clear()
            self._current_path = None
            self.panel.show_row(None)
            self.viewer.clear()
            self.statusBar().showMessage(self.tr("Model changed: analysing the images again."), 6000)
        self._pending_inputs = list(dict.fromkeys(again + self._pending_inputs))
        self._update_viewer_message()
        self._update_actions()
        if self._pending_inputs:
            self.request_prediction([])
        if self._inspector is not None:
            self._update_inspector()

    @Slot(str, str)
    def _on_model_failed(self, path: str, message: str) -> None:
        self._update_model_status()
        self._update_viewer_message()
        user_request = self._user_model_request
        self._user_model_request = None
        if self._closing:
            return
        if user_request is not None:
            kept = self.models.classifier
            detail = (self.tr("The current model ({name}) is still in use.").format(name=kept.name) if kept
                      else self.tr("No model is loaded."))
            QMessageBox.critical(self, self.tr("Cannot load model"),
                                 self.tr("{file} could not be loaded:\n\n{message}\n\n{detail}").format(
                                     file=Path(path).name, message=message, detail=detail))
        else:
            self.statusBar().showMessage(self.tr("Cannot load model {file}: {message}").format(
                file=Path(path).name, message=message), 15000)

    @Slot(float)
    def _on_threshold_changed(self, threshold: float) -> None:
        classifier = self.models.classifier
        if classifier is None:
            return
        self.results.relabel(classifier, threshold)
        self.panel.set_model(classifier.name, self.models.version, threshold, classifier.threshold,
                             classifier.classes[classifier.normal_index])
        row = self._current_row()
        if row is not None:
            self.panel.show_row(row)
            self._request_view(row)
            self._apply_heatmap(row.path)
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
        if self.models.is_loading() and classifier is None:
            self.model_status.setText(self.tr("Loading model…"))
        elif classifier is None:
            self.model_status.setText(self.tr("No model loaded"))
        else:
            self.model_status.setText(self.tr("Model {name} · threshold {t}").format(
                name=classifier.name, t=i18n.format_percent(self.models.threshold())))

    @Slot()
    def show_model_info(self) -> None:
        classifier = self.models.classifier
        if classifier is None:
            return
        ModelInfoDialog(classifier, self.models.version, self.models.threshold(), self).exec()

    def _fill_models_menu(self) -> None:
        self.models_menu.clear()
        group = QActionGroup(self.models_menu)
        group.setExclusive(True)
        active = self.models.active_path()
        builtin_titles = {
            "default": self.tr("Built-in model (fast, default)"),
            "ensemble": self.tr("Built-in ensemble (slower)"),
            "subtype": self.tr("Built-in three-class model (bacterial / viral)"),
        }
        entries = [(builtin_titles.get(p.stem, p.stem), p) for p in self.models.builtin_models()]
        entries += [(p.stem, p) for p in self.models.user_models()]
        for title, path in entries:
            act = self.models_menu.addAction(title)
            act.setCheckable(True)
            act.setData(str(path))
            act.setToolTip(str(path))
            act.setChecked(active is not None and Path(active).resolve() == Path(path).resolve())
            act.triggered.connect(self._on_model_menu_action)
            group.addAction(act)
        if not entries:
            none = self.models_menu.addAction(self.tr("No models yet — use Train new model…"))
            none.setEnabled(False)

    @Slot()
    def _on_model_menu_action(self) -> None:
        act = self.sender()
        if isinstance(act, QAction) and act.data():
            self.load_model(str(act.data()))

    # =============================================================================================
    # export
    # =============================================================================================
    @Slot()
    def export_csv_dialog(self) -> None:
        if self.results.rowCount() == 0:
            return
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export results"),
                                              str(Path(self._settings.last_folder("export")) / "pneumo_results.csv"),
                                              self.tr("CSV files (*.csv)"))
        if path:
            if not path.lower().endswith(".csv"):
                path += ".csv"
            self._settings.set_last_folder("export", str(Path(path).parent))
            self.export_csv(path)

    def export_csv(self, path: str | Path) -> bool:
        """Write every row (with its current verdict) as CSV. Returns True when written."""
        from ..core.results import write_results_csv

        classifier = self.models.classifier
        classes = classifier.classes if classifier is not None else []
        try:
            write_results_csv([r.current_record() for r in self.results.rows()], path, classes,
                              self.models.threshold())
        except OSError as exc:
            QMessageBox.critical(self, self.tr("Export failed"),
                                 self.tr("Could not write {path}:\n{error}").format(path=path, error=exc))
            return False
        self.statusBar().showMessage(self.tr("Results saved to {path}").format(path=path), 8000)
        return True

    @Slot()
    def export_report_dialog(self) -> None:
        if self.results.rowCount() == 0 or self._report_job is not None:
            return
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export report"),
                                              str(Path(self._settings.last_folder("export")) / "pneumo_report.pdf"),
                                              self.tr("PDF files (*.pdf)"))
        if path:
            if not path.lower().endswith(".pdf"):
                path += ".pdf"
            self._settings.set_last_folder("export", str(Path(path).parent))
            self.export_report(path)

    def export_report(self, path: str | Path, show_progress: bool = True, image_pages: bool = False) -> bool:
        """Start writing the PDF report (in the background); ``report_finished`` tells the end.
        ``image_pages``: write PNG pages into the folder ``path`` instead (previews)."""
        from .report import ReportWriter, report_items

        if self._report_job is not None or self.results.rowCount() == 0:
            return False
        classifier = self.models.classifier
        rows = self.results.rows()
        items, explained, cached = [], [], {}
        for row in rows:
            target = self._explain_target(row)
            items.append((row.path, row.status, row.record.image_u8, target))
            explained.append(class_display_name(classifier.classes[target]) if target is not None else None)
            if target is not None and target in self._heatmaps.get(row.path, {}):
                cached[(row.path, target)] = self._heatmaps[row.path][target][0]
        writer = ReportWriter(path, classifier.name if classifier else "—", self.models.version,
                              self.models.threshold(), image_pages=image_pages)
        if classifier is not None:
            writer.normal_class = classifier.classes[classifier.normal_index]
        writer.begin(rows)
        self._report_writer = writer
        self._report_rows = rows
        self._report_explained = explained
        opacity = max(0.35, self.opacity_slider.value() / 100)
        job = GeneratorJob(lambda: report_items(classifier, items, cached, opacity), parent=self,
                           name="pneumo-report")
        job.worker.yielded.connect(self._on_report_item)
        job.worker.errored.connect(self._on_report_error)
        job.worker.cancelled.connect(self._on_report_cancelled)
        job.finished.connect(self._on_report_job_finished)
        self._report_job = job
        self._report_failed = ""
        self._report_cancelled = False
        if show_progress:
            progress = QProgressDialog(self.tr("Writing the report…"), self.tr("Cancel"), 0, len(rows), self)
            progress.setWindowTitle(self.tr("Export report"))
            progress.setWindowModality(Qt.WindowModality.WindowModal)
            progress.setMinimumDuration(300)
            progress.canceled.connect(self._cancel_report)
            self._report_progress = progress
        job.start()
        self._update_actions()
        return True

    @Slot(object)
    def _on_report_item(self, item) -> None:
        index, gray, overlay = item
        if self._report_writer is None:
            return
        self._report_writer.add_case(self._report_rows[index], gray, overlay, self._report_explained[index])
        if self._report_progress is not None:
            self._report_progress.setValue(index + 1)

    @Slot(str, str)
    def _on_report_error(self, message: str, _traceback: str) -> None:
        self._report_failed = message

    @Slot()
    def _on_report_cancelled(self) -> None:
        self._report_cancelled = True

    @Slot()
    def _cancel_report(self) -> None:
        if self._report_job is not None:
            self._report_job.cancel()

    @Slot()
    def _on_report_job_finished(self) -> None:
        job = self.sender()
        writer = self._report_writer
        self._report_writer = None
        self._report_job = None
        if self._report_progress is not None:
            self._report_progress.canceled.disconnect(self._cancel_report)
            self._report_progress.close()
            self._report_progress.deleteLater()
            self._report_progress = None
        written = False
        if writer is not None:
            if self._report_failed or self._report_cancelled:
                writer.abort()
            else:
                writer.finish()
                written = True
        if job is not None:
            job.deleteLater()
        self._update_actions()
        path = str(writer.path) if writer is not None else ""
        if written:
            self.statusBar().showMessage(self.tr("Report saved to {path}").format(path=path), 8000)
        elif self._report_failed and not self._closing:
            QMessageBox.critical(self, self.tr("Export failed"),
                                 self.tr("The report could not be written:\n{error}").format(error=self._report_failed))
        self.report_finished.emit(path, written)

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
        row = self._current_row()
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
        self.act_export_pdf.setEnabled(has_rows and self._report_job is None)
        self.act_clear.setEnabled(has_rows or self._run is not None)
        self.act_model_info.setEnabled(has_model)
        self.act_threshold.setEnabled(has_model)
        self.act_inspector.setEnabled(has_model)
        self.act_cancel.setEnabled(self._run is not None)

    def jobs_running(self) -> bool:
        return any([self._run is not None, bool(self._retired_runs), self._view_job is not None,
                    bool(self._retired_view_jobs), self._report_job is not None, self.models.is_loading()])

    def stop_all_jobs(self) -> None:
        """Cancel every background job and wait for its thread to end."""
        runs = ([self._run] if self._run is not None else []) + list(self._retired_runs)
        for run in runs:
            run.cancel()
        view_jobs = ([self._view_job] if self._view_job is not None else []) + list(self._retired_view_jobs)
        for job in view_jobs:
            job.cancel()
        if self._report_job is not None:
            self._report_job.cancel()
        for run in runs:
            run.stop()
        for job in view_jobs:
            job.stop()
        if self._report_job is not None:
            self._report_job.stop()
        self.models.stop()
        if self._report_writer is not None:
            self._report_writer.abort()
            self._report_writer = None
        self._run = None
        self._retired_runs.clear()
        self._view_job = None
        self._retired_view_jobs.clear()
        self._report_job = None

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


def _heat_icon() -> QIcon:
    """A small round swatch of the heat scale, for the overlay button."""
    from PySide6.QtGui import QBrush, QLinearGradient, QPainter, QPixmap

    from ..core.overlay import heat_lut

    pixmap = QPixmap(32, 32)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    gradient = QLinearGradient(0, 32, 32, 0)
    lut = heat_lut()
    from PySide6.QtGui import QColor

    for stop in (0.15, 0.4, 0.65, 0.9):
        r, g, b = (int(v) for v in lut[int(stop * 255)])
        gradient.setColorAt(stop, QColor(r, g, b))
    painter.setBrush(QBrush(gradient))
    painter.setPen(QColor("#202124"))
    painter.drawEllipse(3, 3, 26, 26)
    painter.end()
    return QIcon(pixmap)
