"""Evaluation of a classifier's predictions: metrics, confidence intervals, ROC, calibration.

Everything here works on plain numpy arrays so that the trainer, the CLI and the GUI can share
it. The point metrics come from ``torchmetrics`` (a well-kept, well-tested library); this module
only decides *what* is fed to it (how refused images count, which images enter which metric)
and turns the result into a JSON-serialisable report.

Conventions used throughout
---------------------------
* The binary decision is "abnormal" (any class other than ``classes[normal_index]``) versus
  "normal". Abnormal is the positive class, so ``recall`` is the sensitivity.
* An image the model refused (``pred_index == -1``: unsupported input, read error, ...) always
  counts as *wrong*: a refused abnormal image is a false negative, a refused normal image a false
  positive, and for multi-class accuracy it never matches the truth. Refusing can therefore
  never make a model look better than answering.
* Score-based quantities (AUC, ROC, ECE, reliability) need a probability, so they are computed
  over the non-refused images only; ``n_refused`` is reported next to them.
* A metric whose denominator is zero (e.g. precision when nothing was predicted abnormal) is
  ``None`` in the report, never NaN and never a made-up 0.0; its CI is ``None`` too.

torch / torchmetrics are imported inside the functions that need them so that importing this
module (e.g. by the GUI at start-up) stays cheap.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = [
    "wilson_interval",
    "rank_auc",
    "evaluate_arrays",
    "choose_threshold",
    "fit_temperature",
    "sensitivity_specificity_at",
    "format_metrics_table",
]

# Bounds shared by choose_threshold and fit_temperature (documented in their docstrings).
_THRESHOLD_MIN = 0.01
_THRESHOLD_MAX = 0.99
_T_MIN = 0.05
_T_MAX = 20.0

_ECE_BINS = 15  # torchmetrics' default; the usual choice in the calibration literature
_RELIABILITY_BINS = 10  # coarser on purpose: a reliability plot needs enough images per bin


# --------------------------------------------------------------------------------------------
# Rank AUC (cheap enough for every epoch and every stress change)
# --------------------------------------------------------------------------------------------


def rank_auc(score: np.ndarray, positive: np.ndarray) -> float | None:
    """ROC AUC as the Mann-Whitney statistic: the chance that a random positive scores above a
    random negative, ties counting one half.

    Args:
        score: float array (N,), any range; higher means more likely positive.
        positive: bool array (N,), True for the positive (abnormal) class.
    Returns:
        AUC in [0, 1], or None when either class is absent.
    """
    score = np.asarray(score, dtype=np.float64).reshape(-1)
    positive = np.asarray(positive, dtype=bool).reshape(-1)
    if score.shape != positive.shape:
        raise ValueError(f"score has {score.size} values but positive has {positive.size}")
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    # Tied scores share the mean of the 1-based ranks they span.
    _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    mean_rank = (ends - counts + 1 + ends) / 2.0
    ranks = mean_rank[inverse]
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


# --------------------------------------------------------------------------------------------
# Confidence interval for a proportion
# --------------------------------------------------------------------------------------------


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``successes / total``.

    Args:
        successes: number of successes, ``0 <= successes <= total``.
        total: number of trials, ``>= 0``.
        z: standard-normal quantile; 1.96 gives a 95 % interval.

    Returns:
        ``(low, high)`` with ``0 <= low <= high <= 1``. With ``total == 0`` nothing is known and
        the uninformative interval ``(0.0, 1.0)`` is returned.

    Wilson rather than the normal ("Wald") interval because it stays inside [0, 1] and keeps
    its coverage for small counts and proportions near 0 or 1, which is typical here
    (sensitivity ~0.95 on a few hundred images).
    """
    successes = int(successes)
    total = int(total)
    if total < 0 or successes < 0 or successes > total:
        raise ValueError(f"need 0 <= successes <= total, got {successes}/{total}")
    if total == 0:
        return (0.0, 1.0)
    p = successes / total
    z2 = z * z
    denom = 1.0 + z2 / total
    centre = (p + z2 / (2.0 * total)) / denom
    half = (z / denom) * math.sqrt(p * (1.0 - p) / total + z2 / (4.0 * total * total))
    # Clamp against rounding just outside [0, 1] at p = 0 or p = 1.
    return (max(0.0, centre - half), min(1.0, centre + half))


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _ratio_or_none(num: int, den: int) -> float | None:
    return float(num) / float(den) if den > 0 else None


