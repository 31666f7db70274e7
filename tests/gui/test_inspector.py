"""The model inspector: activation maps of the four conv blocks and the first block's filters."""

from __future__ import annotations

import numpy as np
import pytest

from pneumo_desktop.core.classifier import Classifier
from pneumo_desktop.core.explain import activation_maps, first_layer_filters
from pneumo_desktop.gui.image_grid import ImageGrid, to_uint8
from pneumo_desktop.gui.model_inspector import ModelInspector, prepared_input
from pneumo_desktop.core.synthetic import synthetic_chest_image


@pytest.fixture(scope="module")
def classifier(tiny_model_path) -> Classifier:
    return Classifier.load(tiny_model_path)


@pytest.fixture
def inspector(qtbot):
    widget = ModelInspector()
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    yield widget
    widget.close()


def _prepared(classifier: Classifier) -> np.ndarray:
    return classifier.prepare(synthetic_chest_image(size=200, seed=3).astype(np.float32) / 255.0)


def test_inspector_shows_four_block_grids_and_the_filters(qtbot, inspector, classifier):
    image = _prepared(classifier)
    with qtbot.waitSignal(inspector.ready, timeout=30000):
        inspector.set_image(classifier, image, path="/data/patients/chest_07.png")
    assert "chest_07.png" in inspector.windowTitle()
    widths = classifier.metadata["architecture"]["widths"]
    assert len(inspector.block_grids) == 4
    limit = inspector.channels_spin.value()
    assert [g.count() for g in inspector.block_grids] == [min(w, limit) for w in widths]
    assert inspector.filter_grid.count() == widths[0]
    assert all(g.count() == min(8, w) for g, w in zip(inspector.overview_grids, widths))
    # The data shown are the core's maps for this exact image.
    expected = activation_maps(classifier, image)
    for got, want in zip(inspector.data.maps, expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inspector.data.filters, first_layer_filters(classifier))
    # Tab titles carry the block shapes; fewer channels on request.
    h = image.shape[0] // 2
    assert f"{widths[0]} × {h}×{h}" in inspector.tabs.tabText(1)
    inspector.channels_spin.setValue(4)
    assert [g.count() for g in inspector.block_grids] == [4, 4, 4, 4]


def test_inspector_prepares_a_raw_image_and_orders_by_strength(qtbot, inspector, classifier):
    raw = synthetic_chest_image(size=180, seed=9)[:, 10:170]  # not the model's input size
    with qtbot.waitSignal(inspector.ready, timeout=30000):
        inspector.set_image(classifier, raw)
    size = classifier.preprocessing.input_size
    assert inspector.data.image_u8.shape == (size, size)
    np.testing.assert_array_equal(inspector.data.image_u8, prepared_input(classifier, raw))
    assert inspector.windowTitle() == "Model inspector"
    inspector.order_combo.setCurrentIndex(inspector.order_combo.findData("strongest"))
    fmap = inspector.data.maps[1]
    strongest = int(np.argmax(fmap.reshape(len(fmap), -1).mean(1)))
    assert inspector.block_grids[1]._captions[0] == f"#{strongest + 1}"


def test_image_grid_normalises_per_channel_and_kernels_diverge():
    flat = to_uint8(np.full((4, 4), 3.0, dtype=np.float32), "per_image")
    assert flat.max() == 0
    ramp = to_uint8(np.array([[2.0, 4.0], [6.0, 10.0]], dtype=np.float32), "per_image")
    assert ramp.min() == 0 and ramp.max() == 255
    kernel = to_uint8(np.array([[-1.0, 0.0, 1.0]] * 3, dtype=np.float32), "diverging")
    assert list(kernel[0]) == [0, 128, 255]


def test_image_grid_counts_and_cells(qtbot):
    grid = ImageGrid(cell_size=20, columns=3)
    qtbot.addWidget(grid)
    grid.set_images([np.zeros((3, 3)), np.ones((5, 5)), np.eye(4), np.ones((2, 6))], captions=list("abcd"))
    assert grid.count() == 4
    assert grid.sizeHint().width() == 3 * 20 + 2 * 4
    assert grid.pixmap(0).width() == 20  # a 3x3 kernel enlarged to the cell
    assert grid.pixmap(3).width() == 20 and grid.pixmap(3).height() < 10  # aspect kept
