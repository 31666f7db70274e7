"""A model with finer abnormal classes (NORMAL / BACTERIA / VIRUS) scored on coarser labels
(NORMAL / PNEUMONIA): core/model_evaluation.py, the CLI and the training wizard's comparison job.

The three-class model here is the session's tiny two-class model with its PNEUMONIA output split
in two: both new rows copy the PNEUMONIA row of each member's head, and their biases are shifted
by T·log(w) and T·log(1 - w), so that exp(z_B / T) + exp(z_V / T) = exp(z_P / T). Its P(NORMAL),
hence P(abnormal), equals the two-class model's on every image; with w > 0.5 every abnormal answer
is BACTERIA, with w < 0.5 VIRUS. Merged, it must give the two-class model's report exactly.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from pneumo_desktop.cli import main
from pneumo_desktop.core.classifier import Classifier
from pneumo_desktop.core.dataset import scan_labelled_folder
from pneumo_desktop.core.errors import DatasetError
from pneumo_desktop.core.model_evaluation import EvaluationResult, collapse_mapping, evaluate_paths, run_evaluation
from pneumo_desktop.core.metrics import format_metrics_table
from pneumo_desktop.core.predict import predict_files
from pneumo_desktop.gui.wizard_jobs import EvalDone, EvalFailed, evaluation_run

MERGED = {"BACTERIA": "PNEUMONIA", "VIRUS": "PNEUMONIA"}
SAME_COUNTS = ("n", "n_refused", "counts", "confusion_matrix", "refused_per_class", "threshold")
SAME_FIGURES = ("accuracy", "precision", "recall", "specificity", "f1", "auc", "ece")


@pytest.fixture
def fp32(monkeypatch):
    """float32 inference for the classifiers built in a test (bf16 rounding could make the two
    models' probabilities differ in the last digits)."""
    monkeypatch.setenv("PNEUMO_DESKTOP_PRECISION", "fp32")


def two_class(tiny_classifier) -> Classifier:
    return Classifier.from_parts(tiny_classifier.tensors(), copy.deepcopy(tiny_classifier.metadata))


def three_class(tiny_classifier, bacteria_share: float = 0.7) -> Classifier:
    """BACTERIA / NORMAL / VIRUS twin of the tiny model (see the module docstring)."""
    assert tiny_classifier.classes == ["NORMAL", "PNEUMONIA"]
    t = tiny_classifier.temperature
    tensors = {k: v.clone() for k, v in tiny_classifier.tensors().items()}
    for key in [k for k in tensors if k.startswith("member") and k.endswith(".head.weight")]:
        bias_key = key[: -len("weight")] + "bias"
        w, b = tensors[key], tensors[bias_key]
        tensors[key] = torch.stack([w[1], w[0], w[1]])
        tensors[bias_key] = torch.stack([b[1] + t * math.log(bacteria_share), b[0],
                                         b[1] + t * math.log(1.0 - bacteria_share)])
    metadata = copy.deepcopy(tiny_classifier.metadata)
    metadata["classes"] = ["BACTERIA", "NORMAL", "VIRUS"]
    metadata["normal_class"] = "NORMAL"
    return Classifier.from_parts(tensors, metadata)


@pytest.fixture(scope="module")
def named_folder(tmp_path_factory, synth):
    """NORMAL / PNEUMONIA, every pneumonia file named ``personN_bacteria_M`` / ``_virus_``."""
    return synth.build_folder(tmp_path_factory.mktemp("named") / "data", per_class=8, seed0=91_000)


@pytest.fixture(scope="module")
def plain_folder(tmp_path_factory, synth, named_folder):
    """The same images, the pneumonia files renamed so that nothing tells the subtype."""
    root = synth.copy_folder(named_folder, tmp_path_factory.mktemp("plain") / "data")
    for i, path in enumerate(sorted((root / "PNEUMONIA").iterdir())):
        path.rename(path.with_name(f"case-{i:03d}.png"))
    return root


def assert_same_report(merged: dict, reference: dict) -> None:
    for key in SAME_COUNTS:
        assert merged[key] == reference[key], key
    for key in SAME_FIGURES:
        assert merged[key] == pytest.approx(reference[key], abs=1e-6), key


# ----- the rule -----------------------------------------------------------------------------------
def test_collapse_mapping_rule():
    subtype = ["BACTERIA", "NORMAL", "VIRUS"]
    assert collapse_mapping(subtype, "NORMAL", {"NORMAL", "PNEUMONIA"}) == MERGED
    # General: any normal class plus two or more abnormal classes, onto one other label.
    assert collapse_mapping(["healthy", "covid", "tb", "other"], "healthy", ["healthy", "sick", "sick"]) == \
        {"covid": "sick", "tb": "sick", "other": "sick"}
    # Not mapped: a subset of the model's own classes, two other labels, no normal images,
    # a model with a single abnormal class.
    assert collapse_mapping(subtype, "NORMAL", {"NORMAL", "VIRUS"}) is None
    assert collapse_mapping(subtype, "NORMAL", {"NORMAL", "PNEUMONIA", "COVID"}) is None
    assert collapse_mapping(subtype, "NORMAL", {"PNEUMONIA"}) is None
    assert collapse_mapping(["NORMAL", "PNEUMONIA"], "NORMAL", {"NORMAL", "SICK"}) is None


# ----- core/model_evaluation.py ---------------------------------------------------------------------------
@pytest.mark.parametrize("bacteria_share", [0.7, 0.3], ids=["answers-bacteria", "answers-virus"])
def test_three_class_model_on_unnamed_folder_is_a_two_class_report(tiny_classifier, plain_folder, fp32,
                                                                    bacteria_share):
    reference = run_evaluation(two_class(tiny_classifier), plain_folder)
    model = three_class(tiny_classifier, bacteria_share)
    answers = {r.label for r in predict_files(model, reference.paths) if r.status == "ok"}
    assert answers - {"NORMAL"} == {"BACTERIA" if bacteria_share > 0.5 else "VIRUS"}, "the control is not split"
    result = run_evaluation(model, plain_folder)
    report = result.report
    assert report["classes"] == ["NORMAL", "PNEUMONIA"] and report["normal_index"] == 0
    assert report["class_mapping"] == MERGED
    assert set(report["per_class_recall"]) == {"NORMAL", "PNEUMONIA"}
    assert report["counts"]["tp"] + report["counts"]["fn"] == 8
    assert_same_report(report, reference.report)
    np.testing.assert_allclose(result.prob_abnormal, reference.prob_abnormal, atol=1e-6)
    assert np.array_equal(result.true_index, reference.true_index)
    assert np.array_equal(result.pred_index, reference.pred_index)
    json.dumps(report)
    text = format_metrics_table(report)
    assert "Classes merged: the model's BACTERIA and VIRUS answers count as PNEUMONIA" in text.splitlines()[-1]
    assert "Classes merged" not in format_metrics_table(reference.report)


def test_a_threshold_applies_to_the_merged_decision(tiny_classifier, plain_folder, fp32):
    """At a threshold that makes mistakes, the merged report still equals the two-class one."""
    model = three_class(tiny_classifier)
    probs = run_evaluation(model, plain_folder).prob_abnormal
    scored = np.sort(probs[np.isfinite(probs)])
    t = float((scored[11] + scored[12]) / 2)  # 4 of the 16 called abnormal: at least 4 pneumonias missed
    report = run_evaluation(model, plain_folder, threshold=t).report
    assert report["threshold"] == t
    assert report["counts"]["tp"] + report["counts"]["fp"] == int((scored >= t).sum()) == 4
    assert report["counts"]["fn"] >= 4
    assert_same_report(report, run_evaluation(two_class(tiny_classifier), plain_folder, threshold=t).report)


def test_named_folder_keeps_the_three_class_evaluation(tiny_classifier, named_folder, fp32):
    model = three_class(tiny_classifier)
    report = run_evaluation(model, named_folder).report
    assert report["classes"] == ["BACTERIA", "NORMAL", "VIRUS"] and "class_mapping" not in report
    # Exactly what reading the folder with the subtype scheme gives (today's behaviour).
    table = scan_labelled_folder(named_folder, class_scheme="subtype", split="eval")
    assert set(table["label"]) == {"BACTERIA", "NORMAL", "VIRUS"}
    expected = list(evaluate_paths(model, table["path"].tolist(), table["label"].tolist()))[-1].report
    assert report == expected


def test_one_unnamed_file_makes_it_two_classes(tiny_classifier, named_folder, synth, tmp_path, fp32):
    folder = synth.copy_folder(named_folder, tmp_path / "mixed")
    first = sorted((folder / "PNEUMONIA").iterdir())[0]
    first.rename(first.with_name("scan-0001.png"))
    report = run_evaluation(three_class(tiny_classifier), folder).report
    assert report["classes"] == ["NORMAL", "PNEUMONIA"] and report["class_mapping"] == MERGED
    assert report["n"] == 16


def test_unmappable_labels_still_refused(tiny_classifier, fp32):
    with pytest.raises(DatasetError, match="COVID"):
        list(evaluate_paths(three_class(tiny_classifier), ["a.png", "b.png", "c.png"],
                            ["NORMAL", "PNEUMONIA", "COVID"]))


# ----- the CLI ------------------------------------------------------------------------------------
def test_cli_evaluate_and_record_with_the_three_class_model(tiny_classifier, plain_folder, tmp_path, capsys, fp32):
    path = tmp_path / "three.pneumo"
    three_class(tiny_classifier).save(path)
    assert main(["evaluate", str(plain_folder), "--model", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "cannot tell" not in err
    assert "Classes merged: the model's BACTERIA and VIRUS answers count as PNEUMONIA" in out
    assert "Recall of PNEUMONIA" in out and "Recall of BACTERIA" not in out
    assert main(["evaluate", str(plain_folder), "--model", str(path), "--json", "--record"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["class_mapping"] == MERGED
    stored = Classifier.load(path).metadata["test_metrics"]
    assert stored["class_mapping"] == MERGED and stored["classes"] == ["NORMAL", "PNEUMONIA"]
    assert stored["n"] == 16 and "data_dir" not in stored


# ----- the training wizard's comparison -------------------------------------------------------------
def _results(events) -> dict[str, EvaluationResult]:
    assert not [e for e in events if isinstance(e, EvalFailed)], [e.message for e in events
                                                                 if isinstance(e, EvalFailed)]
    return {e.which: e.result for e in events if isinstance(e, EvalDone)}


@pytest.mark.parametrize("folder", ["plain", "named"])
def test_wizard_compares_a_two_class_model_with_a_three_class_active_one_on_a_test_folder(
        tiny_classifier, plain_folder, named_folder, fp32, folder):
    data = plain_folder if folder == "plain" else named_folder
    new, active = two_class(tiny_classifier), three_class(tiny_classifier)
    results = _results(list(evaluation_run(new, active, data, None, None, n_bootstrap=50)))
    assert set(results) == {"new", "active"}
    # Even where the names tell the subtype, the active model answers the new model's question.
    assert results["active"].report["classes"] == results["new"].report["classes"] == ["NORMAL", "PNEUMONIA"]
    assert results["active"].report["class_mapping"] == MERGED and "class_mapping" not in results["new"].report
    assert_same_report(results["active"].report, results["new"].report)


def test_wizard_compares_on_the_validation_split(tiny_classifier, plain_folder, fp32):
    table = scan_labelled_folder(plain_folder)
    val = pd.concat([table.assign(split="val"), table.iloc[:2].assign(split="train")], ignore_index=True)
    results = _results(list(evaluation_run(two_class(tiny_classifier), three_class(tiny_classifier),
                                           None, val, None, n_bootstrap=50)))
    assert results["active"].report["n"] == results["new"].report["n"] == 16
    assert results["active"].report["class_mapping"] == MERGED
    assert_same_report(results["active"].report, results["new"].report)
