"""Tests for pneumo_desktop.figures: the Qt-free drawing behind the GUI's and the docs' plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from pneumo_desktop.core.metrics import evaluate_arrays
from pneumo_desktop.figures import draw_confusion, draw_reliability, reliability_points


def _report(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, 400)
    p_abnormal = np.clip(0.25 + 0.5 * truth + rng.normal(0, 0.05, 400), 0.12, 0.88)
    pred = (p_abnormal >= 0.5).astype(np.int64)
    return evaluate_arrays(truth, pred, p_abnormal, ["NORMAL", "PNEUMONIA"], 0.5, 0, n_bootstrap=20, seed=0)


def test_reliability_points_skip_empty_bins_and_count_every_image():
    report = _report()
    mean_p, freq, counts = reliability_points(report["reliability"])
    assert counts.sum() == 400
    assert (counts > 0).all() and len(counts) <= 8, "the bins below 0.1 and above 0.9 are empty here"
    assert np.all((mean_p >= 0) & (mean_p <= 1)) and np.all((freq >= 0) & (freq <= 1))
    assert np.all(np.diff(mean_p) > 0)


def test_reliability_points_reject_mismatched_bins():
    with pytest.raises(ValueError, match="different lengths"):
        reliability_points({"count": [1, 2], "mean_predicted": [0.1], "observed_frequency": [0.0, 1.0]})


def test_draw_reliability_and_confusion_put_the_data_on_the_axes():
    report = _report(1)
    figure = Figure()
    ax = figure.add_subplot(1, 2, 1)
    draw_reliability(ax, report["reliability"], label="model", colour="#0072B2")
    mean_p, freq, _ = reliability_points(report["reliability"])
    curve = [line for line in ax.get_lines() if line.get_label() == "model"][0]
    assert np.allclose(curve.get_xdata(), mean_p) and np.allclose(curve.get_ydata(), freq)
    ax2 = figure.add_subplot(1, 2, 2)
    draw_confusion(ax2, report["confusion_matrix"], report["classes"])
    texts = [t.get_text() for t in ax2.texts]
    cm = np.asarray(report["confusion_matrix"])
    assert len(texts) == 4 and all(str(v) in t for v, t in zip(cm.flatten(), texts))
