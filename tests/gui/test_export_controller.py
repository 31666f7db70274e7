"""ExportController alone: rows from the tiny model, CSV content and the PDF report."""

from __future__ import annotations

import csv
import re

import pytest
from gui_test_utils import make_xray_folder

from pneumo_desktop.gui.export_controller import ExportController
from pneumo_desktop.gui.image_viewer import ImageViewer
from pneumo_desktop.gui.model_manager import ModelManager
from pneumo_desktop.gui.result_panel import ResultPanel
from pneumo_desktop.gui.results_model import ResultsTableModel
from pneumo_desktop.gui.view_controller import ViewController


@pytest.fixture
def setup(qtbot, tiny_model_path, tmp_path):
    """(exports, results, models, view) with three analysed synthetic X-rays and a broken file."""
    from pneumo_desktop.core.predict import predict_files

    models = ModelManager()
    with qtbot.waitSignal(models.model_changed, timeout=30000):
        models.load(tiny_model_path)
    folder = tmp_path / "xrays"
    paths = make_xray_folder(folder, 3)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    results = ResultsTableModel()
    classifier = models.classifier
    results.set_decision_rule(classifier.classes[classifier.normal_index], models.threshold())
    results.add_records(list(predict_files(classifier, paths + [folder / "broken.png"], keep_images=True)))
    viewer, panel = ImageViewer(), ResultPanel()
    qtbot.addWidget(viewer)
    qtbot.addWidget(panel)
    view = ViewController(viewer, panel, models)
    exports = ExportController(results, models, view)
    yield exports, results, models, view
    exports.stop()
    view.stop()
    models.stop()
    assert not exports.threads_running()


def test_csv_has_one_row_per_result_with_the_current_verdict(qtbot, setup, tmp_path):
    exports, results, models, _view = setup
    models.set_threshold(0.0001)
    results.relabel(models.classifier, 0.0001)
    out = tmp_path / "out" / "results.csv"
    with qtbot.waitSignal(exports.csv_written, timeout=5000) as blocker:
        assert exports.export_csv(out)
    assert blocker.args == [str(out)]
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    by_file = {r["file"]: r for r in rows}
    assert {by_file[f"chest_0{i}.png"]["label"] for i in (1, 2, 3)} == {"PNEUMONIA"}
    assert float(by_file["chest_01.png"]["threshold"]) == pytest.approx(0.0001)
    assert by_file["broken.png"]["status"] == "error" and by_file["broken.png"]["label"] == ""


def test_csv_that_cannot_be_written_reports_a_message(qtbot, setup, tmp_path):
    exports, *_ = setup
    blocker_file = tmp_path / "a-file"
    blocker_file.write_text("not a folder")
    with qtbot.waitSignal(exports.failed, timeout=5000) as blocker:
        assert not exports.export_csv(blocker_file / "results.csv")
    assert "Could not write" in blocker.args[0]


def test_report_reuses_cached_heatmaps_and_writes_a_page_per_file(qtbot, setup, tmp_path):
    exports, results, _models, view = setup
    first = results.rows()[0]
    with qtbot.waitSignal(view.heatmap_ready, timeout=30000):
        view.show_row(first)
    out = tmp_path / "report.pdf"
    with qtbot.waitSignal(exports.report_finished, timeout=60000) as blocker:
        assert exports.export_report(out, opacity=0.5, show_progress=False)
        assert exports.is_writing_report()
        assert not exports.export_report(tmp_path / "second.pdf", opacity=0.5, show_progress=False)
    assert blocker.args == [str(out), True]
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?![s\w])", data)) == 1 + 4
    assert not exports.is_writing_report()


def test_cancelled_report_leaves_no_file(qtbot, setup, tmp_path):
    exports, *_ = setup
    out = tmp_path / "report.pdf"
    with qtbot.waitSignal(exports.report_finished, timeout=60000) as blocker:
        assert exports.export_report(out, opacity=0.5, show_progress=False)
        exports.cancel_report()
    assert blocker.args == [str(out), False]
    assert not out.exists() and not list(tmp_path.glob(".report.pdf.*.tmp"))