def _wilson_or_none(num: int, den: int) -> list[float] | None:
    if den <= 0:
        return None
    lo, hi = wilson_interval(num, den)
    return [float(lo), float(hi)]


def _percentile_ci(replicates: list[float]) -> list[float] | None:
    """Percentile bootstrap 95 % interval, or None when no replicate was usable."""
    if not replicates:
        return None
    lo, hi = np.percentile(np.asarray(replicates, dtype=np.float64), [2.5, 97.5])
    return [float(lo), float(hi)]


def _as_1d(name: str, a, dtype) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr.astype(dtype, copy=False)


def _reliability(prob: np.ndarray, truth: np.ndarray, n_bins: int) -> dict:
    """Reliability-diagram data over ``n_bins`` equal-width bins of [0, 1].

    Bin i holds ``lower_i <= p < upper_i``; the last bin also holds p == 1. Empty bins keep
    their place (count 0, mean/frequency None) so a plot has a fixed x-axis.
    """
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # floor(p * n_bins) puts p in its bin; min() sends p == 1.0 into the last bin.
    idx = np.minimum((prob * n_bins).astype(np.int64), n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=prob, minlength=n_bins)
    sum_y = np.bincount(idx, weights=truth.astype(np.float64), minlength=n_bins)
    mean_p: list[float | None] = []
    freq: list[float | None] = []
    for c, sp, sy in zip(count, sum_p, sum_y):
        mean_p.append(float(sp / c) if c else None)
        freq.append(float(sy / c) if c else None)
    return {
        "bin_lower": [float(x) for x in edges[:-1]],
        "bin_upper": [float(x) for x in edges[1:]],
        "mean_predicted": mean_p,
        "observed_frequency": freq,
        "count": [int(c) for c in count],
    }


# --------------------------------------------------------------------------------------------
# Main entry point
# --------------------------------------------------------------------------------------------


