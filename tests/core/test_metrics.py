"""Tests of pneumo_desktop.core.metrics against hand-computed values."""

import json
import math

import numpy as np
import pytest

from pneumo_desktop.core.metrics import (
    choose_threshold,
    evaluate_arrays,
    fit_temperature,
    format_metrics_table,
    rank_auc,
    sensitivity_specificity_at,
    wilson_interval,
)

CLASSES2 = ["NORMAL", "PNEUMONIA"]


def _binary_report(true, pred, prob=None, threshold=0.5, n_bootstrap=0, **kw):
    true = np.asarray(true, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    if prob is None:
        prob = np.where(pred == -1, np.nan, pred.astype(np.float64) * 0.8 + 0.1)
    return evaluate_arrays(
        true, pred, np.asarray(prob, dtype=np.float64), CLASSES2, threshold,
        n_bootstrap=n_bootstrap, **kw,
    )


# ------------------------------------------------------------------ hand-made binary example


def test_hand_computed_binary_metrics():
    # 10 images. Truth: 4 abnormal (1), 6 normal (0).
    true = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    pred = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0]
    # By hand: TP = 3 (idx 0-2), FN = 1 (idx 3), FP = 1 (idx 4), TN = 5 (idx 5-9).
    r = _binary_report(true, pred)
    assert r["counts"] == {"tp": 3, "fp": 1, "tn": 5, "fn": 1}
    assert r["accuracy"] == pytest.approx(8 / 10)
    assert r["precision"] == pytest.approx(3 / 4)
    assert r["recall"] == pytest.approx(3 / 4)
    assert r["specificity"] == pytest.approx(5 / 6)
    assert r["f1"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    assert r["n"] == 10 and r["n_refused"] == 0
    assert r["confusion_matrix"] == [[5, 1], [1, 3]]
    assert r["per_class_recall"] == {"NORMAL": pytest.approx(5 / 6), "PNEUMONIA": pytest.approx(3 / 4)}
    # Wilson CIs are exactly those of the underlying counts.
    assert r["ci"]["accuracy"] == pytest.approx(list(wilson_interval(8, 10)))
    assert r["ci"]["specificity"] == pytest.approx(list(wilson_interval(5, 6)))


def test_precision_undefined_is_none_not_nan():
    # Nothing predicted abnormal: precision has a zero denominator.
    r = _binary_report([1, 0, 0], [0, 0, 0])
    assert r["precision"] is None and r["ci"]["precision"] is None
    assert r["recall"] == 0.0 and r["f1"] == 0.0
    json.dumps(r, allow_nan=False)


# ------------------------------------------------------------------ AUC


def test_auc_perfect_separation_is_one():
    true = np.array([0, 0, 0, 1, 1, 1])
    prob = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    r = _binary_report(true, (prob >= 0.5).astype(int), prob, n_bootstrap=50)
    assert r["auc"] == pytest.approx(1.0)
    assert r["ci"]["auc"] == pytest.approx([1.0, 1.0])
    assert r["roc"]["fpr"][0] == 0.0 and r["roc"]["tpr"][-1] == 1.0


def test_auc_all_ties_is_half():
    true = np.array([0, 1, 0, 1, 0, 1])
    prob = np.full(6, 0.5)
    r = _binary_report(true, np.ones(6, int), prob)
    assert r["auc"] == pytest.approx(0.5)


def test_rank_auc_matches_pair_counting_and_torchmetrics_with_ties():
    import torch
    from torchmetrics.functional.classification import binary_auroc

    rng = np.random.default_rng(7)
    # Scores rounded to 1 decimal: many ties, within and across the classes.
    score = np.round(rng.random(300), 1)
    positive = rng.random(300) < 0.4
    pos, neg = score[positive], score[~positive]
    by_pairs = ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (pos.size * neg.size)
    assert rank_auc(score, positive) == pytest.approx(by_pairs, abs=1e-12)
    assert rank_auc(score, positive) == pytest.approx(
        float(binary_auroc(torch.as_tensor(score), torch.as_tensor(positive.astype(np.int64)))), abs=1e-6)
    assert rank_auc(-score, positive) == pytest.approx(1 - by_pairs, abs=1e-12)


def test_rank_auc_none_for_one_class_and_refuses_mismatched_lengths():
    assert rank_auc(np.array([0.2, 0.9]), np.array([True, True])) is None
    assert rank_auc(np.array([0.2, 0.9]), np.array([False, False])) is None
    with pytest.raises(ValueError, match="3 values"):
        rank_auc(np.array([0.1, 0.2, 0.3]), np.array([True, False]))


def test_auc_none_when_one_class():
    r = _binary_report([1, 1, 1], [1, 1, 0], [0.9, 0.8, 0.2], n_bootstrap=20)
    assert r["auc"] is None and r["ci"]["auc"] is None
    assert r["roc"] == {"fpr": [], "tpr": [], "thresholds": []}
    assert r["specificity"] is None


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize("would_be_right", [True, False])
def test_refusal_never_raises_accuracy(would_be_right):
    true = [1, 1, 0, 0]
    # Image 3 (normal): the answered version predicts either right (0) or wrong (1).
    answered_pred = [1, 0, 0, 0 if would_be_right else 1]
    refused_pred = [1, 0, 0, -1]
    answered = _binary_report(true, answered_pred)
    refused = _binary_report(true, refused_pred)
    assert refused["n_refused"] == 1 and refused["n"] == 4
    # Refused counts as wrong: 2 of 4 correct.
    assert refused["accuracy"] == pytest.approx(2 / 4)
    assert answered["accuracy"] == pytest.approx(3 / 4 if would_be_right else 2 / 4)
    assert refused["accuracy"] <= answered["accuracy"]
    if would_be_right:
        assert refused["accuracy"] < answered["accuracy"]
    # A refused normal image is a false positive; the specificity drops to 1/2.
    assert refused["counts"] == {"tp": 1, "fp": 1, "tn": 1, "fn": 1}
    assert refused["refused_per_class"] == [1, 0]
    # Confusion matrix only holds answered images.
    assert sum(map(sum, refused["confusion_matrix"])) == 3


def test_refused_abnormal_is_false_negative():
    r = _binary_report([1, 1, 0], [1, -1, 0])
    assert r["counts"] == {"tp": 1, "fp": 0, "tn": 1, "fn": 1}
    assert r["recall"] == pytest.approx(0.5)
    assert r["per_class_recall"]["PNEUMONIA"] == pytest.approx(0.5)


# ------------------------------------------------------------------ intervals


def test_wilson_known_value():
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.490, abs=1e-3)
    assert hi == pytest.approx(0.943, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    lo0, hi0 = wilson_interval(0, 20)
    assert lo0 == 0.0 and 0.0 < hi0 < 0.2


def test_ci_contains_point_estimate():
    rng = np.random.default_rng(1)
    n = 200
    true = rng.integers(0, 2, n)
    prob = np.clip(0.3 + 0.4 * true + rng.normal(0, 0.2, n), 0, 1)
    pred = (prob >= 0.5).astype(np.int64)
    r = _binary_report(true, pred, prob, n_bootstrap=200, seed=3)
    for name in ("accuracy", "precision", "recall", "specificity", "f1", "auc"):
        lo, hi = r["ci"][name]
        assert lo <= r[name] <= hi, name
        assert 0.0 <= lo < hi <= 1.0
    # Seeded: same inputs, same seed -> same bootstrap interval.
    r2 = _binary_report(true, pred, prob, n_bootstrap=200, seed=3)
    assert r2["ci"] == r["ci"]


# ------------------------------------------------------------------ threshold


def test_choose_threshold_toy():
    # Abnormal scores: 0.9 0.8 0.7 0.4 ; normal scores: 0.1 0.3 0.5 0.6
    is_abn = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    prob = np.array([0.9, 0.8, 0.7, 0.4, 0.1, 0.3, 0.5, 0.6])
    # 75 % sensitivity: 3 of 4 must be caught -> s_k = 0.7, next lower score 0.6 -> 0.65.
    t = choose_threshold(is_abn, prob, min_sensitivity=0.75)
    assert t == pytest.approx(0.65)
    sens, spec = sensitivity_specificity_at(is_abn, prob, t)
    assert sens >= 0.75 and spec == pytest.approx(1.0)
    # 100 %: all 4 -> s_k = 0.4, next lower 0.3 -> 0.35; spec 2/4.
    t = choose_threshold(is_abn, prob, min_sensitivity=1.0)
    assert t == pytest.approx(0.35)
    assert sensitivity_specificity_at(is_abn, prob, t) == pytest.approx((1.0, 0.5))
    # Best specificity: no threshold that meets the constraint beats it (brute force).
    grid = np.linspace(0, 1, 1001)
    best = max(
        sensitivity_specificity_at(is_abn, prob, g)[1]
        for g in grid
        if sensitivity_specificity_at(is_abn, prob, g)[0] >= 1.0
    )
    assert sensitivity_specificity_at(is_abn, prob, t)[1] == pytest.approx(best)


def test_choose_threshold_random_meets_constraint_and_clips():
    rng = np.random.default_rng(5)
    is_abn = rng.integers(0, 2, 300).astype(bool)
    prob = np.clip(0.35 + 0.3 * is_abn + rng.normal(0, 0.15, 300), 0, 1)
    t = choose_threshold(is_abn, prob, 0.95)
    sens, _ = sensitivity_specificity_at(is_abn, prob, t)
    assert sens >= 0.95
    # Raising the threshold past the next score would break the constraint.
    above = np.sort(prob[prob > t])[0]
    assert sensitivity_specificity_at(is_abn, prob, above + 1e-12)[0] < 0.95
    # Midpoint of 0.999 and 0.1 is 0.5495; a midpoint above 0.99 is clipped to 0.99.
    assert choose_threshold([1, 0], [0.999, 0.1], 1.0) == pytest.approx(0.5495)
    assert choose_threshold([1, 0], [0.9995, 0.999], 1.0) == 0.99


def test_sensitivity_specificity_refused_counts_as_wrong():
    is_abn = np.array([1, 1, 0, 0], bool)
    prob = np.array([0.9, np.nan, 0.1, np.nan])
    assert sensitivity_specificity_at(is_abn, prob, 0.5) == (0.5, 0.5)


# ------------------------------------------------------------------ temperature & calibration


def test_fit_temperature_recovers_two():
    rng = np.random.default_rng(0)
    n, k, true_t = 5000, 3, 2.0
    logits = rng.normal(0.0, 4.0, size=(n, k))
    p = np.exp(logits / true_t)
    p /= p.sum(axis=1, keepdims=True)
    # Inverse-CDF sampling of one label per row from softmax(z / 2).
    labels = (rng.random((n, 1)) > np.cumsum(p, axis=1)).sum(axis=1)
    t = fit_temperature(logits, labels)
    assert abs(t - true_t) < 0.3
    assert fit_temperature(logits, labels) == t  # deterministic


def test_ece_calibrated_small_overconfident_large():
    rng = np.random.default_rng(2)
    n = 20000
    p = rng.random(n)
    y = (rng.random(n) < p).astype(np.int64)
    pred = (p >= 0.5).astype(np.int64)
    calibrated = _binary_report(y, pred, p)
    assert calibrated["ece"] < 0.03
    # Overconfident: push the same probabilities towards 0/1 (logit x 4).
    logit = np.log(p / (1 - p))
    over = 1 / (1 + np.exp(-4 * logit))
    overconfident = _binary_report(y, pred, over)
    assert overconfident["ece"] > 0.1
    rel = calibrated["reliability"]
    assert len(rel["count"]) == 10 and sum(rel["count"]) == n
    assert rel["bin_lower"][0] == 0.0 and rel["bin_upper"][-1] == 1.0
    for mp, of in zip(rel["mean_predicted"], rel["observed_frequency"]):
        assert abs(mp - of) < 0.05


def test_reliability_hand_computed():
    prob = np.array([0.05, 0.15, 0.12, 1.0])
    true = np.array([0, 1, 0, 1])
    r = _binary_report(true, (prob >= 0.5).astype(int), prob)
    rel = r["reliability"]
    assert rel["count"] == [1, 2, 0, 0, 0, 0, 0, 0, 0, 1]
    assert rel["mean_predicted"][1] == pytest.approx(0.135)
    assert rel["observed_frequency"][1] == pytest.approx(0.5)
    assert rel["mean_predicted"][2] is None


# ------------------------------------------------------------------ multi-class & output


def test_three_class_confusion_matrix():
    classes = ["normal", "bacterial", "viral"]
    true = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2], dtype=np.int64)
    pred = np.array([0, 0, 1, 1, 1, 2, -1, 2, 2, 0], dtype=np.int64)
    prob = np.array([0.1, 0.2, 0.7, 0.8, 0.9, 0.6, np.nan, 0.9, 0.7, 0.3])
    r = evaluate_arrays(true, pred, prob, classes, threshold=0.5, n_bootstrap=30)
    assert r["confusion_matrix"] == [
        [2, 1, 0],
        [0, 2, 1],
        [1, 0, 2],
    ]
    assert r["refused_per_class"] == [0, 1, 0]
    # Multi-class accuracy: 6 correct of 10 (the refused one is wrong).
    assert r["accuracy"] == pytest.approx(0.6)
    assert r["per_class_recall"] == {
        "normal": pytest.approx(2 / 3),
        "bacterial": pytest.approx(2 / 4),
        "viral": pytest.approx(2 / 3),
    }
    # Binary abnormal-vs-normal: bacterial predicted viral still counts as a true positive.
    # Abnormal truth idx 3-9: TP = 3,4,5,7,8 ; FN = 6 (refused), 9 (called normal).
    # Normal truth idx 0-2: TN = 0,1 ; FP = 2.
    assert r["counts"] == {"tp": 5, "fp": 1, "tn": 2, "fn": 2}
    assert r["classes"] == classes


