"""A horizontal colour-scale bar for the Grad-CAM overlay, drawn from ``core.overlay.heat_lut``.

It reads "Low" on the left and "High" on the right, with a title naming what is explained
("Grad-CAM: Pneumonia"). The bar is the exact look-up table the viewer and reports use.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


def legend_image(width: int = 256, height: int = 1) -> QImage:
    """The heat scale as a QImage ``width`` x ``height`` (RGB888), low on the left."""
    from ..core.overlay import heat_lut

    lut = heat_lut()
    index = np.linspace(0, 255, max(2, width)).round().astype(int)
    row = np.ascontiguousarray(np.repeat(lut[index][None], max(1, height), axis=0))
    h, w, _ = row.shape
    return QImage(row.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class HeatmapLegend(QWidget):
    """Colour bar with Low / High labels and an optional subject (the explained class)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("heatmapLegend")
        self._subject = ""
        self._image = legend_image(256, 1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._retranslate()

    def _retranslate(self) -> None:
        self._low = self.tr("Low")
        self._high = self.tr("High")
        self._title = self.tr("Model attention (Grad-CAM)")
        self.setToolTip(self.tr(
            "Grad-CAM colours the regions that most influenced the model's verdict. "
            "It shows where the model looked, not where disease is."))
        self.update()

    def changeEvent(self, event):  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def set_subject(self, text: str) -> None:
        """What the heatmap explains, e.g. the class name; shown after the title."""
        self._subject = text
        self.update()

    def title_text(self) -> str:
        return f"{self._title}: {self._subject}" if self._subject else self._title

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        fm = QFontMetrics(self.font())
        return QSize(220, fm.height() * 2 + 18)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        fm = QFontMetrics(self.font())
        return QSize(120, fm.height() * 2 + 18)

    def paintEvent(self, event):  # noqa: N802 - Qt API
        painter = QPainter(self)
        fm = QFontMetrics(self.font())
        text_colour = self.palette().color(QPalette.ColorRole.WindowText)
        margin = 2
        title_rect = QRect(margin, 0, self.width() - 2 * margin, fm.height())
        painter.setPen(text_colour)
        painter.drawText(title_rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                         fm.elidedText(self.title_text(), Qt.TextElideMode.ElideRight, title_rect.width()))
        low_w = fm.horizontalAdvance(self._low) + 8
        high_w = fm.horizontalAdvance(self._high) + 8
        bar_top = fm.height() + 4
        bar_h = max(8, self.height() - bar_top - 4)
        bar = QRect(margin + low_w, bar_top, max(10, self.width() - 2 * margin - low_w - high_w), bar_h)
        painter.drawImage(bar, self._image)
        painter.setPen(QPen(QColor(0, 0, 0, 90)))
        painter.drawRect(bar.adjusted(0, 0, -1, -1))
        painter.setPen(text_colour)
        painter.drawText(QRect(margin, bar_top, low_w - 4, bar_h),
                         int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), self._low)
        painter.drawText(QRect(bar.right() + 5, bar_top, high_w, bar_h),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), self._high)
        painter.end()