def evaluate_arrays(
    true_index: np.ndarray,
    pred_index: np.ndarray,
    prob_abnormal: np.ndarray,
    classes: list[str],
    threshold: float,
    normal_index: int = 0,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict:
    """Evaluate predictions against the truth and return a JSON-serialisable report.

    Args:
        true_index: int64 ``(N,)``, true class index of each image, in ``0..K-1``.
        pred_index: int64 ``(N,)``, predicted class index in ``0..K-1``, or ``-1`` where the
            model refused the image (unsupported input, read error).
        prob_abnormal: float64 ``(N,)``, P(not normal) in ``[0, 1]``; NaN (or anything) where
            refused -- the value of a refused image is ignored. A non-refused image must have a
            finite probability.
        classes: the ``K >= 2`` class names; ``classes[normal_index]`` is the normal class.
        threshold: the operating threshold that produced ``pred_index`` for a binary model;
            only reported back.
        normal_index: index of the normal class.
        n_bootstrap: bootstrap replicates for the F1 and AUC intervals (``0`` skips them: their
            CI is then None).
        seed: seed of the bootstrap's random generator (same inputs + seed -> same report).

    Returns:
        A dict of plain Python ints/floats/lists/None (``json.dumps`` works) with keys

        * ``n`` (all images, refused included), ``n_refused``;
        * ``accuracy``: multi-class, fraction with ``pred == true``; refused counts as wrong;
        * ``precision``, ``recall`` (= sensitivity), ``specificity``, ``f1``: abnormal-vs-normal
          decision taken from ``pred_index`` (``pred != normal_index`` => abnormal), over all N,
          refused counted as wrong (refused abnormal = FN, refused normal = FP);
        * ``counts``: ``{"tp", "fp", "tn", "fn"}`` behind those four;
        * ``auc``: ROC AUC of ``prob_abnormal`` for abnormal-vs-normal over non-refused images;
        * ``roc``: ``{"fpr", "tpr", "thresholds"}`` (thresholds decreasing, the first being 1.0
          so the curve starts at (0, 0)); empty lists where the AUC is undefined;
        * ``confusion_matrix``: K x K counts, rows = true, columns = predicted, over non-refused
          images; ``refused_per_class``: K counts of refused images by true class;
        * ``per_class_recall``: class name -> recall of that class (refused = missed);
        * ``ece``: expected calibration error (15 equal-width bins, L1) of ``prob_abnormal``
          against the abnormal truth, over non-refused images;
        * ``reliability``: 10 equal-width bins, ``{"bin_lower", "bin_upper", "mean_predicted",
          "observed_frequency", "count"}``;
        * ``ci``: metric name -> ``[low, high]`` 95 %: Wilson for accuracy, precision, recall,
          specificity; seeded percentile bootstrap for f1 and auc;
        * ``classes``, ``threshold``, ``normal_index``.

        Undefined values (zero denominator, a single class present, no usable image) are
        ``None``, and so is their CI.
    """
    ev = _Evaluation.checked(true_index, pred_index, prob_abnormal, classes, normal_index, n_bootstrap)
    decisions = _decision_metrics(ev)
    confusion, refused_per_class = _confusion(ev)
    scores = _score_metrics(ev)
    f1_ci, auc_ci = _bootstrap_intervals(ev, decisions["f1"] is not None, scores["auc"] is not None,
                                         n_bootstrap, seed)
    counts = decisions["counts"]
    tp, fp, tn, fn = counts["tp"], counts["fp"], counts["tn"], counts["fn"]
    ci = {
        "accuracy": _wilson_or_none(decisions.pop("n_correct"), ev.n),
        "precision": _wilson_or_none(tp, tp + fp),
        "recall": _wilson_or_none(tp, tp + fn),
        "specificity": _wilson_or_none(tn, tn + fp),
        "f1": f1_ci,
        "auc": auc_ci,
    }
    return {
        "n": ev.n,
        "n_refused": int(ev.refused.sum()),
        **decisions,
        "auc": scores["auc"],
        "confusion_matrix": confusion,
        "refused_per_class": refused_per_class,
        "classes": ev.classes,
        "normal_index": int(normal_index),
        "threshold": float(threshold),
        "ci": ci,
        "roc": scores["roc"],
        "ece": scores["ece"],
        "reliability": scores["reliability"],
        "per_class_recall": _per_class_recall(ev),
    }


@dataclass
class _Evaluation:
    """``evaluate_arrays``' inputs, checked, with refused images turned into wrong answers.

    y_true, y_pred: int64 (N,); prob: float64 (N,); refused, answered: bool (N,). pred_mc: int64
    (N,) multi-class predictions where a refused image gets ``(true + 1) mod K``, a valid class that
    differs from the truth. truth_bin, pred_bin: int64 (N,) abnormal (1) vs normal (0), a refused
    image predicted the opposite of its truth (abnormal -> FN, normal -> FP). p_ans, y_ans: the
    probability and binary truth of the answered images only.
    """

    classes: list[str]
    normal_index: int
    y_true: np.ndarray
    y_pred: np.ndarray
    prob: np.ndarray
    refused: np.ndarray
    answered: np.ndarray
    pred_mc: np.ndarray
    truth_bin: np.ndarray
    pred_bin: np.ndarray
    p_ans: np.ndarray
    y_ans: np.ndarray

    @property
    def n(self) -> int:
        return int(self.y_true.shape[0])

    @property
    def k(self) -> int:
        return len(self.classes)

    @classmethod
    def checked(cls, true_index, pred_index, prob_abnormal, classes, normal_index: int,
                n_bootstrap: int) -> _Evaluation:
        """Check the inputs (ValueError with what is wrong) and derive the arrays."""
        classes = [str(c) for c in classes]
        k = len(classes)
        if k < 2:
            raise ValueError(f"need at least 2 classes, got {k}")
        if not 0 <= normal_index < k:
            raise ValueError(f"normal_index {normal_index} out of range for {k} classes")
        y_true = _as_1d("true_index", true_index, np.int64)
        y_pred = _as_1d("pred_index", pred_index, np.int64)
        prob = _as_1d("prob_abnormal", prob_abnormal, np.float64)
        n = int(y_true.shape[0])
        if y_pred.shape[0] != n or prob.shape[0] != n:
            raise ValueError(
                f"length mismatch: true {n}, pred {y_pred.shape[0]}, prob {prob.shape[0]}"
            )
        if n == 0:
            raise ValueError("nothing to evaluate: no images")
        if y_true.min() < 0 or y_true.max() >= k:
            raise ValueError(f"true_index must lie in 0..{k - 1}")
        if y_pred.min() < -1 or y_pred.max() >= k:
            raise ValueError(f"pred_index must lie in -1..{k - 1}")
        if n_bootstrap < 0:
            raise ValueError("n_bootstrap must be >= 0")
        refused = y_pred == -1
        answered = ~refused
        if not np.all(np.isfinite(prob[answered])):
            raise ValueError("prob_abnormal must be finite for every non-refused image")
        if np.any((prob[answered] < 0.0) | (prob[answered] > 1.0)):
            raise ValueError("prob_abnormal must lie in [0, 1]")
        truth_bin = (y_true != normal_index).astype(np.int64)
        return cls(
            classes=classes, normal_index=normal_index, y_true=y_true, y_pred=y_pred, prob=prob,
            refused=refused, answered=answered,
            pred_mc=np.where(refused, (y_true + 1) % k, y_pred),
            truth_bin=truth_bin,
            pred_bin=np.where(refused, 1 - truth_bin, (y_pred != normal_index).astype(np.int64)),
            p_ans=prob[answered], y_ans=truth_bin[answered],
        )


def _decision_metrics(ev: _Evaluation) -> dict:
    """Accuracy (multi-class) and the abnormal-vs-normal decision's precision, recall,
    specificity, F1 and counts, over all N images; also ``n_correct`` for the accuracy's interval."""
    import torch
    from torchmetrics.functional.classification import (
        binary_f1_score, binary_precision, binary_recall, binary_specificity, binary_stat_scores,
        multiclass_accuracy,
    )

    t_pred_bin, t_truth_bin = torch.from_numpy(ev.pred_bin), torch.from_numpy(ev.truth_bin)
    accuracy = float(
        multiclass_accuracy(torch.from_numpy(ev.pred_mc), torch.from_numpy(ev.y_true), num_classes=ev.k,
                            average="micro")
    )
    tp, fp, tn, fn, _support = (
        int(v) for v in binary_stat_scores(t_pred_bin, t_truth_bin).tolist()
    )
    # torchmetrics returns 0.0 on a zero denominator; we report None there instead, so the
    # library value is only taken where the metric is defined.
    return {
        "accuracy": accuracy,
        "precision": float(binary_precision(t_pred_bin, t_truth_bin)) if tp + fp else None,
        "recall": float(binary_recall(t_pred_bin, t_truth_bin)) if tp + fn else None,
        "specificity": float(binary_specificity(t_pred_bin, t_truth_bin)) if tn + fp else None,
        # F1 = 2TP / (2TP + FP + FN) is defined (possibly 0) unless there are no positives at all.
        "f1": float(binary_f1_score(t_pred_bin, t_truth_bin)) if (2 * tp + fp + fn) else None,
        "counts": {"tp": tp, "fp": fp, "tn": tn, "fn": fn},
        "n_correct": int((ev.pred_mc == ev.y_true).sum()),
    }


def _per_class_recall(ev: _Evaluation) -> dict[str, float | None]:
    """Class name -> recall of that class, multi-class, a refused image counted as missed."""
    out: dict[str, float | None] = {}
    for c, name in enumerate(ev.classes):
        members = ev.y_true == c
        out[name] = _ratio_or_none(int((ev.pred_mc[members] == c).sum()), int(members.sum()))
    return out


def _confusion(ev: _Evaluation) -> tuple[list[list[int]], list[int]]:
    """The K x K confusion matrix over answered images (rows true, columns predicted) and the
    refused images per true class."""
    import torch
    from torchmetrics.functional.classification import multiclass_confusion_matrix

    if ev.answered.any():
        cm = multiclass_confusion_matrix(
            torch.from_numpy(ev.y_pred[ev.answered]), torch.from_numpy(ev.y_true[ev.answered]), num_classes=ev.k
        )
        confusion = [[int(v) for v in row] for row in cm.tolist()]
    else:
        confusion = [[0] * ev.k for _ in range(ev.k)]
    return confusion, [int(v) for v in np.bincount(ev.y_true[ev.refused], minlength=ev.k)]


def _score_metrics(ev: _Evaluation) -> dict:
    """The probability-based figures over answered images: ``auc`` and ``roc`` (None and empty
    lists unless both classes are present), ``ece`` and ``reliability``."""
    import torch
    from torchmetrics.functional.classification import binary_auroc, binary_calibration_error, binary_roc

    n_pos = int(ev.y_ans.sum())
    n_neg = int(ev.y_ans.shape[0]) - n_pos
    t_p, t_y = torch.from_numpy(ev.p_ans), torch.from_numpy(ev.y_ans)
    auc: float | None = None
    roc = {"fpr": [], "tpr": [], "thresholds": []}
    if n_pos > 0 and n_neg > 0:
        auc = float(binary_auroc(t_p, t_y))
        fpr, tpr, thr = binary_roc(t_p, t_y)
        roc = {
            "fpr": [float(v) for v in fpr.tolist()],
            "tpr": [float(v) for v in tpr.tolist()],
            "thresholds": [float(v) for v in thr.tolist()],
        }
    ece: float | None = None
    if ev.p_ans.size:
        ece = float(binary_calibration_error(t_p, t_y, n_bins=_ECE_BINS, norm="l1"))
    return {"auc": auc, "roc": roc, "ece": ece, "reliability": _reliability(ev.p_ans, ev.y_ans, _RELIABILITY_BINS)}


def _bootstrap_intervals(ev: _Evaluation, with_f1: bool, with_auc: bool, n_bootstrap: int,
                         seed: int) -> tuple[list[float] | None, list[float] | None]:
    """Seeded percentile-bootstrap 95 % intervals of F1 (over all N) and AUC (over answered
    images); None where the metric is undefined or ``n_bootstrap`` is 0.

    Plain (non-stratified) bootstrap: resample images with replacement. A replicate in which the
    metric is undefined (F1: no positives at all; AUC: one class only) is skipped rather than
    scored, so it cannot drag the interval to an arbitrary value. One generator serves F1's
    replicates, then AUC's.
    """
    import torch
    from torchmetrics.functional.classification import binary_auroc, binary_f1_score

    rng = np.random.default_rng(seed)
    f1_reps: list[float] = []
    auc_reps: list[float] = []
    n = ev.n
    if n_bootstrap > 0 and with_f1:
        for _ in range(n_bootstrap):
            idx = rng.integers(0, n, size=n)
            yb, pb = ev.truth_bin[idx], ev.pred_bin[idx]
            if not (yb.any() or pb.any()):
                continue
            f1_reps.append(
                float(binary_f1_score(torch.from_numpy(pb), torch.from_numpy(yb), validate_args=False))
            )
    if n_bootstrap > 0 and with_auc:
        m = int(ev.p_ans.shape[0])
        for _ in range(n_bootstrap):
            idx = rng.integers(0, m, size=m)
            yb = ev.y_ans[idx]
            npos = int(yb.sum())
            if npos == 0 or npos == m:
                continue
            auc_reps.append(
                float(
                    binary_auroc(
                        torch.from_numpy(ev.p_ans[idx]), torch.from_numpy(yb), validate_args=False
                    )
                )
            )
    return _percentile_ci(f1_reps), _percentile_ci(auc_reps)


# --------------------------------------------------------------------------------------------
# Threshold choice and the slider helper
# --------------------------------------------------------------------------------------------


def choose_threshold(
    is_abnormal: np.ndarray, prob_abnormal: np.ndarray, min_sensitivity: float = 0.95
) -> float:
    """Highest threshold whose sensitivity is at least ``min_sensitivity``.

    Args:
        is_abnormal: bool/int ``(N,)``, truth (1/True = abnormal). Needs at least one abnormal.
        prob_abnormal: float ``(N,)``, P(abnormal) in ``[0, 1]``; NaN marks a refused image,
            which is never detected (a refused abnormal image is a miss at every threshold, a
            refused normal one is ignored by the choice).
        min_sensitivity: required sensitivity in ``(0, 1]``.

    Returns:
        A threshold ``t`` in ``[0.01, 0.99]``; an image is called abnormal when ``prob >= t``.

    Exact rule:
        1. Let P be the number of abnormal images (refused included) and
           ``k = ceil(min_sensitivity * P)`` the number that must be detected.
        2. Let ``s_k`` be the k-th largest score among the non-refused abnormal images. Any
           ``t <= s_k`` detects >= k of them, any ``t > s_k`` fewer; ``s_k`` is thus the highest
           admissible threshold, and since specificity can only fall as ``t`` falls, it gives
           the best specificity under the constraint.
        3. Let ``s_below`` be the largest score of *any* image strictly below ``s_k`` (0.0 if
           none). Every ``t`` in ``(s_below, s_k]`` classifies every image identically, so we
           return the midpoint ``(s_k + s_below) / 2``: same sensitivity and specificity on this
           data but a margin on both sides for new images.
        4. Clip to ``[0.01, 0.99]``. Clipping down to 0.99 only raises sensitivity; clipping up
           to 0.01 can break the constraint only when ``s_k < 0.01``.

        If fewer than k abnormal images have a score at all (too many refused), the constraint
        cannot be met; a warning is issued and the most sensitive threshold, 0.01, is returned.
    """
    truth = _as_1d("is_abnormal", is_abnormal, bool)
    prob = _as_1d("prob_abnormal", prob_abnormal, np.float64)
    if truth.shape != prob.shape:
        raise ValueError(f"length mismatch: {truth.shape[0]} labels, {prob.shape[0]} scores")
    if not 0.0 < min_sensitivity <= 1.0:
        raise ValueError(f"min_sensitivity must be in (0, 1], got {min_sensitivity}")
    n_pos = int(truth.sum())
    if n_pos == 0:
        raise ValueError("cannot choose a threshold for sensitivity without abnormal images")

    # The small tolerance stops e.g. 0.95 * 100 = 95.00000000000001 from demanding 96 images.
    k = max(1, math.ceil(min_sensitivity * n_pos - 1e-9))
    scored = np.isfinite(prob)
    pos_scores = np.sort(prob[truth & scored])[::-1]  # descending
    if pos_scores.size < k:
        warnings.warn(
            f"sensitivity {min_sensitivity:.3f} is unreachable: only {pos_scores.size} of "
            f"{n_pos} abnormal images have a score; using threshold {_THRESHOLD_MIN}",
            RuntimeWarning,
            stacklevel=2,
        )
        return _THRESHOLD_MIN
    s_k = float(pos_scores[k - 1])
    all_scores = prob[scored]
    lower = all_scores[all_scores < s_k]
    s_below = float(lower.max()) if lower.size else 0.0
    t = s_below + (s_k - s_below) / 2.0
    if not s_below < t <= s_k:  # the two scores are adjacent floats: no midpoint exists
        t = s_k
    return float(min(max(t, _THRESHOLD_MIN), _THRESHOLD_MAX))


def sensitivity_specificity_at(
    is_abnormal: np.ndarray, prob_abnormal: np.ndarray, threshold: float
) -> tuple[float, float]:
    """Sensitivity and specificity when ``prob >= threshold`` is called abnormal.

    Args:
        is_abnormal: bool/int ``(N,)``, truth (1/True = abnormal).
        prob_abnormal: float ``(N,)`` in ``[0, 1]``; NaN marks a refused image, which counts as
            wrong exactly as in :func:`evaluate_arrays` (abnormal -> miss, normal -> false
            alarm), so the slider agrees with the report at the operating threshold.
        threshold: decision threshold.

    Returns:
        ``(sensitivity, specificity)``, each in ``[0, 1]``, or NaN when there is no abnormal
        (resp. normal) image. Plain numpy, cheap enough to call on every slider move.
    """
    truth = np.asarray(is_abnormal).astype(bool, copy=False)
    prob = np.asarray(prob_abnormal, dtype=np.float64)
    scored = np.isfinite(prob)
    # A NaN comparison is False, so refused images are never "called abnormal" here...
    called = np.zeros(prob.shape, dtype=bool)
    called[scored] = prob[scored] >= threshold
    # ...and a refused normal image is forced to a false alarm.
    called_normal = ~called & scored
    n_pos = int(truth.sum())
    n_neg = int(truth.size - n_pos)
    sens = float((called & truth).sum() / n_pos) if n_pos else float("nan")
    spec = float((called_normal & ~truth).sum() / n_neg) if n_neg else float("nan")
    return sens, spec


# --------------------------------------------------------------------------------------------
# Temperature scaling
# --------------------------------------------------------------------------------------------


def _nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of softmax(logits / T) (numerically stable log-sum-exp)."""
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(z.shape[0]), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray, max_iter: int = 200) -> float:
    """Fit the temperature T of temperature scaling by minimising the NLL.

    Args:
        logits: float ``(N, K)``, ``K >= 2``, finite, uncalibrated logits (validation set).
        labels: int ``(N,)``, true class index in ``0..K-1``.
        max_iter: maximum golden-section iterations (each shrinks the bracket by 0.618).

    Returns:
        T in ``[0.05, 20]``; calibrated probabilities are ``softmax(logits / T)``.

    Method: golden-section search on ``log T`` over ``[log 0.05, log 20]``. The NLL is convex in
    ``1/T`` (log-sum-exp of a linear function minus a linear one), hence unimodal in ``log T``,
    so golden section finds the minimum; it needs no gradient, no random start and is fully
    deterministic. It stops once the bracket is narrower than 1e-6 in log T.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64, copy=False)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"logits must have shape (N, K>=2), got {z.shape}")
    if y.ndim != 1 or y.shape[0] != z.shape[0]:
        raise ValueError(f"labels must have shape ({z.shape[0]},), got {y.shape}")
    if z.shape[0] == 0:
        raise ValueError("cannot fit a temperature on zero samples")
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite")
    if y.min() < 0 or y.max() >= z.shape[1]:
        raise ValueError(f"labels must lie in 0..{z.shape[1] - 1}")

    def f(log_t: float) -> float:
        return _nll(z, y, math.exp(log_t))

    inv_phi = (math.sqrt(5.0) - 1.0) / 2.0  # 0.618...
    a, b = math.log(_T_MIN), math.log(_T_MAX)
    c = b - inv_phi * (b - a)
    d = a + inv_phi * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(max_iter):
        if b - a < 1e-6:
            break
        if fc <= fd:  # minimum lies in [a, d]
            b, d, fd = d, c, fc
            c = b - inv_phi * (b - a)
            fc = f(c)
        else:  # minimum lies in [c, b]
            a, c, fc = c, d, fd
            d = a + inv_phi * (b - a)
            fd = f(d)
    t = math.exp((a + b) / 2.0)
    return float(min(max(t, _T_MIN), _T_MAX))


