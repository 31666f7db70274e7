"""PredictionController alone: a ModelManager with the tiny model, synthetic X-rays, real threads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gui_test_utils import make_xray_folder, synthetic_xray, write_png

from pneumo_desktop.gui.model_manager import ModelManager
from pneumo_desktop.gui.prediction_controller import PredictionController


@pytest.fixture
def controller(models):
    predictions = PredictionController(models)
    yield predictions
    predictions.stop()
    assert not predictions.threads_running()


@pytest.fixture(scope="module")
def many_xrays(tmp_path_factory) -> Path:
    """40 copies of two 768 px synthetic X-rays: a batch long enough to cancel or supersede."""
    folder = tmp_path_factory.mktemp("many") / "batch"
    sources = [write_png(folder / "x_000.png", synthetic_xray(3, False, 768)),
               write_png(folder / "x_001.png", synthetic_xray(4, True, 768))]
    for i in range(2, 40):
        shutil.copyfile(sources[i % 2], folder / f"x_{i:03d}.png")
    return folder


def collect(controller: PredictionController) -> list:
    records: list = []
    controller.records_arrived.connect(records.extend)
    return records


def test_records_arrive_for_every_file_then_done(qtbot, controller, tmp_path):
    paths = make_xray_folder(tmp_path / "xrays", 4)
    records = collect(controller)
    planned: list[int] = []
    controller.planned.connect(planned.append)
    with qtbot.waitSignal(controller.finished, timeout=60000) as blocker:
        assert controller.request([str(tmp_path / "xrays")])
        assert controller.is_running()
    assert blocker.args == ["done"]
    assert planned == [4]
    assert sorted(r.path for r in records) == sorted(str(p) for p in paths)
    assert all(r.status == "ok" and r.image_u8 is not None for r in records)  # kept for heatmaps
    assert controller.answered == 4 and not controller.is_running()


def test_requests_wait_for_a_model(qtbot, tmp_path, tiny_model_path):
    models = ModelManager()
    controller = PredictionController(models)
    try:
        path = str(make_xray_folder(tmp_path / "xrays", 1)[0])
        assert controller.request([path]) is False
        assert controller.waiting_inputs() == [path] and not controller.is_running()
        with qtbot.waitSignal(models.model_changed, timeout=30000):
            models.load(tiny_model_path)
        records = collect(controller)
        with qtbot.waitSignal(controller.finished, timeout=60000):
            assert controller.request([])
        assert [r.path for r in records] == [path] and controller.waiting_inputs() == []
    finally:
        controller.stop()
        models.stop()


def test_cancel_keeps_delivered_records_and_ends_cancelled_after_the_thread(qtbot, controller, many_xrays):
    controller.batch_size = 2
    records = collect(controller)
    with qtbot.waitSignal(controller.records_arrived, timeout=60000):
        controller.request([str(many_xrays)])
    with qtbot.waitSignal(controller.finished, timeout=60000) as blocker:
        controller.cancel()
        assert controller.is_cancelling()
    assert blocker.args == ["cancelled"]
    assert not controller.threads_running()  # "cancelled" comes once the worker has stopped
    delivered = len(records)
    assert 0 < delivered < 40
    qtbot.wait(100)
    assert len(records) == delivered  # nothing arrives after the end


def test_a_new_request_supersedes_the_batch_without_losing_files(qtbot, controller, many_xrays, tmp_path):
    controller.batch_size = 2
    extra = str(make_xray_folder(tmp_path / "extra", 1)[0])
    records = collect(controller)
    outcomes: list[str] = []
    controller.finished.connect(outcomes.append)
    with qtbot.waitSignal(controller.records_arrived, timeout=60000):
        controller.request([str(many_xrays)])
    with qtbot.waitSignal(controller.finished, timeout=120000):
        controller.request([extra])
    assert outcomes == ["done"]  # the superseded batch ends silently
    paths = [r.path for r in records]
    assert len(paths) == len(set(paths)) == 41
    assert extra in paths


def test_discard_returns_unanswered_files_and_emits_nothing(qtbot, controller, many_xrays):
    controller.batch_size = 2
    records = collect(controller)
    outcomes: list[str] = []
    controller.finished.connect(outcomes.append)
    with qtbot.waitSignal(controller.records_arrived, timeout=60000):
        controller.request([str(many_xrays)])
    remaining = controller.discard()
    assert not controller.is_running()
    assert set(remaining).isdisjoint(r.path for r in records)
    assert len(remaining) + len(records) == 40
    qtbot.waitUntil(lambda: not controller.threads_running(), timeout=30000)
    assert outcomes == []
