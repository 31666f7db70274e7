"""The PDF report: a summary page, then one page per image with its heatmap and verdict.

The main window collects, in a worker, each image (downscaled) and its Grad-CAM blend as numpy
arrays (``report_items``); ``ReportWriter`` paints them here, on the GUI thread, with
``QPdfWriter`` + ``QPainter``. The file is written under a temporary name and renamed when
complete, so a cancelled or failed export never leaves a half report under the chosen name.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QMarginsF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

from .. import APP_NAME, __version__
from ..core.atomic import commit, discard, temporary_sibling
from .heatmap_legend import legend_image
from .i18n import format_percent, format_probability
from .image_viewer import gray_to_qimage, rgb_to_qimage
from .results_model import STATUS_OK, ResultRow, class_display_name, record_note, status_display_name

REPORT_MAX_SIDE = 1000
RESOLUTION = 150  # device pixels per inch of the painter's coordinate system
POSITIVE = QColor("#b3261e")
NEGATIVE = QColor("#1b6e3a")
BORDERLINE = QColor("#9a5b00")
MUTED = QColor("#5f6368")



def report_items(classifier, items: list[tuple], cached: dict, opacity: float):
    """Generator (worker thread): for each ``(path, status, image_u8, target_class)`` yield
    ``(index, gray_u8 or None, overlay_rgb_u8 or None)``. ``cached`` maps
    ``(path, target_class)`` to an already computed heatmap."""
    from PIL import Image

    from ..core.errors import ImageReadError
    from ..process import lower_thread_priority

    lower_thread_priority()
    from ..core.imageio import read_image
    from ..core.overlay import blend

    for index, (path, status, image_u8, target) in enumerate(items):
        gray = overlay = None
        try:
            pixels = read_image(path).pixels
            h, w = pixels.shape
            scale = min(1.0, REPORT_MAX_SIDE / max(h, w))
            if scale < 1.0:
                size = (max(1, round(w * scale)), max(1, round(h * scale)))
                pixels = np.asarray(Image.fromarray(pixels, mode="F").resize(size, Image.Resampling.BILINEAR))
            gray = np.clip(np.round(pixels * 255), 0, 255).astype(np.uint8)
        except ImageReadError:
            gray = None
        if gray is not None and status == STATUS_OK and image_u8 is not None and classifier is not None:
            heat = cached.get((path, target))
            if heat is None:
                from ..core.explain import gradcam

                heat, _ = gradcam(classifier, image_u8, target_class=target, output_size=gray.shape)
            overlay = blend(gray, heat, opacity)
        yield index, gray, overlay


class ReportWriter:
    """Paints the report page by page. Use begin(), add_case() per image, then finish()."""

    def __init__(self, path: str | Path, model_name: str, model_version: str, threshold: float | None,
                 image_pages: bool = False):
        """``image_pages``: paint PNG pages into the folder ``path`` instead of a PDF (previews,
        screenshots and tests that want to look at the layout)."""
        self.path = Path(path)
        self.tmp: Path | None = None  # the PDF being painted, renamed to ``path`` by finish()
        self.model_name = model_name
        self.model_version = model_version
        self.threshold = threshold
        self.created = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        self.image_pages = image_pages
        self.normal_class: str | None = None  # listed first among the class probabilities
        self.writer: QPdfWriter | None = None
        self.painter: QPainter | None = None
        self._image: QImage | None = None
        self._layout = QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                   QMarginsF(12, 12, 12, 12), QPageLayout.Unit.Millimeter)
        self.page = 0
        self.pages_with_cases = 0
        self.written_pages: list[Path] = []

    # ----- lifecycle ---------------------------------------------------------------------------------
    def begin(self, rows: list[ResultRow]) -> None:
        self.page = 1
        if self.image_pages:
            self.path.mkdir(parents=True, exist_ok=True)
            self._start_image_page()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = temporary_sibling(self.path)
            writer = QPdfWriter(str(self.tmp))
            writer.setResolution(RESOLUTION)
            writer.setPageLayout(self._layout)
            writer.setTitle(QCoreApplication.translate("Report", "Chest X-ray analysis report"))
            writer.setCreator(f"{APP_NAME} {__version__}")
            self.writer = writer
            self.painter = QPainter(writer)
        self._summary(rows)

    def _start_image_page(self) -> None:
        full = self._layout.fullRectPixels(RESOLUTION)
        self._image = QImage(full.width(), full.height(), QImage.Format.Format_RGB32)
        self._image.fill(QColor("white"))
        self.painter = QPainter(self._image)
        margins = self._layout.marginsPixels(RESOLUTION)
        self.painter.translate(margins.left(), margins.top())

    def _end_image_page(self) -> None:
        if self.painter is not None:
            self.painter.end()
        page = self.path / f"page_{self.page:03d}.png"
        self._image.save(str(page))
        self.written_pages.append(page)

    def _new_page(self) -> None:
        if self.image_pages:
            self._end_image_page()
            self.page += 1
            self._start_image_page()
        else:
            self.writer.newPage()
            self.page += 1

    def add_case(self, row: ResultRow, gray: np.ndarray | None, overlay: np.ndarray | None,
                 explained: str | None) -> None:
        assert self.painter is not None
        self._new_page()
        self._case(row, gray, overlay, explained)
        self.pages_with_cases += 1

    def finish(self) -> Path:
        if self.image_pages:
            self._end_image_page()
            self.painter = None
            return self.path
        if self.painter is not None:
            self.painter.end()
        self.painter = None
        self.writer = None
        commit(self.tmp, self.path)
        self.tmp = None
        return self.path

    def abort(self) -> None:
        if self.painter is not None:
            self.painter.end()
        self.painter = None
        self.writer = None
        if self.tmp is not None:
            discard(self.tmp)
            self.tmp = None

    # ----- painting helpers --------------------------------------------------------------------------------
    def _area(self) -> QRect:
        rect = self._layout.paintRectPixels(RESOLUTION)
        return QRect(0, 0, rect.width(), rect.height())

    def _font(self, points: float, bold: bool = False) -> QFont:
        font = QFont("Helvetica")
        font.setPointSizeF(points)
        font.setBold(bold)
        return font

    def _text(self, rect: QRect, text: str, points: float = 10, bold: bool = False, colour: QColor | None = None,
              flags=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop) -> QRect:
        p = self.painter
        p.setFont(self._font(points, bold))
        p.setPen(colour or QColor("#202124"))
        bound = p.boundingRect(rect, int(flags | Qt.TextFlag.TextWordWrap), text)
        p.drawText(rect, int(flags | Qt.TextFlag.TextWordWrap), text)
        return bound

    def _header(self, area: QRect) -> int:
        """Draw the page header; return the y below it."""
        p = self.painter
        y = area.top()
        self._text(QRect(area.left(), y, area.width(), 40), f"{APP_NAME} — " + QCoreApplication.translate("Report", "Chest X-ray analysis report"),
                   14, True)
        y += 40
        threshold = format_percent(self.threshold) if self.threshold is not None else "—"
        line = QCoreApplication.translate("Report", "Model {name} (version {version}) · threshold {t} · {date}").format(
            name=self.model_name, version=self.model_version, t=threshold, date=self.created)
        self._text(QRect(area.left(), y, area.width(), 30), line, 8.5, colour=MUTED)
        y += 30
        p.setPen(QPen(QColor("#dadce0"), 2))
        p.drawLine(area.left(), y, area.right(), y)
        return y + 16

    def _footer(self, area: QRect) -> None:
        p = self.painter
        y = area.bottom() - 40
        p.setPen(QPen(QColor("#dadce0"), 2))
        p.drawLine(area.left(), y, area.right(), y)
        self._text(QRect(area.left(), y + 6, area.width() - 120, 40),
                   QCoreApplication.translate("Report", "Research use only — not a medical device. Grad-CAM shows where the model looked; "
                       "it is not a diagnosis."), 7.5, True, BORDERLINE)
        self._text(QRect(area.right() - 120, y + 6, 120, 30), QCoreApplication.translate("Report", "Page {n}").format(n=self.page), 7.5, colour=MUTED,
                   flags=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)

    def _verdict_colour(self, row: ResultRow) -> QColor:
        if row.status != STATUS_OK:
            return MUTED
        if row.borderline:
            return BORDERLINE
        return POSITIVE if row.positive else NEGATIVE

    def _verdict_text(self, row: ResultRow) -> str:
        if row.status != STATUS_OK:
            return QCoreApplication.translate("Report", "Not analysed")
        return class_display_name(row.label)

    # ----- pages ------------------------------------------------------------------------------------------------
    def _summary(self, rows: list[ResultRow]) -> None:
        p = self.painter
        area = self._area()
        y = self._header(area)
        counts = {"pos": 0, "neg": 0, "other": 0}
        for r in rows:
            counts["other" if r.status != STATUS_OK else "pos" if r.positive else "neg"] += 1
        summary = QCoreApplication.translate("Report", "{n} images: {pos} flagged abnormal, {neg} normal, {other} not analysed.").format(
            n=len(rows), pos=counts["pos"], neg=counts["neg"], other=counts["other"])
        y = self._text(QRect(area.left(), y, area.width(), 60), summary, 11, True).bottom() + 16
        columns = [(0.0, QCoreApplication.translate("Report", "File")), (0.52, QCoreApplication.translate("Report", "Verdict")), (0.76, QCoreApplication.translate("Report", "P(pneumonia)")), (0.9, QCoreApplication.translate("Report", "Status"))]
        row_h = 26

        def header_row(y0: int) -> int:
            for frac, title in columns:
                self._text(QRect(area.left() + int(frac * area.width()), y0, int(0.5 * area.width()), row_h),
                           title, 8.5, True, MUTED)
            p.setPen(QPen(QColor("#dadce0"), 1))
            p.drawLine(area.left(), y0 + row_h, area.right(), y0 + row_h)
            return y0 + row_h + 4

        y = header_row(y)
        for r in rows:
            if y > area.bottom() - 80:
                self._footer(area)
                self._new_page()
                y = header_row(self._header(area))
            cells = [Path(r.path).name, self._verdict_text(r) + (" ⚠" if r.borderline else ""),
                     format_probability(r.probability) if r.probability is not None else "—", status_display_name(r.status)]
            for (frac, _), text in zip(columns, cells):
                width = int(0.23 * area.width()) if frac > 0 else int(0.5 * area.width())
                colour = self._verdict_colour(r) if frac == 0.52 else None
                p.setFont(self._font(8.5))
                elided = p.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle, width - 8)
                self._text(QRect(area.left() + int(frac * area.width()), y, width, row_h), elided, 8.5,
                           bold=frac == 0.52, colour=colour)
            y += row_h
        y += 12
        if any(r.borderline for r in rows):
            self._text(QRect(area.left(), y, area.width(), 40),
                       "⚠ " + QCoreApplication.translate("Report", "Borderline — review carefully: the probability is within 10 points of the threshold."),
                       8.5, colour=BORDERLINE)
        self._footer(area)

    def _case(self, row: ResultRow, gray: np.ndarray | None, overlay: np.ndarray | None, explained: str | None) -> None:
        p = self.painter
        area = self._area()
        y = self._header(area)
        y = self._text(QRect(area.left(), y, area.width(), 40), Path(row.path).name, 13, True).bottom() + 2
        y = self._text(QRect(area.left(), y, area.width(), 40), row.path, 7.5, colour=MUTED).bottom() + 14

        colour = self._verdict_colour(row)
        box = QRect(area.left(), y, area.width(), 110)
        p.setPen(QPen(colour, 3))
        p.setBrush(QColor(colour.red(), colour.green(), colour.blue(), 22))
        p.drawRoundedRect(QRectF(box), 10, 10)
        p.setBrush(Qt.BrushStyle.NoBrush)
        self._text(box.adjusted(24, 12, -24, -12), self._verdict_text(row), 20, True, colour)
        if row.status == STATUS_OK:
            detail = QCoreApplication.translate("Report", "P(pneumonia) {p} · threshold {t}").format(
                p=format_probability(row.probability),
                t=format_percent(self.threshold) if self.threshold is not None else "—")
            if row.borderline:
                detail += " · ⚠ " + QCoreApplication.translate("Report", "Borderline — review carefully")
        else:
            detail = record_note(row.record)
        self._text(box.adjusted(24, 62, -24, -6), detail, 10, colour=QColor("#202124"))
        y = box.bottom() + 24

        gap = 30
        side = (area.width() - gap) // 2
        titles = (QCoreApplication.translate("Report", "Radiograph"), QCoreApplication.translate("Report", "Grad-CAM overlay") + (f" — {explained}" if explained else ""))
        for i, (title, image) in enumerate(((titles[0], gray), (titles[1], overlay))):
            x = area.left() + i * (side + gap)
            self._text(QRect(x, y, side, 30), title, 9.5, True, MUTED)
            frame = QRect(x, y + 32, side, side)
            p.fillRect(frame, QColor("#0e1012"))
            if image is not None:
                qimage = gray_to_qimage(image) if image.ndim == 2 else rgb_to_qimage(image)
                scaled = qimage.size().scaled(frame.size(), Qt.AspectRatioMode.KeepAspectRatio)
                target = QRect(0, 0, scaled.width(), scaled.height())
                target.moveCenter(frame.center())
                p.drawImage(target, qimage)
            else:
                message = QCoreApplication.translate("Report", "Image not available") if i == 0 else QCoreApplication.translate("Report", "No heatmap for this file")
                self._text(frame, message, 9, colour=QColor("#c9ced6"),
                           flags=Qt.AlignmentFlag.AlignCenter)
        y += 32 + side + 16
        legend_x = area.left() + side + gap
        self._text(QRect(legend_x, y, 80, 24), QCoreApplication.translate("Report", "Low"), 8, colour=MUTED)
        p.drawImage(QRect(legend_x + 70, y + 4, side - 150, 16), legend_image(256, 1))
        self._text(QRect(legend_x + side - 70, y, 70, 24), QCoreApplication.translate("Report", "High"), 8, colour=MUTED,
                   flags=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        y += 40
        if row.status == STATUS_OK and row.record.probabilities:
            self._text(QRect(area.left(), y, area.width(), 28), QCoreApplication.translate("Report", "Class probabilities"), 9.5, True, MUTED)
            y += 30
            ordered = sorted(row.record.probabilities.items(), key=lambda item: item[0] != self.normal_class)
            for name, value in ordered:
                self._text(QRect(area.left(), y, 300, 26), class_display_name(name), 9)
                bar = QRect(area.left() + 310, y + 4, area.width() - 460, 16)
                p.setPen(QPen(QColor("#dadce0"), 1))
                p.drawRect(bar)
                filled = QRect(bar.left(), bar.top(), int(bar.width() * float(value)), bar.height())
                p.fillRect(filled, QColor("#8ab4f8"))
                self._text(QRect(bar.right() + 12, y, 130, 26), format_probability(value), 9)
                y += 28
        self._footer(area)