# --------------------------------------------------------------------------------------------
# Text table for the CLI
# --------------------------------------------------------------------------------------------


def format_metrics_table(report: dict) -> str:
    """Render a report from :func:`evaluate_arrays` as a plain-text table.

    One row per metric -- metric, value, 95 % CI -- followed by per-class recall. Undefined
    values print as ``n/a``; metrics without an interval print ``-`` in the CI column. A report
    with ``class_mapping`` (``{model class: label}``, see ``core/model_evaluation.py``) ends with a line
    per merged label saying which of the model's classes were counted as it.
    """

    def fmt(v) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    def fmt_ci(key: str) -> str:
        iv = report.get("ci", {}).get(key)
        return "-" if iv is None else f"[{iv[0]:.3f}, {iv[1]:.3f}]"

    rows: list[tuple[str, str, str]] = [
        ("Images", str(report["n"]), "-"),
        ("Refused (counted as wrong)", str(report["n_refused"]), "-"),
        ("Threshold", fmt(report.get("threshold")), "-"),
        ("Accuracy", fmt(report["accuracy"]), fmt_ci("accuracy")),
        ("Sensitivity (recall)", fmt(report["recall"]), fmt_ci("recall")),
        ("Specificity", fmt(report["specificity"]), fmt_ci("specificity")),
        ("Precision (PPV)", fmt(report["precision"]), fmt_ci("precision")),
        ("F1", fmt(report["f1"]), fmt_ci("f1")),
        ("ROC AUC", fmt(report["auc"]), fmt_ci("auc")),
        ("ECE (15 bins)", fmt(report["ece"]), "-"),
    ]
    for name, value in report.get("per_class_recall", {}).items():
        rows.append((f"Recall of {name}", fmt(value), "-"))

    header = ("Metric", "Value", "95% CI")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    sep = "  "

    def line(r) -> str:
        return sep.join(
            [r[0].ljust(widths[0]), r[1].rjust(widths[1]), r[2].ljust(widths[2])]
        ).rstrip()

    out = [line(header), sep.join("-" * w for w in widths)]
    out.extend(line(r) for r in rows)
    merged: dict[str, list[str]] = {}
    for source, target in (report.get("class_mapping") or {}).items():
        merged.setdefault(str(target), []).append(str(source))
    for target, sources in merged.items():
        names = sources[0] if len(sources) == 1 else ", ".join(sources[:-1]) + " and " + sources[-1]
        out.append(f"Classes merged: the model's {names} answers count as {target} "
                   f"(the images' labels do not tell them apart)")
    return "\n".join(out)
