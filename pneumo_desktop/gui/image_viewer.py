"""The radiograph viewer: zoom, pan, window/level, invert and a Grad-CAM overlay layer.

Input arrays come from workers as numpy; they become QImages here, on the GUI thread only.

* Zoom with the mouse wheel (around the cursor), ``+``/``-``, ``F`` (fit) and ``1`` (1:1).
* Pan by dragging with the left button (or the arrow keys).
* Window/level by dragging with the right button: left/right narrows/widens the window
  (contrast), up/down raises/lowers the level (brightness). ``set_window`` does the same from
  sliders; ``reset_window`` restores the full range.
* The heatmap is a separate, semi-transparent layer (alpha proportional to the heat, as in
  ``core.overlay.blend``), so showing, hiding and changing its opacity never recomputes it.
* ``pixel_hovered(x, y, value)`` reports the image pixel under the cursor (x = -1 when outside).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap, QTransform
from PySide6.QtWidgets import QFrame, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

LEVELS = 4096  # pixel values are kept as 12-bit indices into a display look-up table
MIN_ZOOM = 0.02
MAX_ZOOM = 40.0
MIN_WIDTH = 0.02
BACKGROUND = QColor("#0e1012")


def gray_to_qimage(gray_u8: np.ndarray) -> QImage:
    """uint8 (H, W) -> an independent QImage (Grayscale8). GUI thread only."""
    gray_u8 = np.ascontiguousarray(gray_u8, dtype=np.uint8)
    h, w = gray_u8.shape
    return QImage(gray_u8.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def rgb_to_qimage(rgb_u8: np.ndarray) -> QImage:
    """uint8 (H, W, 3) -> an independent QImage (RGB888). GUI thread only."""
    rgb_u8 = np.ascontiguousarray(rgb_u8, dtype=np.uint8)
    h, w, _ = rgb_u8.shape
    return QImage(rgb_u8.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def heatmap_rgba(heatmap: np.ndarray) -> np.ndarray:
    """float (h, w) in [0, 1] -> uint8 (h, w, 4): the heat scale colour, alpha = heat.

    Pure numpy, so workers can prepare it and leave the GUI thread only the QImage wrap."""
    from ..core.overlay import colourise

    heat = np.clip(np.nan_to_num(np.asarray(heatmap, dtype=np.float32)), 0.0, 1.0)
    rgba = np.empty(heat.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = colourise(heat)
    rgba[..., 3] = (heat * 255 + 0.5).astype(np.uint8)
    return rgba


def rgba_to_qimage(rgba_u8: np.ndarray) -> QImage:
    """uint8 (H, W, 4) -> an independent QImage (RGBA8888). GUI thread only."""
    rgba_u8 = np.ascontiguousarray(rgba_u8, dtype=np.uint8)
    h, w, _ = rgba_u8.shape
    return QImage(rgba_u8.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


def heatmap_to_qimage(heatmap: np.ndarray) -> QImage:
    """float (h, w) in [0, 1] -> RGBA QImage on the heat scale, alpha = heat. GUI thread only."""
    return rgba_to_qimage(heatmap_rgba(heatmap))


def to_levels(pixels: np.ndarray) -> np.ndarray:
    """float (H, W) in [0, 1] -> uint16 indices into the display look-up table (numpy only)."""
    return (np.clip(pixels, 0.0, 1.0) * (LEVELS - 1) + 0.5).astype(np.uint16)


def window_lut(center: float, width: float, invert: bool) -> np.ndarray:
    """The display look-up table, uint8 (LEVELS,), for a window centred at ``center``."""
    values = np.linspace(0.0, 1.0, LEVELS, dtype=np.float32)
    width = max(MIN_WIDTH, float(width))
    low = float(center) - width / 2
    out = np.clip((values - low) / width, 0.0, 1.0)
    if invert:
        out = 1.0 - out
    return np.round(out * 255).astype(np.uint8)


class ImageViewer(QGraphicsView):
    pixel_hovered = Signal(int, int, float)
    zoom_changed = Signal(float)
    window_changed = Signal(float, float)  # (centre, width), both in [0, 1] of full scale

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("imageViewer")
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._base = QGraphicsPixmapItem()
        self._base.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._overlay = QGraphicsPixmapItem(self._base)
        self._overlay.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._overlay.setVisible(False)
        self._scene.addItem(self._base)
        self._pixels: np.ndarray | None = None
        self._levels: np.ndarray | None = None
        self._heatmap: np.ndarray | None = None
        self._overlay_wanted = False
        self._opacity = 0.5
        self._center = 0.5
        self._width = 1.0
        self._invert = False
        self._fit_mode = True
        self._message = ""
        self._wl_drag: tuple[QPointF, float, float] | None = None

        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(BACKGROUND)
        self.setRenderHints(QPainter.RenderHint.SmoothPixmapTransform | QPainter.RenderHint.Antialiasing)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # Files dropped on the image go to the main window, which opens them.
        self.setAcceptDrops(False)
        self.viewport().setAcceptDrops(False)
        self.setMinimumSize(200, 200)

    # ----- content ---------------------------------------------------------------------------------
    def has_image(self) -> bool:
        return self._pixels is not None

    def image_size(self) -> tuple[int, int] | None:
        """(height, width) of the shown image, or None."""
        return None if self._pixels is None else self._pixels.shape

    def set_image(self, pixels: np.ndarray | None, message: str = "", levels: np.ndarray | None = None) -> None:
        """Show float32 (H, W) in [0, 1] (None shows ``message`` instead). ``levels``: the same
        image as ``to_levels(pixels)`` when a worker has prepared it. Clears the heatmap; keeps
        zoom mode, window/level and invert."""
        self._heatmap = None
        self._overlay.setPixmap(QPixmap())
        self._overlay.setVisible(False)
        if pixels is None:
            self._pixels = self._levels = None
            self._base.setPixmap(QPixmap())
            self._message = message
            self._scene.setSceneRect(QRectF())
            self.viewport().update()
            return
        pixels = np.asarray(pixels, dtype=np.float32)
        self._pixels = pixels
        self._levels = levels if levels is not None and levels.shape == pixels.shape else to_levels(pixels)
        self._message = message
        self._render_base()
        h, w = pixels.shape
        self._scene.setSceneRect(QRectF(0, 0, w, h))
        if self._fit_mode:
            self.fit()
        self.viewport().update()

    def clear(self, message: str = "") -> None:
        self.set_image(None, message)

    def set_message(self, message: str) -> None:
        """The text shown when there is no image."""
        self._message = message
        self.viewport().update()

    def _render_base(self) -> None:
        if self._levels is None:
            return
        display = window_lut(self._center, self._width, self._invert)[self._levels]
        self._base.setPixmap(QPixmap.fromImage(gray_to_qimage(display)))

    # ----- heatmap layer -------------------------------------------------------------------------
    def set_heatmap(self, heatmap: np.ndarray | None, rgba: np.ndarray | None = None) -> None:
        """Set (or clear) the heatmap, float (h, w) in [0, 1] at any resolution: it is stretched
        over the whole image, as the model saw the image stretched to its square input.
        ``rgba``: ``heatmap_rgba(heatmap)`` when a worker has prepared it."""
        self._heatmap = None if heatmap is None else np.asarray(heatmap, dtype=np.float32)
        if self._heatmap is None or self._pixels is None:
            self._overlay.setPixmap(QPixmap())
            self._overlay.setVisible(False)
            return
        if rgba is None or rgba.shape[:2] != self._heatmap.shape:
            rgba = heatmap_rgba(self._heatmap)
        self._overlay.setPixmap(QPixmap.fromImage(rgba_to_qimage(rgba)))
        hh, hw = self._heatmap.shape
        h, w = self._pixels.shape
        self._overlay.setTransform(QTransform.fromScale(w / hw, h / hh))
        self._update_overlay()

    def has_heatmap(self) -> bool:
        return self._heatmap is not None

    def set_overlay_visible(self, visible: bool) -> None:
        self._overlay_wanted = bool(visible)
        self._update_overlay()

    def overlay_visible(self) -> bool:
        return self._overlay.isVisible()

    def set_overlay_opacity(self, opacity: float) -> None:
        self._opacity = min(1.0, max(0.0, float(opacity)))
        self._update_overlay()

    def overlay_opacity(self) -> float:
        return self._opacity

    def _update_overlay(self) -> None:
        self._overlay.setOpacity(self._opacity)
        self._overlay.setVisible(self._overlay_wanted and self._heatmap is not None and self._pixels is not None)

    # ----- window / level / invert -----------------------------------------------------------------
    def window(self) -> tuple[float, float]:  # noqa: A003 - (centre, width) of the display window
        return self._center, self._width

    def set_window(self, center: float, width: float) -> None:
        center = min(1.5, max(-0.5, float(center)))
        width = min(2.0, max(MIN_WIDTH, float(width)))
        if (center, width) == (self._center, self._width):
            return
        self._center, self._width = center, width
        self._render_base()
        self.window_changed.emit(center, width)

    def reset_window(self) -> None:
        self.set_window(0.5, 1.0)

    def set_invert(self, invert: bool) -> None:
        if bool(invert) != self._invert:
            self._invert = bool(invert)
            self._render_base()

    def inverted(self) -> bool:
        return self._invert

    # ----- zoom -------------------------------------------------------------------------------------
    def zoom(self) -> float:
        return float(self.transform().m11())

    def fit(self) -> None:
        """Fit the whole image in the view (and keep fitting when the view is resized)."""
        self._fit_mode = True
        if self._pixels is None:
            return
        self.resetTransform()
        self.fitInView(self._base, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.zoom())

    def actual_size(self) -> None:
        """One image pixel per screen pixel."""
        self._fit_mode = False
        self.setTransform(QTransform())
        if self._pixels is not None:
            self.centerOn(self._base)
        self.zoom_changed.emit(1.0)

    def zoom_by(self, factor: float) -> None:
        if self._pixels is None:
            return
        current = self.zoom()
        target = min(MAX_ZOOM, max(MIN_ZOOM, current * factor))
        if abs(target - current) < 1e-9:
            return
        self._fit_mode = False
        self.scale(target / current, target / current)
        self.zoom_changed.emit(self.zoom())

    def is_fit_mode(self) -> bool:
        return self._fit_mode

    # ----- rendering for tests and reports ----------------------------------------------------------
    def rendered_image(self) -> QImage:
        """What the viewport shows now, as a QImage."""
        return self.viewport().grab().toImage()

    # ----- events -------------------------------------------------------------------------------------
    def resizeEvent(self, event):  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self._fit_mode and self._pixels is not None:
            self.fit()

    def wheelEvent(self, event):  # noqa: N802 - Qt API
        delta = event.angleDelta().y()
        if delta:
            self.zoom_by(1.0015 ** delta)
        event.accept()

    def keyPressEvent(self, event):  # noqa: N802 - Qt API
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(1.25)
        elif key == Qt.Key.Key_Minus:
            self.zoom_by(0.8)
        elif key == Qt.Key.Key_F:
            self.fit()
        elif key == Qt.Key.Key_1:
            self.actual_size()
        else:
            super().keyPressEvent(event)

    def mousePressEvent(self, event):  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.RightButton and self._pixels is not None:
            self._wl_drag = (event.position(), self._center, self._width)
            self.viewport().setCursor(Qt.CursorShape.SizeAllCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):  # noqa: N802 - Qt API
        if self._wl_drag is not None:
            start, center, width = self._wl_drag
            delta = event.position() - start
            span = max(100.0, float(min(self.viewport().width(), self.viewport().height())))
            self.set_window(center - delta.y() / span, width * (2.0 ** (delta.x() / span * 2)))
            event.accept()
        else:
            super().mouseMoveEvent(event)
        self._report_pixel(event.position())

    def mouseReleaseEvent(self, event):  # noqa: N802 - Qt API
        if self._wl_drag is not None and event.button() == Qt.MouseButton.RightButton:
            self._wl_drag = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event):  # noqa: N802 - Qt API
        self.pixel_hovered.emit(-1, -1, float("nan"))
        super().leaveEvent(event)

    def _report_pixel(self, position: QPointF) -> None:
        if self._pixels is None:
            self.pixel_hovered.emit(-1, -1, float("nan"))
            return
        point = self.mapToScene(position.toPoint())
        x, y = int(np.floor(point.x())), int(np.floor(point.y()))
        h, w = self._pixels.shape
        if 0 <= x < w and 0 <= y < h:
            self.pixel_hovered.emit(x, y, float(self._pixels[y, x]))
        else:
            self.pixel_hovered.emit(-1, -1, float("nan"))

    def drawForeground(self, painter: QPainter, rect) -> None:  # noqa: N802 - Qt API
        super().drawForeground(painter, rect)
        if self._pixels is not None or not self._message:
            return
        painter.save()
        painter.resetTransform()
        area = self.viewport().rect().adjusted(24, 24, -24, -24)
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        painter.setFont(font)
        painter.setPen(QColor("#c9ced6"))
        painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self._message)
        painter.restore()


def heat_scale_icon() -> QIcon:
    """A small round swatch of the heat scale (32 x 32), for the overlay button. GUI thread only."""
    from PySide6.QtGui import QBrush, QLinearGradient

    from ..core.overlay import heat_lut

    pixmap = QPixmap(32, 32)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    gradient = QLinearGradient(0, 32, 32, 0)
    lut = heat_lut()
    for stop in (0.15, 0.4, 0.65, 0.9):
        r, g, b = (int(v) for v in lut[int(stop * 255)])
        gradient.setColorAt(stop, QColor(r, g, b))
    painter.setBrush(QBrush(gradient))
    painter.setPen(QColor("#202124"))
    painter.drawEllipse(3, 3, 26, 26)
    painter.end()
    return QIcon(pixmap)
