"""Wizard page 1: choose the labelled data folder, scan it, and see the classes and the split."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView, QFileDialog, QFrame, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QProgressBar,
    QScrollArea, QSizePolicy, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from .image_grid import ImageGrid
from .latest_job import LatestJob
from .message_label import MessageLabel
from .wizard_jobs import TINY_CLASS, ClassSamples, ScanStage, ScanSummary, scan_for_wizard
from .wizard_page import WizardPage, browse_row, heading


class DataPage(WizardPage):
    """Choose a labelled folder; show class counts, imbalance, warnings and sample images."""

    scan_finished = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle(self.tr("Choose the training images"))
        self.setSubTitle(self.tr("A folder with one sub-folder per class, for example NORMAL/ and PNEUMONIA/. "
                                 "Every file inside a class folder counts as an image of that class."))
        self.summary: ScanSummary | None = None
        self._scanned_text: str | None = None
        self._job = LatestJob(self, "pneumo-scan")
        self._job.yielded.connect(self._on_item)
        self._job.failed.connect(self._on_failed)
        self._job.done.connect(self._on_done)

        self.folder_edit, browse, row = browse_row(self, self.tr("Folder with one sub-folder per class"),
                                                           self.tr("Browse…"))
        browse.clicked.connect(self._browse)
        self.folder_edit.editingFinished.connect(self._on_edited)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.status_label = QLabel(self)
        self.error_label = MessageLabel(self)
        self.warning_label = MessageLabel(self)

        # Counts on the left, the gallery on the right.
        self.counts_table = QTableWidget(0, 3, self)
        self.counts_table.setHorizontalHeaderLabels([self.tr("Class"), self.tr("Images"), self.tr("Share")])
        self.counts_table.verticalHeader().hide()
        self.counts_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.counts_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.counts_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.counts_table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.counts_table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._fit_table()
        self.imbalance_label = QLabel(self)
        self.imbalance_label.setWordWrap(True)
        self.split_note = QLabel(self.tr(
            "Next, a validation part is set aside from this folder, patient by patient: all images "
            "of one patient (file names such as person123_… or IM-0115-…) stay on the same side, so "
            "the model is never validated on a patient it has seen. Byte-identical copies stay "
            "together too."), self)
        self.split_note.setWordWrap(True)
        self.split_note.hide()
        left = QVBoxLayout()
        left.addWidget(heading(self.tr("Images per class")))
        left.addWidget(self.counts_table)
        left.addWidget(self.imbalance_label)
        left.addWidget(self.warning_label)
        left.addSpacing(8)
        left.addWidget(self.split_note)
        left.addStretch(1)

        self.gallery = QWidget(self)
        self.gallery_layout = QHBoxLayout(self.gallery)
        self.gallery_layout.setContentsMargins(0, 0, 0, 0)
        self.gallery_layout.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.gallery_layout.addStretch(1)
        self.sample_grids: dict[str, ImageGrid] = {}
        scroll = QScrollArea(self)
        scroll.setWidget(self.gallery)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        right = QVBoxLayout()
        right.addWidget(heading(self.tr("Sample images")))
        right.addWidget(scroll, 1)

        body = QHBoxLayout()
        body.addLayout(left, 4)
        body.addLayout(right, 6)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_label)
        status_row.addWidget(self.progress, 1)
        layout.addLayout(status_row)
        layout.addWidget(self.error_label)
        layout.addLayout(body, 1)

    # ----- choosing -------------------------------------------------------------------------
    @Slot()
    def _browse(self) -> None:
        start = self.folder_edit.text() or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose the training folder"), start)
        if folder:
            self.set_folder(folder)

    @Slot()
    def _on_edited(self) -> None:
        text = self.folder_edit.text().strip()
        if text and text != self._scanned_text:
            self.set_folder(text)

    def set_folder(self, folder: str | Path) -> None:
        """Show ``folder`` and scan it in the background (``scan_finished`` when done)."""
        text = str(folder)
        self.folder_edit.setText(text)
        self._scanned_text = text
        self.summary = None
        self._clear_results()
        self.status_label.setText(self.tr("Checking the folder…"))
        self.progress.show()
        self.completeChanged.emit()
        self._job.start(lambda: scan_for_wizard(text))

    def _fit_table(self) -> None:
        table = self.counts_table
        table.resizeRowsToContents()
        rows = sum(table.rowHeight(r) for r in range(table.rowCount())) if table.rowCount() else 0
        table.setFixedHeight(table.horizontalHeader().sizeHint().height() + rows + 2 * table.frameWidth())

    def _clear_results(self) -> None:
        self.error_label.clear_message()
        self.warning_label.clear_message()
        self.counts_table.setRowCount(0)
        self._fit_table()
        self.imbalance_label.clear()
        self.split_note.hide()
        for grid_box in self.gallery.findChildren(QGroupBox):
            grid_box.setParent(None)
            grid_box.deleteLater()
        self.sample_grids = {}

    def is_busy(self) -> bool:
        return self._job.is_busy()

    # ----- results --------------------------------------------------------------------------
    @Slot(object)
    def _on_item(self, item: object) -> None:
        if isinstance(item, ScanStage):
            self.status_label.setText(self.tr("Checking the folder: listing and fingerprinting the files…"))
        elif isinstance(item, ScanSummary):
            self._show_summary(item)
        elif isinstance(item, ClassSamples):
            self._show_samples(item)

    @Slot(str, str)
    def _on_failed(self, message: str, _tb: str) -> None:
        self.progress.hide()
        self.status_label.clear()
        self.summary = None
        self.error_label.show_message("error", self.tr("This folder cannot be used for training:\n{msg}")
                                      .format(msg=message))
        self.completeChanged.emit()
        self.scan_finished.emit()

    @Slot()
    def _on_done(self) -> None:
        self.progress.hide()
        if self.summary is not None:
            self.status_label.setText(self.tr("{n} images in {k} classes.").format(
                n=f"{self.summary.n_images:,}", k=len(self.summary.counts)))
        self.completeChanged.emit()
        self.scan_finished.emit()

    def _show_summary(self, summary: ScanSummary) -> None:
        self.summary = summary
        self.status_label.setText(self.tr("Reading sample images…"))
        total = max(1, summary.n_images)
        self.counts_table.setRowCount(len(summary.counts))
        for row, (label, count) in enumerate(summary.counts.items()):
            items = [QTableWidgetItem(label), QTableWidgetItem(f"{count:,}"), QTableWidgetItem(f"{count / total:.1%}")]
            for col, item in enumerate(items):
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.counts_table.setItem(row, col, item)
        self.counts_table.resizeColumnsToContents()
        self.counts_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self._fit_table()
        self.split_note.setVisible(summary.unusable is None)
        ordered = sorted(summary.counts.items(), key=lambda kv: kv[1], reverse=True)
        big, small = ordered[0], ordered[-1]
        text = self.tr("Imbalance: {ratio:.1f} : 1 ({big} to {small}).").format(
            ratio=summary.imbalance, big=big[0], small=small[0])
        if summary.imbalance >= 1.5:
            text += " " + self.tr("Training weighs every class equally, so the larger class does not "
                                  "dominate; the validation split keeps the same proportions.")
        self.imbalance_label.setText(text)
        self._show_warnings(summary)
        if summary.unusable:
            self.error_label.show_message("error", self.tr("This folder cannot be used for training:\n{msg}")
                                          .format(msg=summary.unusable))
        self.completeChanged.emit()

    def _show_warnings(self, summary: ScanSummary) -> None:
        lines = []
        for label, count in summary.tiny_classes.items():
            lines.append(self.tr("• {label} has only {n} images (fewer than {min}): the model and its "
                                 "validation numbers will be unreliable.").format(label=label, n=count, min=TINY_CLASS))
        if summary.duplicates:
            n_files = sum(len(g) for g in summary.duplicates)
            example = " = ".join(Path(p).name for p in summary.duplicates[0][:2])
            lines.append(self.tr("• {groups} sets of byte-identical files ({files} files), e.g. {example}. "
                                 "Copies are kept on the same side of the validation split, but they count "
                                 "more than once in training.").format(
                groups=len(summary.duplicates), files=n_files, example=example))
        if summary.conflicts:
            example = ", ".join(Path(p).parent.name + "/" + Path(p).name for p in summary.conflicts[0][:2])
            lines.append(self.tr("• {n} identical images are filed under different classes ({example}). "
                                 "Check their labels before training.").format(n=len(summary.conflicts),
                                                                               example=example))
        if lines:
            self.warning_label.show_message("warning", "\n".join(lines))
        else:
            self.warning_label.clear_message()

    def _show_samples(self, samples: ClassSamples) -> None:
        count = self.summary.counts.get(samples.label, 0) if self.summary else 0
        box = QGroupBox(self.tr("{label} ({n} images)").format(label=samples.label, n=f"{count:,}"), self.gallery)
        n_classes = len(self.summary.counts) if self.summary else 2
        cell = 150 if n_classes <= 2 else 100
        grid = ImageGrid(box, cell_size=cell, columns=2, mode="fixed")
        grid.set_images(samples.images, captions=samples.names,
                        tooltips=[f"{samples.label}: {n}" for n in samples.names])
        if not samples.images:
            grid.set_placeholder(self.tr("No readable sample"))
        box.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Maximum)
        inner = QVBoxLayout(box)
        inner.addWidget(grid, 0, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.gallery_layout.insertWidget(self.gallery_layout.count() - 1, box)
        self.sample_grids[samples.label] = grid

    # ----- wizard ---------------------------------------------------------------------------
    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return self.summary is not None and self.summary.unusable is None and not self._job.is_busy()

    def validatePage(self) -> bool:  # noqa: N802 - Qt API
        if not self.isComplete():
            return False
        wizard = self.wiz()
        wizard.data_dir = self.summary.folder
        wizard.table = self.summary.table
        return True

    def stop(self) -> None:
        self._job.stop()
