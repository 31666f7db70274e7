"""Tests for pneumo_desktop.core.predict (batch prediction records) and core.results (CSV)."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from pneumo_desktop.core.classifier import Classifier
from pneumo_desktop.core.imageio import list_input_files
from pneumo_desktop.core.predict import (
    STATUS_ERROR,
    STATUS_OK,
    STATUS_UNSUPPORTED,
    PredictionRecord,
    predict_files,
)
from pneumo_desktop.core.results import RESULT_COLUMNS, records_to_frame, write_results_csv

RECORD_KEYS = {"path", "status", "label", "probability", "probabilities", "message", "timing_ms"}


@pytest.fixture
def inputs(tmp_path, synth) -> dict[str, Path]:
    """A mixed batch: X-rays (one not square), a missing path, a text file, a broken PNG, a colour
    photo and a folder with two more X-rays."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "folder"
    paths = {
        "normal": synth.write_png(tmp_path / "IM-5000-0001.png", synth.chest_image(5000, False)),
        "pneumonia": synth.write_png(tmp_path / "person500_bacteria_1.png", synth.chest_image(5001, True)),
        "missing": tmp_path / "not-there.png",
        "text": tmp_path / "notes.txt",
        "broken": tmp_path / "broken.png",
        "colour": tmp_path / "holiday.png",
        "wide": synth.write_png(tmp_path / "wide.png", np.asarray(
            Image.fromarray(synth.chest_image(5002, True, size=128)).resize((150, 120)))),
        "folder": folder,
    }
    paths["text"].write_text("Patient notes, not an image.\n")
    paths["broken"].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(rng.integers(0, 256, 300, dtype=np.uint8)))
    Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8), mode="RGB").save(paths["colour"])
    synth.write_png(folder / "a.png", synth.chest_image(5003, False))
    synth.write_png(folder / "b.png", synth.chest_image(5004, True))
    return paths


@pytest.fixture(scope="module")
def soft_classifier(tiny_classifier) -> Classifier:
    """The tiny model with a high temperature, so its probabilities sit strictly inside (0, 1)."""
    metadata = copy.deepcopy(tiny_classifier.metadata)
    metadata["temperature"] = 50.0
    return Classifier.from_parts(tiny_classifier.tensors(), metadata)


def by_name(records) -> dict[str, PredictionRecord]:
    return {Path(r.path).name: r for r in records}


# ----- records -------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_size", [1, 2, 32])
def test_one_record_per_input_in_order(tiny_classifier, inputs, batch_size):
    given = list(inputs.values())
    records = list(predict_files(tiny_classifier, given, batch_size=batch_size))
    expected = [str(p) for p in list_input_files(given)]
    assert [r.path for r in records] == expected
    assert len(records) == len(given) - 1 + 2  # the folder became its two files
    statuses = {Path(r.path).name: r.status for r in records}
    assert statuses == {
        "IM-5000-0001.png": STATUS_OK, "person500_bacteria_1.png": STATUS_OK, "not-there.png": STATUS_ERROR,
        "notes.txt": STATUS_ERROR, "broken.png": STATUS_ERROR, "holiday.png": STATUS_UNSUPPORTED,
        "wide.png": STATUS_OK, "a.png": STATUS_OK, "b.png": STATUS_OK,
    }


def test_error_and_unsupported_records(tiny_classifier, inputs):
    records = by_name(predict_files(tiny_classifier, list(inputs.values())))
    for name in ("not-there.png", "notes.txt", "broken.png"):
        r = records[name]
        assert r.status == STATUS_ERROR
        assert r.message.startswith("cannot read file") and name in r.message, r.message
    assert "not found" in records["not-there.png"].message
    colour = records["holiday.png"]
    assert colour.status == STATUS_UNSUPPORTED
    assert colour.message.startswith("not a chest X-ray") and "colour" in colour.message
    assert colour.image_size == (120, 160)
    for name in ("not-there.png", "notes.txt", "broken.png", "holiday.png"):
        r = records[name]
        assert r.label is None and r.probability is None and r.probabilities is None and r.heatmap is None
        d = r.to_dict()
        assert d["label"] is None and d["probability"] is None and d["probabilities"] is None
        assert d["message"]


