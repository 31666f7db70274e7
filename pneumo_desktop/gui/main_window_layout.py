"""The main window's widgets, actions, menus, toolbars and status bar, and their texts.

``MainWindowLayout`` builds what the person sees and sets every text in ``_retranslate`` (called
again on a language change); it holds no behaviour beyond wiring widgets to each other (the
window/level sliders, the zoom and pixel read-outs, the table filter). ``MainWindow``
(``main_window.py``) adds the behaviour: it connects the actions and drives the controllers.
Texts are translated in the ``MainWindow`` context (``tr`` looks up the instance's class first).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, Qt, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QDockWidget, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMainWindow,
    QMessageBox, QProgressBar, QPushButton, QScrollArea, QSizePolicy, QSlider, QStyle, QTableView, QToolBar,
    QVBoxLayout, QWidget,
)

from .. import APP_NAME
from . import i18n
from .i18n import format_duration, format_number
from .image_viewer import ImageViewer, heat_scale_icon
from .result_panel import ResultPanel
from .results_model import (
    FILTER_ALL, FILTER_ERROR, FILTER_NEGATIVE, FILTER_POSITIVE, FILTER_UNSUPPORTED, ResultsFilterProxy,
    ResultsTableModel, class_display_name,
)


class MainWindowLayout(QMainWindow):
    """The main window's layout: the viewer in the centre, the finding panel docked on the right,
    the results table (with its filters) docked at the bottom, progress in the status bar."""

    def _build_layout(self, language: str, opacity: float) -> None:
        """Build everything; ``language`` is the stored choice ("" = system), ``opacity`` the
        stored heatmap opacity in [0, 1]."""
        self._build_ui()
        self._create_actions()
        self._build_menus(language)
        self._build_toolbars(opacity)
        self._build_status_bar()

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

        def action(name: str, shortcut=None, icon=None, checkable=False) -> QAction:
            act = QAction(self)
            act.setObjectName(name)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            if icon is not None:
                act.setIcon(icon)
            act.setCheckable(checkable)
            return act

        sp = QStyle.StandardPixmap
        self.act_open = action("actOpen", QKeySequence.StandardKey.Open, style.standardIcon(sp.SP_DialogOpenButton))
        self.act_open_folder = action("actOpenFolder", "Ctrl+Shift+O", style.standardIcon(sp.SP_DirOpenIcon))
        self.act_clear = action("actClear", None, style.standardIcon(sp.SP_DialogResetButton))
        self.act_export_csv = action("actExportCsv", "Ctrl+E", style.standardIcon(sp.SP_DialogSaveButton))
        self.act_export_pdf = action("actExportPdf", "Ctrl+Shift+E", style.standardIcon(sp.SP_FileDialogDetailedView))
        self.act_quit = action("actQuit", QKeySequence.StandardKey.Quit)
        self.act_quit.triggered.connect(self.close)
        self.act_overlay = action("actOverlay", "G", heat_scale_icon(), checkable=True)
        # The image actions act on the viewer alone.
        self.act_fit = action("actFit", "F")
        self.act_fit.triggered.connect(self.viewer.fit)
        self.act_actual = action("actActual", "1")
        self.act_actual.triggered.connect(self.viewer.actual_size)
        self.act_zoom_in = action("actZoomIn", QKeySequence.StandardKey.ZoomIn)
        self.act_zoom_in.triggered.connect(self._zoom_in)
        self.act_zoom_out = action("actZoomOut", QKeySequence.StandardKey.ZoomOut)
        self.act_zoom_out.triggered.connect(self._zoom_out)
        self.act_invert = action("actInvert", "I", checkable=True)
        self.act_invert.toggled.connect(self.viewer.set_invert)
        self.act_reset_wl = action("actResetWL", "R")
        self.act_reset_wl.triggered.connect(self.viewer.reset_window)
        self.act_inspector = action("actInspector", "Ctrl+I")
        self.act_load_model = action("actLoadModel", "Ctrl+M")
        self.act_model_info = action("actModelInfo")
        self.act_threshold = action("actThreshold", "Ctrl+T")
        self.act_train = action("actTrain")
        self.act_about = action("actAbout")
        self.act_cancel = action("actCancel", "Esc")
        self.addAction(self.act_cancel)  # shortcut only: the status bar carries the Cancel button

    def _build_menus(self, language: str) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("")
        self.file_menu.setObjectName("fileMenu")
        self.file_menu.addAction(self.act_open)
        self.file_menu.addAction(self.act_open_folder)
        self.recent_menu = self.file_menu.addMenu("")
        self.recent_menu.setObjectName("recentMenu")
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
            self.language_group.addAction(act)
            self.language_menu.addAction(act)
            self.language_actions[code] = act
        self.language_actions.get(language, self.language_actions[""]).setChecked(True)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.act_inspector)

        self.model_menu = bar.addMenu("")
        self.model_menu.setObjectName("modelMenu")
        self.model_menu.addAction(self.act_load_model)
        self.models_menu = self.model_menu.addMenu("")
        self.models_menu.setObjectName("modelsMenu")
        self.model_menu.addAction(self.act_model_info)
        self.model_menu.addAction(self.act_threshold)
        self.model_menu.addSeparator()
        self.model_menu.addAction(self.act_train)

        self.help_menu = bar.addMenu("")
        self.help_menu.setObjectName("helpMenu")
        self.help_menu.addAction(self.act_about)

    def _build_toolbars(self, opacity: float) -> None:
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
        self.opacity_slider.setValue(int(round(opacity * 100)))
        self.viewer.set_overlay_opacity(self.opacity_slider.value() / 100)
        self._explain_label = QLabel()
        self._explain_label.setContentsMargins(10, 0, 4, 0)
        self.class_combo = QComboBox()
        self.class_combo.setObjectName("classCombo")
        self.class_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
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
        status.addWidget(self.model_status)
        status.addPermanentWidget(self.progress_label)
        status.addPermanentWidget(self.progress_bar)
        status.addPermanentWidget(self.cancel_button)
        status.addPermanentWidget(self.pixel_label)
        for widget in (self.progress_label, self.progress_bar, self.cancel_button):
            widget.setVisible(False)

    def changeEvent(self, event):  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def _retranslate(self) -> None:
        """Every static text; ``MainWindow`` extends it with the texts that follow its state."""
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
            self.act_export_csv: (self.tr("&Export results…"), self.tr("Save the results table as a CSV file")),
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
            self.act_threshold: (self.tr("Set thres&hold…"), self.tr("Change the probability above which an image is flagged")),
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
        self.results.retranslate()

    # ----- presenting state: ``MainWindow`` decides what, these decide how --------------------------------
    def _show_title(self, model_name: str | None) -> None:
        self.setWindowTitle(APP_NAME if model_name is None else
                            self.tr("{app} — model {model}").format(app=APP_NAME, model=model_name))

    def _show_model_status(self, model_name: str | None, threshold: float | None, loading: bool) -> None:
        if model_name is None:
            self.model_status.setText(self.tr("Loading model…") if loading else self.tr("No model loaded"))
        else:
            self.model_status.setText(self.tr("Model {name} · threshold {t}").format(
                name=model_name, t=i18n.format_percent(threshold)))

    def _show_progress(self, running: bool, cancelling: bool, total: int, done: int, elapsed_s: float) -> None:
        """The batch's progress in the status bar; ``total`` 0 while its files are being listed."""
        for widget in (self.progress_label, self.progress_bar, self.cancel_button):
            widget.setVisible(running)
        if not running:
            return
        self.cancel_button.setEnabled(not cancelling)
        done = min(done, total or done)
        if cancelling:
            self.progress_label.setText(self.tr("Cancelling…"))
        elif total <= 0:
            self.progress_bar.setRange(0, 0)
            self.progress_label.setText(self.tr("Finding images…"))
        else:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(done)
            if 0 < done < total:
                eta = elapsed_s / done * (total - done)
                self.progress_label.setText(self.tr("{done} of {total} · about {eta} left").format(
                    done=done, total=total, eta=format_duration(eta)))
            else:
                self.progress_label.setText(self.tr("{done} of {total}").format(done=done, total=total))

    def _announce_batch_end(self, outcome: str, rows: int, ask: bool) -> None:
        """Say how a batch ended (``done``, ``cancelled`` or ``error: …``); ``ask``: an error
        also gets a message box."""
        if outcome == "cancelled":
            self.statusBar().showMessage(self.tr("Cancelled: {n} results kept.").format(n=rows), 6000)
        elif outcome.startswith("error"):
            message = outcome.split(":", 1)[1].strip() if ":" in outcome else outcome
            self.statusBar().showMessage(self.tr("The batch stopped: {message}").format(message=message), 10000)
            if ask:
                QMessageBox.warning(self, self.tr("Analysis stopped"),
                                    self.tr("The analysis stopped because of an unexpected error:\n\n{message}\n\n"
                                            "The results so far are kept.").format(message=message))
        else:
            self.statusBar().showMessage(self.tr("Done: {n} images analysed.").format(n=rows), 6000)

    def _show_summary(self, counts: dict[str, int]) -> None:
        if counts["total"] == 0:
            self.summary_label.setText("")
            return
        self.summary_label.setText(self.tr(
            "{total} images · {pos} abnormal · {neg} normal · {uns} unsupported · {err} errors").format(
                total=counts["total"], pos=counts["positive"], neg=counts["negative"], uns=counts["unsupported"],
                err=counts["error"]))

    def _show_viewer_hint(self, has_model: bool, loading: bool, has_rows: bool, waiting: int) -> None:
        """What to do next, in the empty viewer."""
        if not has_model and loading:
            text = self.tr("Loading the model…")
        elif not has_model:
            text = self.tr("No model loaded. Use Model › Load model file… to choose one.")
        elif not has_rows:
            text = self.tr("Open chest X-ray images or a folder (File › Open), or drop them here.")
        else:
            text = self.tr("Select a row to see the image.")
        if waiting:
            text += "\n" + self.tr("{n} item(s) will be analysed as soon as the model is ready.").format(n=waiting)
        self.viewer.set_message(text)

    def _show_explain_choices(self, classes: list[str], auto: int) -> None:
        """Fill the class combo (``auto`` first, then each class's index), keeping the choice."""
        current = self.class_combo.currentData()
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem(self.tr("Verdict class"), auto)
        for index, name in enumerate(classes):
            self.class_combo.addItem(class_display_name(name), index)
        position = self.class_combo.findData(current) if current is not None else 0
        self.class_combo.setCurrentIndex(max(0, position))
        self.class_combo.blockSignals(False)

    def _show_model_choices(self, builtin: list[Path], user: list[Path], active: str | None) -> list[QAction]:
        """Fill Model › Models with one checkable action per file (its path as data); returns them."""
        self.models_menu.clear()
        group = QActionGroup(self.models_menu)
        group.setExclusive(True)
        builtin_titles = {
            "default": self.tr("Built-in model (fast, default)"),
            "ensemble": self.tr("Built-in ensemble (slower)"),
            "subtype": self.tr("Built-in three-class model (bacterial / viral)"),
        }
        entries = [(builtin_titles.get(p.stem, p.stem), p) for p in builtin] + [(p.stem, p) for p in user]
        actions = []
        for title, path in entries:
            act = self.models_menu.addAction(title)
            act.setCheckable(True)
            act.setData(str(path))
            act.setToolTip(str(path))
            act.setChecked(active is not None and Path(active).resolve() == Path(path).resolve())
            group.addAction(act)
            actions.append(act)
        if not entries:
            none = self.models_menu.addAction(self.tr("No models yet — use Train new model…"))
            none.setEnabled(False)
        return actions

    def _show_recent(self, recent: list[str]) -> tuple[list[QAction], QAction | None]:
        """Fill File › Open recent; returns one action per path (the path as data) and the
        "Clear list" action (None when the list is empty)."""
        self.recent_menu.clear()
        actions = []
        for path in recent:
            act = self.recent_menu.addAction(path)
            act.setData(path)
            act.setEnabled(Path(path).exists())
            actions.append(act)
        if not recent:
            self.recent_menu.addAction(self.tr("No recent files")).setEnabled(False)
            return actions, None
        self.recent_menu.addSeparator()
        return actions, self.recent_menu.addAction(self.tr("Clear list"))

    def _tell_model_failed(self, file_name: str, message: str, asked: bool, kept_model: str | None) -> None:
        """A model file did not load: a message box when the person asked for it, else a note."""
        if not asked:
            self.statusBar().showMessage(self.tr("Cannot load model {file}: {message}").format(
                file=file_name, message=message), 15000)
            return
        detail = (self.tr("The current model ({name}) is still in use.").format(name=kept_model) if kept_model
                  else self.tr("No model is loaded."))
        QMessageBox.critical(self, self.tr("Cannot load model"),
                             self.tr("{file} could not be loaded:\n\n{message}\n\n{detail}").format(
                                 file=file_name, message=message, detail=detail))

    def _ask_save_path(self, title: str, suggested: Path, file_filter: str) -> str:
        """A file name to save to, with ``suggested``'s suffix; "" when the person cancelled."""
        path, _ = QFileDialog.getSaveFileName(self, title, str(suggested), file_filter)
        if path and not path.lower().endswith(suggested.suffix):
            path += suggested.suffix
        return path

    def _restore_layout(self, geometry: QByteArray | None, state: QByteArray | None) -> None:
        """The saved geometry and dock/toolbar state, else a size that fits the screen."""
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            available = self.screen().availableGeometry() if self.screen() is not None else None
            width, height = 1400, 900
            if available is not None and available.width() > 0:
                width = min(width, int(available.width() * 0.95))
                height = min(height, int(available.height() * 0.92))
            self.resize(width, height)
        if state is not None:
            self.restoreState(state)

    @Slot()
    def _zoom_in(self) -> None:
        self.viewer.zoom_by(1.25)

    @Slot()
    def _zoom_out(self) -> None:
        self.viewer.zoom_by(0.8)

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

    @Slot(int)
    def _on_filter_mode(self, _index: int) -> None:
        mode = self.filter_combo.currentData()
        self.proxy.set_filter_mode(FILTER_ALL if mode is None else int(mode))
