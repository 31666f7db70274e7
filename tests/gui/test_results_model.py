"""The results table model and its filter/sort proxy, with a real tiny classifier's decision rule."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from pneumo_desktop.core.predict import PredictionRecord
from pneumo_desktop.gui.results_model import (
    COL_FILE, COL_PROBABILITY, COL_STATUS, COL_TIME, COL_VERDICT, FILTER_ALL, FILTER_ERROR, FILTER_NEGATIVE,
    FILTER_POSITIVE, FILTER_UNSUPPORTED, ResultsFilterProxy, ResultsTableModel, record_note,
)


@pytest.fixture(scope="module")
def classifier(tiny_model_path):
    from pneumo_desktop.core.classifier import Classifier

    return Classifier.load(tiny_model_path)


def ok(name: str, p: float, classifier, ms: float = 10.0) -> PredictionRecord:
    probs = {"NORMAL": 1.0 - p, "PNEUMONIA": p}
    label = classifier.classes[int(classifier.decide(np.array([[1.0 - p, p]])) [0])]
    return PredictionRecord(f"/data/{name}", "ok", label=label, probability=p, probabilities=probs,
                            decode_ms=ms, infer_ms=1.0, image_size=(100, 120))


def bad(name: str, status: str, message: str) -> PredictionRecord:
    return PredictionRecord(f"/data/{name}", status, message=message, decode_ms=2.0)


@pytest.fixture
def models(classifier):
    model = ResultsTableModel()
    model.set_decision_rule("NORMAL", classifier.threshold)
    proxy = ResultsFilterProxy()
    proxy.setSourceModel(model)
    model.add_records([
        ok("b_high.png", 0.97, classifier, ms=30),
        ok("a_low.png", 0.03, classifier, ms=5),
        ok("c_mid.png", 0.55, classifier, ms=300),
        bad("photo.png", "unsupported", "not a chest X-ray: it is a colour image (a photograph or graphic), not a radiograph"),
        bad("notes.txt", "error", "cannot read file: notes.txt is not an image"),
    ])
    return model, proxy


def column(proxy, col):
    return [proxy.index(r, col).data() for r in range(proxy.rowCount())]


def test_rows_show_file_verdict_probability_status_time(models):
    model, _ = models
    assert model.rowCount() == 5 and model.columnCount() == 5
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(5)] == \
        ["File", "Verdict", "P(pneumonia)", "Status", "Time (ms)"]
    assert model.index(0, COL_FILE).data() == "b_high.png"
    assert model.index(0, COL_FILE).data(Qt.ItemDataRole.ToolTipRole) == "/data/b_high.png"
    assert model.index(0, COL_VERDICT).data() == "Pneumonia"
    assert model.index(1, COL_VERDICT).data() == "Normal"
    assert model.index(0, COL_PROBABILITY).data() == "97.0%"
    assert model.index(3, COL_VERDICT).data() == "Not a chest X-ray"
    assert model.index(4, COL_VERDICT).data() == "Cannot read file"
    assert model.index(3, COL_STATUS).data() == "Unsupported"
    assert model.index(4, COL_PROBABILITY).data() == "—"
    assert model.index(0, COL_TIME).data() == "31.0"
    assert model.index(2, COL_TIME).data() == "301"
    assert model.counts() == {"total": 5, "positive": 2 if model.row(2).positive else 1,
                              "negative": 1 if model.row(2).positive else 2, "unsupported": 1, "error": 1}


def test_notes_for_refused_files_are_plain_language(models):
    model, _ = models
    assert record_note(model.row(3).record) == \
        "Not a chest X-ray: it is a colour image (a photograph or graphic), not a radiograph"
    assert record_note(model.row(4).record) == "Cannot read file: notes.txt is not an image"


def test_sorting_is_numeric_and_by_name(models):
    _, proxy = models
    proxy.sort(COL_PROBABILITY, Qt.SortOrder.DescendingOrder)
    assert column(proxy, COL_FILE)[:3] == ["b_high.png", "c_mid.png", "a_low.png"]
    proxy.sort(COL_TIME, Qt.SortOrder.AscendingOrder)
    assert column(proxy, COL_FILE)[0] in ("photo.png", "notes.txt") and column(proxy, COL_FILE)[-1] == "c_mid.png"
    proxy.sort(COL_FILE, Qt.SortOrder.AscendingOrder)
    assert column(proxy, COL_FILE) == ["a_low.png", "b_high.png", "c_mid.png", "notes.txt", "photo.png"]


def test_filters_by_kind_and_text(models):
    model, proxy = models
    proxy.set_filter_mode(FILTER_POSITIVE)
    assert all(model.row(model.position_of("/data/" + f)).positive for f in column(proxy, COL_FILE))
    assert "b_high.png" in column(proxy, COL_FILE) and "a_low.png" not in column(proxy, COL_FILE)
    proxy.set_filter_mode(FILTER_NEGATIVE)
    assert "a_low.png" in column(proxy, COL_FILE) and "b_high.png" not in column(proxy, COL_FILE)
    proxy.set_filter_mode(FILTER_UNSUPPORTED)
    assert column(proxy, COL_FILE) == ["photo.png"]
    proxy.set_filter_mode(FILTER_ERROR)
    assert column(proxy, COL_FILE) == ["notes.txt"]
    proxy.set_filter_mode(FILTER_ALL)
    proxy.set_filter_text("  HIGH ")
    assert column(proxy, COL_FILE) == ["b_high.png"]
    proxy.set_filter_text("")
    assert proxy.rowCount() == 5


def test_relabel_uses_classifier_decision_and_flags_borderline(models, classifier):
    model, proxy = models
    model.relabel(classifier, 0.5)
    assert [r.label for r in model.rows()[:3]] == ["PNEUMONIA", "NORMAL", "PNEUMONIA"]
    assert [r.borderline for r in model.rows()[:3]] == [False, False, True]
    assert model.index(2, COL_VERDICT).data() == "Pneumonia ⚠"
    assert model.index(2, COL_VERDICT).data(Qt.ItemDataRole.ToolTipRole) == "Borderline — review carefully"
    model.relabel(classifier, 0.99)
    assert [r.label for r in model.rows()[:3]] == ["NORMAL"] * 3
    assert [r.positive for r in model.rows()] == [False] * 5
    assert model.rows()[0].borderline  # 0.97 is within 0.1 of 0.99
    proxy.set_filter_mode(FILTER_POSITIVE)
    assert proxy.rowCount() == 0
    model.relabel(classifier, 0.01)
    assert proxy.rowCount() == 3
    # Refused files never get a verdict.
    assert model.row(3).label is None and model.row(4).label is None


def test_same_file_again_replaces_its_row(models, classifier):
    model, _ = models
    model.add_records([ok("a_low.png", 0.9, classifier)])
    assert model.rowCount() == 5
    assert model.row(model.position_of("/data/a_low.png")).probability == 0.9


def test_current_record_carries_current_verdict_without_images(models, classifier):
    model, _ = models
    row = model.row(0)
    row.record.image_u8 = np.zeros((4, 4), np.uint8)
    model.relabel(classifier, 0.999)
    copy = row.current_record()
    assert copy.label == "NORMAL" and copy.image_u8 is None and row.record.image_u8 is not None