def test_record_dict_schema(tiny_classifier, inputs):
    records = list(predict_files(tiny_classifier, list(inputs.values())))
    dicts = [r.to_dict() for r in records]
    json.loads(json.dumps(dicts))  # JSON-ready
    for d in dicts:
        assert set(d) == RECORD_KEYS
        assert set(d["timing_ms"]) == {"decode", "inference"}
        assert d["status"] in (STATUS_OK, STATUS_ERROR, STATUS_UNSUPPORTED)
        if d["status"] == STATUS_OK:
            assert d["label"] in tiny_classifier.classes
            assert 0.0 <= d["probability"] <= 1.0
            assert set(d["probabilities"]) == set(tiny_classifier.classes)
            assert d["message"] is None
            assert d["timing_ms"]["inference"] >= 0


def test_ok_records_probabilities(soft_classifier, inputs):
    records = [r for r in predict_files(soft_classifier, list(inputs.values())) if r.status == STATUS_OK]
    assert len(records) == 5
    normal = soft_classifier.metadata["normal_class"]
    for r in records:
        assert list(r.probabilities) == soft_classifier.classes
        assert sum(r.probabilities.values()) == pytest.approx(1.0, abs=1e-6)  # a float32 softmax
        assert r.probability == pytest.approx(1.0 - r.probabilities[normal], abs=1e-12)
        d = r.to_dict()
        assert d["probability"] == pytest.approx(1.0 - d["probabilities"][normal], abs=2e-6)
        assert r.label == ("PNEUMONIA" if r.probability >= soft_classifier.threshold else "NORMAL")
        assert r.image_u8 is None, "images are only kept on request"


def test_probabilities_match_the_classifier(tiny_classifier, inputs):
    from pneumo_desktop.core.imageio import read_image

    record = by_name(predict_files(tiny_classifier, [inputs["wide"]]))["wide.png"]
    prepared = tiny_classifier.prepare(read_image(inputs["wide"]).pixels)
    probs, _ = tiny_classifier.predict_batch(prepared[None])
    assert [record.probabilities[c] for c in tiny_classifier.classes] == pytest.approx(probs[0].tolist(), abs=1e-12)


def test_threshold_override_changes_the_label(soft_classifier, inputs):
    paths = [inputs["normal"], inputs["pneumonia"], inputs["folder"]]
    baseline = list(predict_files(soft_classifier, paths))
    assert all(r.status == STATUS_OK for r in baseline)
    for r in baseline:
        p = r.probability
        assert 0.0 < p < 1.0
        at = by_name(predict_files(soft_classifier, [r.path], threshold=p))[Path(r.path).name]
        above = by_name(predict_files(soft_classifier, [r.path], threshold=float(np.nextafter(p, 1.0))))[Path(r.path).name]
        assert at.label == "PNEUMONIA" and above.label == "NORMAL"
        assert at.probability == above.probability == p, "the threshold must not change probabilities"
    # The stored threshold is used when none is given.
    assert [r.label for r in baseline] == [
        "PNEUMONIA" if r.probability >= soft_classifier.threshold else "NORMAL" for r in baseline]


def test_keep_images(tiny_classifier, inputs):
    records = list(predict_files(tiny_classifier, [inputs["wide"], inputs["colour"]], keep_images=True))
    size = tiny_classifier.preprocessing.input_size
    assert records[0].image_u8.shape == (size, size) and records[0].image_u8.dtype == np.uint8
    assert records[1].image_u8 is None


# ----- heatmaps ------------------------------------------------------------------------------
def test_heatmaps_on_request(soft_classifier, inputs):
    given = list(inputs.values())
    without = list(predict_files(soft_classifier, given))
    assert all(r.heatmap is None and r.heatmap_class is None for r in without)
    records = list(predict_files(soft_classifier, given, heatmaps=True))
    for r in records:
        if r.status != STATUS_OK:
            assert r.heatmap is None
            continue
        assert r.heatmap is not None
        assert r.heatmap.dtype == np.float32
        assert r.heatmap.shape == r.image_size, "the heatmap is at the decoded image's size"
        assert float(r.heatmap.min()) >= 0.0 and float(r.heatmap.max()) <= 1.0
        assert r.heatmap_class in soft_classifier.classes
    assert by_name(records)["wide.png"].heatmap.shape == (120, 150)


