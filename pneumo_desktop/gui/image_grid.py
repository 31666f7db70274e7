"""A widget that paints a grid of small grayscale arrays: sample X-rays, activation maps, filters.

Arrays are turned into 8-bit images on the GUI thread (cheap: they are small) with one of three
intensity mappings:

* ``"per_image"``: each array stretched from its own minimum (black) to maximum (white); a
  constant array is black. Used for activation maps, "normalised per channel".
* ``"fixed"``: uint8 arrays shown as they are, float arrays read as [0, 1].
* ``"diverging"``: float arrays in [-1, 1] with 0 as mid-grey, -1 black and +1 white. Used for
  convolution kernels, so the sign of each weight is visible.

Small arrays (a 3x3 kernel, a 9x9 activation map) are enlarged with nearest-neighbour sampling
so that each value stays a crisp square; larger ones are scaled smoothly. The aspect ratio is
always kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

MODES = ("per_image", "fixed", "diverging")


def to_uint8(array: np.ndarray, mode: str = "per_image") -> np.ndarray:
    """Map a 2-D array to uint8 (H, W) for display with the given intensity ``mode``."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {MODES}")
    a = np.asarray(array)
    if a.ndim != 2:
        raise ValueError(f"expected a 2-D array, got shape {a.shape}")
    if mode == "fixed":
        if a.dtype == np.uint8:
            return np.ascontiguousarray(a)
        return (np.clip(np.nan_to_num(a.astype(np.float32)), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    a = np.nan_to_num(a.astype(np.float32))
    if mode == "diverging":
        return (np.clip((a + 1.0) * 0.5, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    low, high = float(a.min()), float(a.max())
    if high - low <= 1e-12:
        return np.zeros(a.shape, dtype=np.uint8)
    return ((a - low) / (high - low) * 255.0 + 0.5).astype(np.uint8)


def gray_qimage(image_u8: np.ndarray) -> QImage:
    """A QImage (Grayscale8) that owns a copy of ``image_u8`` (uint8 (H, W))."""
    data = np.ascontiguousarray(image_u8, dtype=np.uint8)
    h, w = data.shape
    return QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


class ImageGrid(QWidget):
    """Paints arrays in a fixed number of columns, each in a square cell, with optional captions.

    ``set_images(arrays, captions, tooltips, mode)``: arrays are 2-D numpy arrays (any size,
    float or uint8). ``count()`` is the number of images shown.
    """

    def __init__(self, parent: QWidget | None = None, cell_size: int = 64, columns: int | None = None,
                 spacing: int = 4, mode: str = "per_image"):
        super().__init__(parent)
        self._cell = int(cell_size)
        self._columns = columns
        self._spacing = int(spacing)
        self._mode = mode
        self._pixmaps: list[QPixmap] = []
        self._captions: list[str] = []
        self._tooltips: list[str] = []
        self._placeholder = ""
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)

    # ----- content -------------------------------------------------------------------------
    def set_images(self, arrays: Sequence[np.ndarray], captions: Sequence[str] | None = None,
                   tooltips: Sequence[str] | None = None, mode: str | None = None,
                   cell_size: int | None = None, columns: int | None = None) -> None:
        if mode is not None:
            self._mode = mode
        if cell_size is not None:
            self._cell = int(cell_size)
        if columns is not None:
            self._columns = columns
        self._pixmaps = [self._to_pixmap(a) for a in arrays]
        self._captions = [str(c) for c in captions] if captions else []
        self._tooltips = [str(t) for t in tooltips] if tooltips else []
        self.updateGeometry()
        self.update()

    def clear(self) -> None:
        self.set_images([])

    def set_placeholder(self, text: str) -> None:
        """Text painted when the grid is empty (for example 'Computing…')."""
        self._placeholder = text
        self.update()

    def count(self) -> int:
        return len(self._pixmaps)

    def columns(self) -> int:
        if self._columns:
            return int(self._columns)
        return max(1, math.ceil(math.sqrt(max(1, len(self._pixmaps)))))

    def cell_size(self) -> int:
        return self._cell

    def pixmap(self, index: int) -> QPixmap:
        return self._pixmaps[index]

    def _to_pixmap(self, array: np.ndarray) -> QPixmap:
        image = gray_qimage(to_uint8(array, self._mode))
        w, h = image.width(), image.height()
        scale = min(self._cell / max(1, w), self._cell / max(1, h))
        target = QSize(max(1, round(w * scale)), max(1, round(h * scale)))
        # Enlarging by an integer-ish factor: keep each value a crisp square.
        smooth = scale < 1.0 or max(w, h) > 24
        transform = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
        return QPixmap.fromImage(image.scaled(target, Qt.AspectRatioMode.KeepAspectRatio, transform))

    # ----- geometry ------------------------------------------------------------------------
    def _caption_height(self) -> int:
        return QFontMetrics(self.font()).height() + 2 if self._captions else 0

    def _cell_rect(self, index: int) -> QRect:
        cols = self.columns()
        row, col = divmod(index, cols)
        step_x = self._cell + self._spacing
        step_y = self._cell + self._caption_height() + self._spacing
        return QRect(col * step_x, row * step_y, self._cell, self._cell)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        n = len(self._pixmaps)
        cols = min(self.columns(), max(1, n))
        rows = max(1, math.ceil(n / cols)) if n else 1
        width = cols * self._cell + (cols - 1) * self._spacing
        height = rows * (self._cell + self._caption_height()) + (rows - 1) * self._spacing
        return QSize(width, height)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return self.sizeHint()

    # ----- painting ------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        palette = self.palette()
        if not self._pixmaps:
            if self._placeholder:
                painter.setPen(palette.color(palette.ColorRole.PlaceholderText))
                painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
            painter.end()
            return
        frame = QColor(palette.color(palette.ColorRole.Mid))
        text = palette.color(palette.ColorRole.WindowText)
        fm = QFontMetrics(self.font())
        for i, pixmap in enumerate(self._pixmaps):
            cell = self._cell_rect(i)
            painter.fillRect(cell, Qt.GlobalColor.black)
            offset = QPoint((cell.width() - pixmap.width()) // 2, (cell.height() - pixmap.height()) // 2)
            painter.drawPixmap(cell.topLeft() + offset, pixmap)
            painter.setPen(frame)
            painter.drawRect(cell.adjusted(0, 0, -1, -1))
            if i < len(self._captions):
                painter.setPen(text)
                caption = fm.elidedText(self._captions[i], Qt.TextElideMode.ElideRight, cell.width())
                painter.drawText(QRect(cell.left(), cell.bottom() + 1, cell.width(), fm.height() + 2),
                                 Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, caption)
        painter.end()

    def index_at(self, pos: QPoint) -> int:
        """The index of the image under ``pos`` (widget coordinates), or -1."""
        for i in range(len(self._pixmaps)):
            if self._cell_rect(i).contains(pos):
                return i
        return -1

    def event(self, event) -> bool:
        if event.type() == event.Type.ToolTip:
            index = self.index_at(event.pos())
            tip = ""
            if 0 <= index < len(self._tooltips):
                tip = self._tooltips[index]
            elif 0 <= index < len(self._captions):
                tip = self._captions[index]
            if tip:
                QToolTip.showText(event.globalPos(), tip, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)
