"""ViewController alone: a viewer, a result panel and the tiny model; decode, explain and cache."""

from __future__ import annotations

import pytest
from gui_test_utils import make_xray_folder

from pneumo_desktop.gui.image_viewer import ImageViewer
from pneumo_desktop.gui.result_panel import ResultPanel
from pneumo_desktop.gui.results_model import ResultRow
from pneumo_desktop.gui.view_controller import AUTO_EXPLAIN, IMAGE_CACHE_SIZE, ViewController, heatmap_size


@pytest.fixture
def view(qtbot, models):
    viewer, panel = ImageViewer(), ResultPanel()
    qtbot.addWidget(viewer)
    qtbot.addWidget(panel)
    controller = ViewController(viewer, panel, models)
    yield controller, viewer, panel
    controller.stop()
    assert not controller.threads_running()


def rows_for(models, paths) -> list[ResultRow]:
    from pneumo_desktop.core.predict import predict_files

    return [ResultRow(r, r.label) for r in predict_files(models.classifier, paths, keep_images=True)]


def test_heatmap_size_keeps_the_aspect_ratio():
    assert heatmap_size((1000, 2000), 64) == (256, 512)
    assert heatmap_size((100, 50), 64) == (100, 50)
    assert heatmap_size(None, 64) == (64, 64)


def test_showing_a_row_decodes_explains_and_caches(qtbot, view, models, tmp_path):
    controller, viewer, panel = view
    row = rows_for(models, make_xray_folder(tmp_path, 1))[0]
    target = models.classifier.classes.index(row.label)
    with qtbot.waitSignal(controller.heatmap_ready, timeout=30000) as blocker:
        with qtbot.waitSignal(controller.image_shown, timeout=30000):
            controller.show_row(row)
    assert blocker.args == [row.path, target]
    assert viewer.has_image() and viewer.has_heatmap()
    assert controller.heatmap_cached(row.path, target)
    heat = controller.cached_heatmap(row.path, target)
    assert heat.dtype.name == "float32" and 0.0 <= heat.min() and heat.max() <= 1.0
    qtbot.waitUntil(lambda: not controller.is_busy(), timeout=10000)
    # Cached: showing it again, or toggling the overlay, starts no job.
    controller.show_row(None)
    controller.show_row(row)
    controller.set_overlay_visible(True)
    assert not controller.is_busy() and viewer.overlay_visible()
    assert panel.current_row() is row


def test_explaining_another_class_computes_only_that_heatmap(qtbot, view, models, tmp_path):
    controller, _viewer, _panel = view
    row = rows_for(models, make_xray_folder(tmp_path, 1))[0]
    with qtbot.waitSignal(controller.heatmap_ready, timeout=30000):
        controller.show_row(row)
    other = 1 - models.classifier.classes.index(row.label)
    assert not controller.heatmap_cached(row.path, other)
    controller.explain_choice = other
    with qtbot.waitSignal(controller.heatmap_ready, timeout=30000) as blocker:
        controller.refresh()
    assert blocker.args == [row.path, other]
    controller.explain_choice = None
    assert controller.explain_choice == AUTO_EXPLAIN
    controller.forget([row.path])
    assert not controller.heatmap_cached(row.path)


def test_unreadable_file_shows_why_and_gets_no_heatmap(qtbot, view, models, tmp_path):
    controller, viewer, panel = view
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    row = rows_for(models, [broken])[0]
    assert controller.explain_target(row) is None
    with qtbot.waitSignal(controller.image_shown, timeout=30000):
        controller.show_row(row)
    assert not viewer.has_image()
    assert panel._heatmap_label.text().startswith("No heatmap")


def test_image_cache_keeps_the_latest_images(qtbot, view, models, tmp_path):
    controller, _viewer, _panel = view
    rows = rows_for(models, make_xray_folder(tmp_path, IMAGE_CACHE_SIZE + 2))
    for row in rows:
        with qtbot.waitSignal(controller.image_shown, timeout=30000):
            controller.show_row(row)
    assert len(controller._images) == IMAGE_CACHE_SIZE
    assert rows[0].path not in controller._images and rows[-1].path in controller._images