@pytest.mark.parametrize("threshold_side", ["low", "high"])
def test_heatmap_explains_the_reported_label(soft_classifier, inputs, threshold_side):
    """The Grad-CAM of a record explains the label the record reports, also when the operating
    threshold (stored or overridden) differs from 0.5."""
    paths = [inputs["normal"], inputs["pneumonia"], inputs["folder"]]
    probs = [r.probability for r in predict_files(soft_classifier, paths)]
    # A threshold between the records' probabilities, so that both labels occur and at least one
    # label differs from the arg-max class.
    threshold = (min(probs) * 0.9 + 0.1 * max(probs)) if threshold_side == "low" else (
        0.1 * min(probs) + 0.9 * max(probs))
    records = list(predict_files(soft_classifier, paths, threshold=threshold, heatmaps=True))
    assert {r.label for r in records} == {"NORMAL", "PNEUMONIA"}
    for r in records:
        assert r.heatmap_class == r.label, (r.path, r.probability, threshold)


# ----- the feature gate ----------------------------------------------------------------------
def test_feature_gate_marks_unfamiliar_images_unsupported(tiny_classifier, inputs):
    metadata = copy.deepcopy(tiny_classifier.metadata)
    metadata["gate"]["distance_threshold"] = 1e-6
    strict = Classifier.from_parts(tiny_classifier.tensors(), metadata)
    records = list(predict_files(strict, [inputs["normal"], inputs["pneumonia"]], heatmaps=True))
    for r in records:
        assert r.status == STATUS_UNSUPPORTED
        assert "does not resemble the chest X-rays the model was trained on" in r.message
        assert r.label is None and r.probability is None and r.heatmap is None
    # With the real cut-off, images like the training images pass.
    assert all(r.status == STATUS_OK for r in predict_files(tiny_classifier, [inputs["normal"], inputs["pneumonia"]]))


# ----- generator behaviour -------------------------------------------------------------------
def test_closing_early_stops_the_decode_pool(tiny_classifier, tmp_path, synth):
    image = synth.chest_image(77, False)
    paths = [synth.write_png(tmp_path / f"IM-{i:04d}-0001.png", image) for i in range(12)]
    before = set(threading.enumerate())
    gen = predict_files(tiny_classifier, paths, batch_size=2, workers=2)
    first = next(gen)
    assert first.path == str(paths[0])
    gen.close()
    alive = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert alive == [], "decode threads outlived the closed generator"


def test_empty_input(tiny_classifier, tmp_path):
    (tmp_path / "empty").mkdir()
    assert list(predict_files(tiny_classifier, [])) == []
    assert list(predict_files(tiny_classifier, [tmp_path / "empty"])) == []


# ----- results tables ------------------------------------------------------------------------
def test_results_csv(tiny_classifier, inputs, tmp_path):
    records = list(predict_files(tiny_classifier, list(inputs.values())))
    out = tmp_path / "out" / "results.csv"
    write_results_csv(records, out, tiny_classifier.classes, threshold=0.4)
    assert sorted(p.name for p in out.parent.iterdir()) == ["results.csv"]
    table = pd.read_csv(out)
    assert list(table.columns) == RESULT_COLUMNS + [f"P({c})" for c in tiny_classifier.classes]
    assert table["path"].tolist() == [r.path for r in records]
    assert table["file"].tolist() == [Path(r.path).name for r in records]
    assert (table["threshold"] == 0.4).all()
    ok = table["status"] == STATUS_OK
    assert table.loc[~ok, "probability"].isna().all() and table.loc[~ok, "label"].isna().all()
    assert table.loc[ok, "probability"].between(0, 1).all()
    frame = records_to_frame(records, tiny_classifier.classes)
    assert len(frame) == len(records)
