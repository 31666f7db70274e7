"""The image viewer (zoom, pan, window/level, invert, heatmap layer) and the heatmap legend."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor

from pneumo_desktop.gui.heatmap_legend import HeatmapLegend, legend_image
from pneumo_desktop.gui.image_viewer import ImageViewer, gray_to_qimage, heatmap_to_qimage, window_lut


def ramp(h=300, w=400) -> np.ndarray:
    """A horizontal ramp 0 -> 1, float32 (h, w)."""
    return np.tile(np.linspace(0, 1, w, dtype=np.float32), (h, 1))


@pytest.fixture
def viewer(qtbot):
    view = ImageViewer()
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    yield view
    view.close()


def centre_gray(view: ImageViewer) -> int:
    image = view.rendered_image()
    return QColor(image.pixel(image.width() // 2, image.height() // 2)).red()


def test_qimage_conversions_keep_values():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    image = gray_to_qimage(gray)
    assert (image.width(), image.height()) == (4, 3)
    assert QColor(image.pixel(3, 2)).red() == 220
    heat = heatmap_to_qimage(np.array([[0.0, 1.0]], np.float32))
    assert heat.pixelColor(0, 0).alpha() == 0 and heat.pixelColor(1, 0).alpha() == 255
    lut = window_lut(0.5, 1.0, False)
    assert lut[0] == 0 and lut[-1] == 255 and window_lut(0.5, 1.0, True)[0] == 255


def test_fit_actual_size_and_zoom(viewer, qtbot):
    signals = []
    viewer.zoom_changed.connect(signals.append)
    viewer.set_image(ramp(600, 800))
    assert viewer.is_fit_mode() and viewer.zoom() == pytest.approx(0.5, abs=0.03)
    viewer.actual_size()
    assert viewer.zoom() == 1.0 and not viewer.is_fit_mode()
    viewer.zoom_by(2.0)
    assert viewer.zoom() == pytest.approx(2.0)
    viewer.zoom_by(1e6)
    assert viewer.zoom() == pytest.approx(40.0)
    qtbot.keyClick(viewer, Qt.Key.Key_F)
    assert viewer.is_fit_mode() and viewer.zoom() == pytest.approx(0.5, abs=0.03)
    qtbot.keyClick(viewer, Qt.Key.Key_1)
    assert viewer.zoom() == 1.0
    assert signals and signals[-1] == 1.0


def test_window_level_invert_and_reset_change_the_display(viewer):
    viewer.set_image(ramp())
    base = centre_gray(viewer)
    assert 110 < base < 145  # mid-grey in the middle of the ramp
    viewer.set_window(0.2, 0.2)  # a narrow window low down: the middle saturates to white
    assert centre_gray(viewer) > 240
    viewer.set_window(0.8, 0.2)
    assert centre_gray(viewer) < 15
    viewer.reset_window()
    assert abs(centre_gray(viewer) - base) <= 2
    viewer.set_window(0.35, 1.0)
    viewer.set_invert(True)
    inverted = centre_gray(viewer)
    viewer.set_invert(False)
    assert abs(inverted + centre_gray(viewer) - 255) <= 3


def test_right_drag_adjusts_window_and_hover_reports_pixels(viewer, qtbot):
    viewer.set_image(ramp(300, 400))
    viewer.actual_size()
    hovered = []
    viewer.pixel_hovered.connect(lambda x, y, v: hovered.append((x, y, v)))
    target = viewer.mapFromScene(100.2, 50.2)
    scene = viewer.mapToScene(target)
    expected = (int(np.floor(scene.x())), int(np.floor(scene.y())))
    assert abs(expected[0] - 100) <= 1 and abs(expected[1] - 50) <= 1
    qtbot.mouseMove(viewer.viewport(), target)
    assert hovered and hovered[-1][:2] == expected
    assert hovered[-1][2] == pytest.approx(expected[0] / 399, abs=1e-3)
    windows = []
    viewer.window_changed.connect(lambda c, w: windows.append((c, w)))
    qtbot.mousePress(viewer.viewport(), Qt.MouseButton.RightButton, pos=QPoint(200, 150))
    qtbot.mouseMove(viewer.viewport(), QPoint(260, 110))
    qtbot.mouseRelease(viewer.viewport(), Qt.MouseButton.RightButton, pos=QPoint(260, 110))
    assert windows, "dragging with the right button should change the window"
    centre, width = viewer.window()
    assert centre > 0.5 and width > 1.0  # up raises the level, right widens the window


def test_heatmap_layer_opacity_and_visibility(viewer):
    viewer.set_image(np.full((200, 200), 0.5, np.float32) + ramp(200, 200) * 0.01)
    plain = viewer.rendered_image()
    heat = np.zeros((50, 50), np.float32)
    heat[10:40, 10:40] = 1.0
    viewer.set_heatmap(heat)
    viewer.set_overlay_opacity(0.8)
    assert not viewer.overlay_visible()  # not asked for yet
    viewer.set_overlay_visible(True)
    shown = viewer.rendered_image()
    assert viewer.overlay_visible() and shown != plain
    viewer.set_overlay_opacity(0.0)
    assert viewer.rendered_image() == plain
    viewer.set_overlay_opacity(0.8)
    viewer.set_image(ramp())  # a new image drops the old heatmap
    assert not viewer.has_heatmap() and not viewer.overlay_visible()


def test_message_without_image(viewer):
    viewer.clear("Nothing to show")
    image = viewer.rendered_image()
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 1  # the message text is drawn on the dark background


def test_heatmap_legend_uses_the_heat_scale(qtbot):
    from pneumo_desktop.core.overlay import heat_lut

    lut = heat_lut()
    image = legend_image(256, 1)
    assert QColor(image.pixel(0, 0)).getRgb()[:3] == tuple(int(v) for v in lut[0])
    assert QColor(image.pixel(255, 0)).getRgb()[:3] == tuple(int(v) for v in lut[255])
    legend = HeatmapLegend()
    legend.resize(300, legend.sizeHint().height())
    legend.set_subject("Pneumonia")
    legend.show()
    qtbot.waitExposed(legend)
    assert legend.title_text().endswith(": Pneumonia")
    grabbed = legend.grab().toImage()
    assert not grabbed.isNull() and grabbed.width() == 300
