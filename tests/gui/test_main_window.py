"""Main window: real predictions with a tiny real model, through the real worker threads."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from gui_test_utils import running_qthreads, synthetic_xray, write_png

REPO = Path(__file__).resolve().parents[2]


# ----- fixtures ---------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def message_boxes(monkeypatch):
    """Record message boxes instead of blocking on them."""
    calls: list[tuple[str, str, str]] = []

    def fake(kind):
        def box(parent, title, text, *args, **kwargs):
            calls.append((kind, title, text))
            return QMessageBox.StandardButton.Ok
        return box

    for kind in ("critical", "warning", "information", "question"):
        monkeypatch.setattr(QMessageBox, kind, fake(kind))
    return calls


def make_window(qtbot, model_path=None):
    from pneumo_desktop.gui.main_window import MainWindow

    window = MainWindow(load_default_model=False)
    window.resize(1200, 800)
    window.show()
    if model_path is not None:
        with qtbot.waitSignal(window.models.model_changed, timeout=30000):
            window.load_model(model_path)
    return window


@pytest.fixture
def window(qtbot, tiny_model_path):
    win = make_window(qtbot, tiny_model_path)
    yield win
    win.close()
    win.deleteLater()
    qtbot.wait(10)


@pytest.fixture(scope="session")
def big_folder(tmp_path_factory) -> Path:
    """60 large-ish (1024 px) synthetic X-rays, copies of two images: slow enough to decode that
    a batch takes a noticeable time, cheap to make."""
    folder = tmp_path_factory.mktemp("big") / "batch"
    sources = [write_png(folder / "chest_000.png", synthetic_xray(7, False, 1024)),
               write_png(folder / "chest_001.png", synthetic_xray(8, True, 1024))]
    for i in range(2, 60):
        shutil.copyfile(sources[i % 2], folder / f"chest_{i:03d}.png")
    return folder


def run_batch(qtbot, window, paths, timeout=60000) -> str:
    with qtbot.waitSignal(window.prediction_finished, timeout=timeout) as blocker:
        window.open_paths([str(p) for p in paths])
    return blocker.args[0]


# ----- tests -------------------------------------------------------------------------------------------
def test_open_image_matches_predict_files(qtbot, window, xray_folder):
    from pneumo_desktop.core.predict import predict_files

    path = xray_folder / "chest_02.png"
    assert run_batch(qtbot, window, [path]) == "done"
    assert window.results.rowCount() == 1
    row = window.results.row(0)
    direct = list(predict_files(window.models.classifier, [path]))[0]
    assert row.status == direct.status == "ok"
    assert row.label == direct.label
    assert row.probability == pytest.approx(direct.probability, abs=1e-9)
    # The row is selected automatically and the panel shows the same verdict.
    qtbot.waitUntil(lambda: window.viewer.has_image(), timeout=10000)
    assert window.current_row().path == str(path)
    assert window.panel.verdict_text() in ("Pneumonia", "Normal")
    assert "not a medical device" in window.panel.disclaimer_text()


def test_folder_of_mixed_files_gives_right_statuses(qtbot, window, xray_folder):
    colour = np.zeros((200, 200, 3), dtype=np.uint8)
    colour[..., 0] = np.linspace(0, 255, 200)[None, :]
    colour[..., 2] = np.linspace(255, 0, 200)[:, None]
    colour[60:140, 60:140, 1] = 220
    write_png(xray_folder / "holiday_photo.png", colour)
    assert run_batch(qtbot, window, [xray_folder]) == "done"
    statuses = {Path(r.path).name: r.status for r in window.results.rows()}
    assert statuses == {
        "broken.png": "error", "notes.txt": "error", "holiday_photo.png": "unsupported",
        "chest_01.png": "ok", "chest_02.png": "ok", "chest_03.png": "ok", "chest_04.png": "ok",
    }
    # The panel explains refused files in plain words.
    assert window.select_path(str(xray_folder / "holiday_photo.png"))
    assert window.panel.note_text().startswith("Not a chest X-ray:")
    # No threshold or heatmap legend for a file the model did not judge; both come back for one it did.
    judgement = (window.panel._threshold_label, window.panel.legend)
    assert not any(w.isVisibleTo(window.panel) for w in judgement)
    assert window.select_path(str(xray_folder / "notes.txt"))
    assert window.panel.note_text().startswith("Cannot read file:")
    assert not any(w.isVisibleTo(window.panel) for w in judgement)
    assert window.select_path(str(xray_folder / "chest_01.png"))
    assert all(w.isVisibleTo(window.panel) for w in judgement)
    # Filters.
    from pneumo_desktop.gui.results_model import FILTER_ERROR, FILTER_UNSUPPORTED

    window.filter_combo.setCurrentIndex(window.filter_combo.findData(FILTER_ERROR))
    assert window.proxy.rowCount() == 2
    window.filter_combo.setCurrentIndex(window.filter_combo.findData(FILTER_UNSUPPORTED))
    assert window.proxy.rowCount() == 1
    assert "1 unsupported" in window.summary_label.text() and "2 errors" in window.summary_label.text()


def test_overlay_toggle_changes_displayed_pixels(qtbot, window, xray_folder):
    path = str(xray_folder / "chest_02.png")
    with qtbot.waitSignal(window.heatmap_ready, timeout=30000):
        run_batch(qtbot, window, [path])
    qtbot.waitUntil(lambda: window.viewer.has_heatmap(), timeout=10000)
    window.set_overlay_visible(False)
    qtbot.wait(20)
    before = window.viewer.rendered_image()
    window.act_overlay.trigger()  # the checkable action, as the toolbar button and G do
    assert window.act_overlay.isChecked() and window.viewer.overlay_visible()
    qtbot.wait(20)
    after = window.viewer.rendered_image()
    assert before.size() == after.size()
    assert bytes(before.constBits()) != bytes(after.constBits())
    # The heatmap is cached: toggling starts no job and gives back the same pixels.
    window.act_overlay.trigger()
    assert not window.view_controller.is_busy()
    qtbot.wait(20)
    assert bytes(window.viewer.rendered_image().constBits()) == bytes(before.constBits())


def test_threshold_change_relabels_rows_and_is_remembered(qtbot, window, xray_folder):
    from pneumo_desktop.gui.settings import Settings

    run_batch(qtbot, window, [xray_folder / f"chest_0{i}.png" for i in range(1, 5)])
    labels = [r.label for r in window.results.rows()]
    assert len(set(labels)) == 2, f"tiny model should separate the synthetic classes, got {labels}"
    window.set_threshold(0.0001)
    assert [r.label for r in window.results.rows()] == ["PNEUMONIA"] * 4
    window.set_threshold(0.9999)
    assert [r.label for r in window.results.rows()] == ["NORMAL"] * 4
    assert Settings().threshold_for(window.models.version) == pytest.approx(0.9999)
    assert window.models.threshold() == pytest.approx(0.9999)
    # The table's display follows, and the model's own threshold comes back on request.
    index = window.proxy.index(0, 1)
    assert index.data().startswith("Normal")
    window.set_threshold(None)
    assert [r.label for r in window.results.rows()] == labels
    assert Settings().threshold_for(window.models.version) is None


def test_threshold_changed_during_batch_applies_to_later_rows(qtbot, window, big_folder):
    window.predictions.batch_size = 4
    changed = []

    def lower_threshold(_n):
        if not changed:
            changed.append(1)
            window.set_threshold(0.0001)

    window.records_added.connect(lower_threshold)
    with qtbot.waitSignal(window.prediction_finished, timeout=90000):
        window.open_paths([big_folder])
    rows = window.results.rows()
    assert len(rows) == 60
    assert {r.label for r in rows} == {"PNEUMONIA"}


def test_cancel_mid_batch_keeps_partial_results(qtbot, window, big_folder):
    window.predictions.batch_size = 4
    cancelled = []

    def cancel_once(_n):
        if not cancelled:
            cancelled.append(window.results.rowCount())
            window.cancel_prediction()

    window.records_added.connect(cancel_once)
    with qtbot.waitSignal(window.prediction_finished, timeout=60000) as blocker:
        window.open_paths([big_folder])
    assert blocker.args == ["cancelled"]
    rows = window.results.rowCount()
    assert 0 < rows < 60, rows
    assert not window.is_predicting() and not window.predictions.threads_running()
    assert all(r.status == "ok" for r in window.results.rows())
    assert "Cancelled" in window.statusBar().currentMessage()


def test_new_request_supersedes_running_batch_without_losing_files(qtbot, window, big_folder, xray_folder):
    window.predictions.batch_size = 4
    extra = xray_folder / "chest_01.png"
    fired = []

    def add_more(_n):
        if not fired:
            fired.append(1)
            window.open_paths([extra])

    window.records_added.connect(add_more)
    with qtbot.waitSignal(window.prediction_finished, timeout=90000) as blocker:
        window.open_paths([big_folder])
    qtbot.waitUntil(lambda: not window.jobs_running() or window.view_controller.is_busy(), timeout=10000)
    assert blocker.args == ["done"]
    paths = window.results.paths()
    assert len(paths) == len(set(paths)) == 61
    assert str(extra) in paths


def test_invalid_model_shows_error_and_keeps_current(qtbot, window, tmp_path, message_boxes):
    bad = tmp_path / "broken.pneumo"
    bad.write_bytes(b"definitely not a model file" * 10)
    current = window.models.classifier
    with qtbot.waitSignal(window.models.load_failed, timeout=30000):
        window.load_model(bad)
    qtbot.waitUntil(lambda: not window.models.is_loading(), timeout=10000)
    assert [kind for kind, _, _ in message_boxes] == ["critical"]
    assert "broken.pneumo" in message_boxes[0][2]
    assert "still in use" in message_boxes[0][2]
    assert window.models.classifier is current


def test_export_csv_writes_rows_with_current_verdicts(qtbot, window, xray_folder, tmp_path):
    run_batch(qtbot, window, [xray_folder])
    window.set_threshold(0.0001)
    out = tmp_path / "out" / "results.csv"
    assert window.export_csv(out)
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == window.results.rowCount() == 6
    by_file = {r["file"]: r for r in rows}
    assert by_file["chest_01.png"]["status"] == "ok" and by_file["chest_01.png"]["label"] == "PNEUMONIA"
    assert float(by_file["chest_01.png"]["threshold"]) == pytest.approx(0.0001)
    assert by_file["broken.png"]["status"] == "error" and by_file["broken.png"]["label"] == ""
    assert "P(NORMAL)" in rows[0] and "P(PNEUMONIA)" in rows[0]


def test_export_pdf_report(qtbot, window, xray_folder, tmp_path):
    run_batch(qtbot, window, [xray_folder])
    out = tmp_path / "report.pdf"
    with qtbot.waitSignal(window.report_finished, timeout=60000) as blocker:
        assert window.export_report(out, show_progress=False)
    assert blocker.args == [str(out), True]
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 5000
    # A summary page and one page per file.
    assert len(re.findall(rb"/Type\s*/Page(?![s\w])", data)) == 1 + window.results.rowCount()
    assert not list(tmp_path.glob(".report.pdf.*.tmp"))


def test_opacity_persists_across_windows(qtbot, tiny_model_path):
    first = make_window(qtbot)
    first.opacity_slider.setValue(73)
    assert first.viewer.overlay_opacity() == pytest.approx(0.73)
    first.close()
    second = make_window(qtbot)
    try:
        assert second.opacity_slider.value() == 73
        assert second.viewer.overlay_opacity() == pytest.approx(0.73)
    finally:
        second.close()


def test_closing_during_batch_stops_every_thread(qtbot, tiny_model_path, big_folder):


    window = make_window(qtbot, tiny_model_path)
    window.predictions.batch_size = 4
    with qtbot.waitSignal(window.records_added, timeout=60000):
        window.open_paths([big_folder])
    assert window.is_predicting()
    started = time.perf_counter()
    window.close()
    print(f"close during batch took {time.perf_counter() - started:.3f} s")
    assert not window.jobs_running()
    assert running_qthreads() == []


def machine_load_per_core() -> float:
    """The 1-minute load average per CPU core (0 where the platform has none)."""
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except (AttributeError, OSError):
        return 0.0


def test_gui_stays_responsive_during_batch(qtbot, window, big_folder):
    """A 20 ms timer on the GUI thread keeps ticking while 40 images are analysed.

    The goal is no gap over 100 ms; the test allows 250 ms. On a box so overloaded that every
    thread waits its turn (more than 3 runnable tasks per core before the batch starts) it only
    checks that the window never froze for 1.5 s, and says so."""
    load = machine_load_per_core()
    limit_ms = 250.0 if load < 3.0 else 1500.0
    paths = sorted(big_folder.iterdir())[:40]
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(tick)
    timer.start()
    try:
        last[0] = time.perf_counter()
        outcome = run_batch(qtbot, window, paths)
    finally:
        timer.stop()
    assert outcome == "done" and window.results.rowCount() == 40
    worst = max(gaps[1:]) * 1000 if len(gaps) > 1 else 0.0
    print(f"GUI responsiveness while predicting 40 images: max timer gap {worst:.1f} ms over {len(gaps)} ticks "
          f"(machine load {load:.1f} per core; limit {limit_ms:.0f} ms)")
    assert worst < limit_ms


def test_files_dropped_on_window_are_analysed(qtbot, window, xray_folder):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(xray_folder / "chest_01.png")),
                  QUrl.fromLocalFile(str(xray_folder / "chest_02.png"))])
    event = QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.prediction_finished, timeout=30000):
        window.dropEvent(event)
    assert sorted(Path(p).name for p in window.results.paths()) == ["chest_01.png", "chest_02.png"]
    from pneumo_desktop.gui.settings import Settings

    assert Settings().recent_files()[:2] == [str(xray_folder / "chest_01.png"), str(xray_folder / "chest_02.png")]


def test_explain_class_combo_computes_heatmap_per_class(qtbot, window, xray_folder):
    path = str(xray_folder / "chest_02.png")
    with qtbot.waitSignal(window.heatmap_ready, timeout=30000):
        run_batch(qtbot, window, [path])
    classes = window.models.classifier.classes
    verdict_class = classes.index(window.results.row(0).label)
    other = 1 - verdict_class
    assert window.heatmap_cached(path, verdict_class) and not window.heatmap_cached(path, other)
    with qtbot.waitSignal(window.heatmap_ready, timeout=30000) as blocker:
        window.class_combo.setCurrentIndex(window.class_combo.findData(other))
    assert blocker.args == [path, other]
    assert window.heatmap_cached(path, other)


def test_model_change_reanalyses_results_and_lists_user_models(qtbot, window, xray_folder, tiny_model_path):
    from pneumo_desktop.paths import user_models_dir

    run_batch(qtbot, window, [xray_folder / "chest_01.png"])
    copy = user_models_dir() / "my-model.pneumo"
    shutil.copyfile(tiny_model_path, copy)
    window._fill_models_menu()
    titles = [a.text() for a in window.models_menu.actions()]
    assert "my-model" in titles
    with qtbot.waitSignal(window.prediction_finished, timeout=30000):
        window.load_model(copy)
    assert window.models.active_path() == str(copy)
    assert window.results.rowCount() == 1
    window._fill_models_menu()
    checked = [a.text() for a in window.models_menu.actions() if a.isChecked()]
    assert checked == ["my-model"]


def test_startup_loads_saved_model_and_analyses_queued_files(qtbot, tiny_model_path, xray_folder):
    from pneumo_desktop.gui.main_window import MainWindow
    from pneumo_desktop.gui.settings import Settings

    Settings().set_active_model_path(tiny_model_path)
    window = MainWindow(load_default_model=True, initial_paths=[str(xray_folder / "chest_03.png")])
    window.show()
    try:
        with qtbot.waitSignal(window.prediction_finished, timeout=60000):
            pass
        assert window.models.active_path() == str(tiny_model_path)
        assert window.results.rowCount() == 1
    finally:
        window.close()


def test_run_app_shows_window_before_model(tmp_path, tiny_model_path):
    """The real entry point in a fresh process: window first, model after, then quit."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "settings.ini").write_text(f"[model]\nactive={tiny_model_path}\n", encoding="utf-8")
    env = dict(os.environ, PNEUMO_DESKTOP_HOME=str(home), QT_QPA_PLATFORM="offscreen",
               PNEUMO_DESKTOP_STARTUP_PROBE="1", PYTHONPATH=str(REPO))
    code = "import sys; from pneumo_desktop.gui.app import run_app; sys.exit(run_app([]))"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    probe = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    print(f"startup: window shown after {probe['window_shown_s']} s ({probe['window_shown_cpu_s']} s of CPU), "
          f"model ready after {probe['model_ready_s']} s")
    assert probe["model"] == "tiny-test-model"
    assert probe["window_shown_s"] <= probe["model_ready_s"]
    # The goal is a usable window within 2 s; CPU time, unlike wall time, does not depend on how
    # busy the machine is (the process CPU clock starts at interpreter start-up).
    assert probe["window_shown_cpu_s"] < 4.0
