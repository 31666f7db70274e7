"""Tests for pneumo_desktop.core.stress: one-sided acquisition changes on validation normals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pneumo_desktop.core.batch_transforms import equalise_batch
from pneumo_desktop.core.stress import STRESSES, apply_stress, stress_metrics


@pytest.fixture(scope="module")
def raw_u8(synth) -> np.ndarray:
    """uint8 (6, 64, 64): three normal then three pneumonia synthetic chests."""
    from PIL import Image

    images = [synth.chest_image(seed, pneumonia=i >= 3) for i, seed in enumerate(range(900, 906))]
    return np.stack([np.asarray(Image.fromarray(im).resize((64, 64))) for im in images])


def test_every_stress_changes_the_raw_image_and_keeps_shape(raw_u8):
    for name in STRESSES:
        out = apply_stress(raw_u8, name, "none")
        assert out.dtype == np.uint8 and out.shape == raw_u8.shape, name
        assert np.abs(out.astype(int) - raw_u8.astype(int)).mean() > 0.5, f"{name} left the images unchanged"


def test_equalisation_follows_the_stress(raw_u8):
    """A gamma change is monotonic, so histogram equalisation undoes it; haze it cannot undo."""
    plain = equalise_batch(torch.from_numpy(raw_u8), "hist").numpy().astype(int)
    gamma = apply_stress(raw_u8, "gamma 1.5", "hist").astype(int)
    haze = apply_stress(raw_u8, "haze 0.5", "hist").astype(int)
    assert np.abs(gamma - plain).mean() < 1.0
    assert np.abs(haze - plain).mean() > 3.0


class _ScoresLocalContrast:
    """A stand-in classifier whose P(abnormal) falls with local contrast (a haze-fooled model)."""

    class preprocessing:  # noqa: N801 - mimics the attribute of a Classifier
        equalise = "hist"

    threshold = 0.5

    def predict_batch(self, batch_u8):
        x = torch.as_tensor(batch_u8).float().unsqueeze(1) / 255.0
        local = (x - torch.nn.functional.avg_pool2d(x, 9, 1, 4, count_include_pad=False)).abs().mean((1, 2, 3))
        p_abnormal = torch.sigmoid((0.04 - local) * 2000.0).double().numpy()
        return np.stack([1 - p_abnormal, p_abnormal], 1), None

    def prob_abnormal(self, probs):
        return probs[:, 1]


def test_stress_metrics_leave_abnormal_images_alone_and_catch_a_haze_fooled_model(raw_u8):
    is_abnormal = np.array([False] * 3 + [True] * 3)
    model = _ScoresLocalContrast()
    result = stress_metrics(model, raw_u8, is_abnormal)
    assert set(result["changes"]) == set(STRESSES)
    haze = result["changes"]["haze 0.8"]
    gamma = result["changes"]["gamma 0.6"]
    # Haze lowers local contrast, which this model reads as disease: every normal is called
    # abnormal. A gamma change leaves local contrast (and so every call) as it was.
    assert haze["specificity"] == 0.0 and gamma["specificity"] == 1.0
    assert haze["auc"] < gamma["auc"]
    values = [c["auc"] for c in result["changes"].values()]
    assert result["mean_auc"] == pytest.approx(float(np.mean(values)))
    assert 0.0 <= result["mean_specificity"] <= 1.0


class _CountingModel(_ScoresLocalContrast):
    def __init__(self):
        self.rows_scored = 0

    def predict_batch(self, batch_u8):
        self.rows_scored += len(batch_u8)
        return super().predict_batch(batch_u8)


def test_abnormal_images_are_scored_once_with_the_same_figures_as_rescoring_everything(raw_u8):
    """Only the normals change, so only they are re-scored per change; the figures must equal
    those of scoring the whole changed split each time, as the battery is defined."""
    from pneumo_desktop.core.metrics import rank_auc

    is_abnormal = np.array([False, True, False, True, True, False])
    model = _CountingModel()
    result = stress_metrics(model, raw_u8, is_abnormal)
    n_normal = int((~is_abnormal).sum())
    assert model.rows_scored == len(raw_u8) + len(STRESSES) * n_normal

    reference = _ScoresLocalContrast()
    plain = equalise_batch(torch.from_numpy(raw_u8), "hist").numpy()
    for name in STRESSES:
        images = plain.copy()
        images[~is_abnormal] = apply_stress(raw_u8[~is_abnormal], name, "hist")
        p_abnormal = reference.predict_batch(images)[0][:, 1]
        expected_spec = float(1.0 - (p_abnormal[~is_abnormal] >= 0.5).mean())
        assert result["changes"][name]["specificity"] == expected_spec, name
        assert result["changes"][name]["auc"] == pytest.approx(rank_auc(p_abnormal, is_abnormal)), name


def test_stress_metrics_without_normals_or_abnormals(raw_u8):
    only_abnormal = stress_metrics(_ScoresLocalContrast(), raw_u8, np.ones(len(raw_u8), dtype=bool))
    assert only_abnormal["mean_specificity"] is None
    only_normal = stress_metrics(_ScoresLocalContrast(), raw_u8, np.zeros(len(raw_u8), dtype=bool))
    assert only_normal["mean_auc"] is None and only_normal["mean_specificity"] is not None
