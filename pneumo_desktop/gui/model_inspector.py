"""View > Model inspector…: what each conv block of the model sees in one image, and the first
block's filters (the reference study's "activation maps and filter analysis").

``ModelInspector(parent)`` then ``set_image(classifier, image_u8, path=None)``. ``image_u8`` is
the prepared model input, uint8 (S, S); any other 2-D uint8 image is prepared with the model's
own preprocessing first. The forward pass runs on a worker thread; a newer ``set_image``
supersedes one still running. Each activation map is normalised on its own (its minimum black,
its maximum white); kernels use a diverging grey scale (negative dark, zero mid-grey, positive
bright).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QElapsedTimer, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QApplication, QComboBox, QDialog, QDialogButtonBox, QFrame, QGridLayout, QHBoxLayout, QLabel, QScrollArea,
    QSpinBox, QTabWidget, QVBoxLayout, QWidget,
)

from .image_grid import ImageGrid
from .latest_job import LatestJob

OVERVIEW_CHANNELS = 8
OVERVIEW_FILTERS = 16


@dataclass
class InspectorData:
    """maps: four float32 (C_i, H_i, W_i); filters: float32 (C, 3, 3) in [-1, 1]; probabilities:
    float64 (K,) or None; image_u8: the prepared input."""

    maps: list[np.ndarray]
    filters: np.ndarray
    probabilities: np.ndarray | None
    image_u8: np.ndarray


def prepared_input(classifier, image_u8: np.ndarray) -> np.ndarray:
    """The model input for ``image_u8``: as is when it is already (S, S), else prepared."""
    image = np.asarray(image_u8)
    if image.ndim == 3:  # RGB(A) preview: average the colour channels
        image = image[..., :3].mean(axis=2)
    size = classifier.preprocessing.input_size
    if image.shape == (size, size) and image.dtype == np.uint8:
        return image
    pixels = image.astype(np.float32)
    pixels = pixels / 255.0 if image.dtype == np.uint8 or pixels.max() > 1.0 else pixels
    return classifier.prepare(np.clip(pixels, 0.0, 1.0))


def inspect_image(classifier, image_u8: np.ndarray):
    """Generator (worker thread): one InspectorData for ``image_u8``."""
    from ..core.explain import activation_maps, first_layer_filters

    image = prepared_input(classifier, image_u8)
    maps = activation_maps(classifier, image)
    filters = first_layer_filters(classifier)
    try:
        probabilities = classifier.predict_batch(image[None])[0][0]
    except Exception:  # noqa: BLE001 - the verdict is context only
        probabilities = None
    yield InspectorData(maps, filters, probabilities, image)


class ModelInspector(QDialog):
    """Activation maps of the four conv blocks and the first block's filters for one image."""

    ready = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("Model inspector"))
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.resize(1200, 800)
        self.classifier = None
        self.data: InspectorData | None = None
        self.path: str | None = None
        self._job = LatestJob(self, "pneumo-inspector")
        self._job.yielded.connect(self._on_data)
        self._job.failed.connect(self._on_failed)

        # Header: the input as the model sees it, what the model says, and the controls.
        self.input_grid = ImageGrid(self, cell_size=150, columns=1, mode="fixed")
        self.info_label = QLabel(self)
        self.info_label.setWordWrap(True)
        self.info_label.setTextFormat(Qt.TextFormat.PlainText)
        self.info_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.channels_spin = QSpinBox(self)
        self.channels_spin.setRange(4, 256)
        self.channels_spin.setValue(32)
        self.channels_spin.setSingleStep(4)
        self.channels_spin.setFixedWidth(90)
        self.channels_spin.valueChanged.connect(self._refresh)
        self.order_combo = QComboBox(self)
        self.order_combo.addItem(self.tr("Channel number"), "index")
        self.order_combo.addItem(self.tr("Strongest response first"), "strongest")
        self.order_combo.currentIndexChanged.connect(self._refresh)
        controls = QGridLayout()
        controls.addWidget(QLabel(self.tr("Channels per block:"), self), 0, 0)
        controls.addWidget(self.channels_spin, 0, 1)
        controls.addWidget(QLabel(self.tr("Order:"), self), 1, 0)
        controls.addWidget(self.order_combo, 1, 1)
        controls.setRowStretch(2, 1)
        self.explain_label = QLabel(self.tr(
            "Each small image is one channel of a block's output for this X-ray, scaled on its own "
            "from black (weakest) to white (strongest). Early blocks respond to edges and textures; "
            "later blocks are coarser and respond to larger patterns."), self)
        self.explain_label.setWordWrap(True)
        info_col = QVBoxLayout()
        info_col.addWidget(self.info_label)
        info_col.addWidget(self.explain_label)
        info_col.addStretch(1)
        header = QHBoxLayout()
        header.addWidget(self.input_grid, 0, Qt.AlignmentFlag.AlignTop)
        header.addLayout(info_col, 1)
        header.addLayout(controls)

        self.tabs = QTabWidget(self)
        # Overview: a few channels of every block, and the filters, on one screen.
        self.overview = QWidget()
        self.overview_grids: list[ImageGrid] = []
        self.overview_labels: list[QLabel] = []
        ov = QGridLayout(self.overview)
        ov.setColumnStretch(1, 1)
        for i in range(4):
            label = QLabel(self.overview)
            grid = ImageGrid(self.overview, cell_size=88, columns=OVERVIEW_CHANNELS, mode="per_image")
            ov.addWidget(label, i, 0, Qt.AlignmentFlag.AlignVCenter)
            ov.addWidget(grid, i, 1, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            self.overview_labels.append(label)
            self.overview_grids.append(grid)
        self.overview_filter_label = QLabel(self.overview)
        self.overview_filters = ImageGrid(self.overview, cell_size=40, columns=OVERVIEW_FILTERS, mode="diverging")
        ov.addWidget(self.overview_filter_label, 4, 0, Qt.AlignmentFlag.AlignVCenter)
        ov.addWidget(self.overview_filters, 4, 1, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        ov.setRowStretch(5, 1)
        self.tabs.addTab(self._scrolled(self.overview), self.tr("Overview"))

        self.block_grids: list[ImageGrid] = []
        self.block_notes: list[QLabel] = []
        for i in range(4):
            page = QWidget()
            layout = QVBoxLayout(page)
            note = QLabel(page)
            note.setWordWrap(True)
            grid = ImageGrid(page, cell_size=110, columns=8, mode="per_image")
            layout.addWidget(note)
            layout.addWidget(grid, 0, Qt.AlignmentFlag.AlignHCenter)
            layout.addStretch(1)
            self.block_grids.append(grid)
            self.block_notes.append(note)
            self.tabs.addTab(self._scrolled(page), self.tr("Block {n}").format(n=i + 1))

        page = QWidget()
        layout = QVBoxLayout(page)
        self.filter_note = QLabel(page)
        self.filter_note.setWordWrap(True)
        legend = QHBoxLayout()
        self.legend_grid = ImageGrid(page, cell_size=24, columns=9, spacing=0, mode="diverging")
        self.legend_grid.set_images([np.full((1, 1), v, dtype=np.float32) for v in np.linspace(-1, 1, 9)])
        legend.addWidget(QLabel(self.tr("negative"), page))
        legend.addWidget(self.legend_grid)
        legend.addWidget(QLabel(self.tr("positive"), page))
        legend.addStretch(1)
        self.filter_grid = ImageGrid(page, cell_size=84, columns=8, mode="diverging")
        layout.addWidget(self.filter_note)
        layout.addLayout(legend)
        layout.addWidget(self.filter_grid, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        self.tabs.addTab(self._scrolled(page), self.tr("First-layer filters"))

        self.status_label = QLabel(self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(buttons)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(bottom)
        self._show_empty()
        app = QApplication.instance()
        if app is not None:  # quitting the application must never destroy a running worker thread
            app.aboutToQuit.connect(self.stop_worker)

    @Slot()
    def stop_worker(self) -> None:
        self._job.stop()

    @staticmethod
    def _scrolled(widget: QWidget) -> QScrollArea:
        scroll = QScrollArea()
        scroll.setWidget(widget)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        return scroll

    def _show_empty(self) -> None:
        self.info_label.setText(self.tr("No image selected. Select an image in the results list, then "
                                        "open the inspector again."))
        for grid in [*self.overview_grids, *self.block_grids, self.filter_grid, self.overview_filters]:
            grid.clear()

    # ----- input ----------------------------------------------------------------------------
    def set_image(self, classifier, image_u8: np.ndarray, path: str | Path | None = None) -> None:
        """Inspect ``image_u8`` with ``classifier`` (work happens on a worker thread)."""
        self.classifier = classifier
        self.path = str(path) if path is not None else None
        name = Path(self.path).name if self.path else ""
        self.setWindowTitle(self.tr("Model inspector — {name}").format(name=name) if name
                            else self.tr("Model inspector"))
        if classifier is None or image_u8 is None:
            self._job.cancel()
            self.data = None
            self._show_empty()
            return
        self.status_label.setText(self.tr("Computing the activation maps…"))
        for grid in [*self.overview_grids, *self.block_grids]:
            grid.clear()
            grid.set_placeholder(self.tr("Computing…"))
        image = np.array(image_u8, copy=True)
        self.tabs.setFocus()
        self._job.start(lambda: inspect_image(classifier, image))

    def is_busy(self) -> bool:
        return self._job.is_busy()

    @Slot(object)
    def _on_data(self, data: object) -> None:
        assert isinstance(data, InspectorData)
        self.data = data
        self.status_label.clear()
        self._refresh()
        self.ready.emit()

    @Slot(str, str)
    def _on_failed(self, message: str, _tb: str) -> None:
        self.data = None
        self.status_label.setText(self.tr("Could not compute the activation maps: {msg}").format(msg=message))
        for grid in [*self.overview_grids, *self.block_grids]:
            grid.set_placeholder("")
        self.ready.emit()

    # ----- display --------------------------------------------------------------------------
    def _order(self, fmap: np.ndarray) -> np.ndarray:
        if self.order_combo.currentData() == "strongest":
            return np.argsort(-fmap.reshape(len(fmap), -1).mean(1), kind="stable")
        return np.arange(len(fmap))

    @Slot()
    def _refresh(self) -> None:
        data = self.data
        if data is None:
            return
        classifier = self.classifier
        self.input_grid.set_images([data.image_u8], mode="fixed")
        lines = []
        if self.path:
            lines.append(self.tr("Image: {name}").format(name=Path(self.path).name))
        lines.append(self.tr("Model: {name} (version {v})").format(name=classifier.name, v=classifier.version))
        if data.probabilities is not None:
            p_abnormal = float(1.0 - data.probabilities[classifier.normal_index])
            verdict = classifier.classes[int(classifier.decide(data.probabilities[None])[0])]
            lines.append(self.tr("Model's answer: {label} (P(abnormal) {p:.1%}, threshold {t:.3f})").format(
                label=verdict, p=p_abnormal, t=classifier.threshold))
        size = data.image_u8.shape[0]
        lines.append(self.tr("Input: {s}×{s} pixels after the model's own preprocessing").format(s=size))
        self.info_label.setText("\n".join(lines))

        limit = self.channels_spin.value()
        for i, fmap in enumerate(data.maps):
            order = self._order(fmap)
            c, h, w = fmap.shape
            shown = order[:limit]
            captions = [f"#{int(k) + 1}" for k in shown]
            tips = [self.tr("channel {k}: mean {m:.3f}, max {x:.3f}").format(
                k=int(k) + 1, m=float(fmap[k].mean()), x=float(fmap[k].max())) for k in shown]
            cell = max(56, min(140, 880 // 8))
            self.block_grids[i].set_images([fmap[k] for k in shown], captions=captions, tooltips=tips, cell_size=cell)
            dead = int((fmap.reshape(c, -1).max(1) <= 0).sum())
            note = self.tr("Block {n}: {c} channels of {h}×{w} pixels; showing {s}.").format(
                n=i + 1, c=c, h=h, w=w, s=len(shown))
            if dead:
                note += " " + self.tr("{d} channels are silent (all zero) for this image and show black.") \
                    .format(d=dead)
            self.block_notes[i].setText(note)
            self.tabs.setTabText(i + 1, self.tr("Block {n} · {c} × {h}×{w}").format(n=i + 1, c=c, h=h, w=w))
            ov = order[:OVERVIEW_CHANNELS]
            self.overview_grids[i].set_images([fmap[k] for k in ov], captions=[f"#{int(k) + 1}" for k in ov],
                                              tooltips=[tips[j] if j < len(tips) else "" for j in range(len(ov))])
            self.overview_labels[i].setText(self.tr("Block {n}\n{c} ch · {h}×{w}").format(n=i + 1, c=c, h=h, w=w))
        filters = data.filters
        self.filter_grid.set_images(list(filters), captions=[f"#{k + 1}" for k in range(len(filters))],
                                    tooltips=[self._kernel_tip(k, f) for k, f in enumerate(filters)])
        first = filters[:OVERVIEW_FILTERS]
        self.overview_filters.set_images(list(first), tooltips=[self._kernel_tip(k, f) for k, f in enumerate(first)])
        self.overview_filter_label.setText(self.tr("Filters\nblock 1"))
        self.filter_note.setText(self.tr(
            "The {n} 3×3 convolution kernels of block 1, enlarged; each is scaled by its largest weight. "
            "Dark squares are negative weights, mid-grey zero, bright positive: a kernel with a bright "
            "side and a dark side detects edges across that direction.").format(n=len(filters)))

    def _kernel_tip(self, index: int, kernel: np.ndarray) -> str:
        rows = "\n".join("  ".join(f"{v:+.2f}" for v in row) for row in kernel)
        return self.tr("filter {k}").format(k=index + 1) + "\n" + rows

    # ----- closing --------------------------------------------------------------------------
    def done(self, result: int) -> None:
        self._job.stop()
        super().done(result)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._job.stop()
        super().closeEvent(event)


def render_inspector(outdir: str | Path, classifier, image_u8: np.ndarray, path: str | Path | None = None,
                     size: tuple[int, int] = (1200, 800), timeout_s: float = 120) -> Path:
    """Open the inspector on ``image_u8``, wait for the maps and save ``inspector.png`` (the
    overview tab) into ``outdir``; the per-block and filter tabs go beside it as
    ``inspector_block1.png`` … ``inspector_filters.png``. Returns the overview's path."""
    app = QApplication.instance() or QApplication([])
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    inspector = ModelInspector()
    inspector.resize(*size)
    inspector.show()
    inspector.set_image(classifier, image_u8, path=path)
    clock = QElapsedTimer()
    clock.start()
    while inspector.is_busy() and clock.elapsed() < timeout_s * 1000:
        app.processEvents()
        QThread.msleep(20)
    app.processEvents()
    main = outdir / "inspector.png"
    try:
        inspector.tabs.setCurrentIndex(0)
        app.processEvents()
        inspector.grab().save(str(main))
        names = ["inspector_block1.png", "inspector_block2.png", "inspector_block3.png", "inspector_block4.png",
                 "inspector_filters.png"]
        for index, name in enumerate(names, start=1):
            inspector.tabs.setCurrentIndex(index)
            app.processEvents()
            inspector.grab().save(str(outdir / name))
    finally:
        inspector.close()
        inspector.deleteLater()
        app.processEvents()
    return main