def test_report_is_json_serialisable_and_table():
    rng = np.random.default_rng(4)
    true = rng.integers(0, 2, 60)
    prob = np.clip(0.3 + 0.4 * true + rng.normal(0, 0.2, 60), 0, 1)
    pred = (prob >= 0.5).astype(np.int64)
    pred[:3] = -1
    prob[:3] = np.nan
    r = _binary_report(true, pred, prob, n_bootstrap=50)
    text = json.dumps(r, allow_nan=False)
    assert json.loads(text)["n"] == 60
    table = format_metrics_table(r)
    for label in ("Accuracy", "Sensitivity", "Specificity", "Precision", "F1", "ROC AUC", "ECE"):
        assert table.count(label) == 1
    assert "[" in table and "nan" not in table.lower()


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        evaluate_arrays(np.array([0, 1]), np.array([0]), np.array([0.1, 0.9]), CLASSES2, 0.5)
    with pytest.raises(ValueError):  # answered image without a probability
        evaluate_arrays(np.array([0, 1]), np.array([0, 1]), np.array([0.1, np.nan]), CLASSES2, 0.5)
    with pytest.raises(ValueError):
        choose_threshold(np.array([0, 0]), np.array([0.1, 0.2]))
    assert math.isnan(sensitivity_specificity_at(np.array([0]), np.array([0.2]), 0.5)[0])
