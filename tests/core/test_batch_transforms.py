"""Tests for pneumo_desktop.core.batch_transforms: equalisation, prepared images, augmentation, views."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pneumo_desktop.core.batch_transforms import (
    AugmentConfig,
    acquire_batch,
    Preprocessing,
    augment_batch,
    clahe,
    equalise_batch,
    equalise_histogram,
    equalise_u8,
    prepare_image,
    resize_to_u8,
    shift_views,
    to_model_input,
)
from pneumo_desktop.core.synthetic import synthetic_chest_image


@pytest.fixture(scope="module")
def chest_u8() -> np.ndarray:
    return synthetic_chest_image(256, seed=3)


def gamma_u8(image: np.ndarray, gamma: float) -> np.ndarray:
    return np.round(255.0 * (image / 255.0) ** gamma).astype(np.uint8)


# ----- histogram equalisation ----------------------------------------------------------------
def test_equalise_spans_full_range_and_is_monotonic(chest_u8):
    low_contrast = (60 + chest_u8 // 4).astype(np.uint8)  # values squeezed into 60..123
    out = equalise_histogram(low_contrast)
    assert out.dtype == np.uint8 and out.shape == low_contrast.shape
    assert int(out.min()) == 0 and int(out.max()) == 255
    # A monotonic mapping: brighter input never becomes darker output.
    order = np.argsort(low_contrast.ravel(), kind="stable")
    assert np.all(np.diff(out.ravel()[order].astype(int)) >= 0)
    # Equalised values are roughly uniformly distributed.
    assert abs(float(out.mean()) - 127.5) < 20


@pytest.mark.parametrize("gamma", [0.7, 0.8, 1.25, 1.5])
def test_equalise_is_invariant_to_gamma(chest_u8, gamma):
    changed = gamma_u8(chest_u8, gamma)
    raw_difference = np.abs(chest_u8.astype(int) - changed.astype(int)).mean()
    assert raw_difference > 10, "the gamma change itself must be visible for the test to mean anything"
    a = equalise_histogram(chest_u8).astype(int)
    b = equalise_histogram(changed).astype(int)
    # Only the rounding of merged grey levels may differ.
    assert np.abs(a - b).mean() < 1.0
    assert np.abs(a - b).max() <= 6


def test_equalise_constant_image_is_unchanged():
    flat = np.full((40, 50), 77, dtype=np.uint8)
    out = equalise_histogram(flat)
    assert np.array_equal(out, flat)
    assert out is not flat


@pytest.mark.parametrize("mode", ["none", "hist", "clahe"])
def test_equalise_batch_matches_per_image_equalisation(chest_u8, mode):
    from PIL import Image

    small = np.asarray(Image.fromarray(chest_u8).resize((48, 48)))
    batch = np.stack([
        small,
        (40 + small // 3).astype(np.uint8),          # low contrast
        gamma_u8(small, 1.4),
        np.full((48, 48), 90, dtype=np.uint8),        # constant: left as it is
        np.where(small > 128, 255, 0).astype(np.uint8),  # two levels only
    ])
    out = equalise_batch(torch.from_numpy(batch.copy()), mode)
    assert out.dtype == torch.uint8 and tuple(out.shape) == batch.shape
    for i, image in enumerate(batch):
        assert np.array_equal(out[i].numpy(), equalise_u8(image, mode)), f"image {i} differs"


def test_resize_then_equalise_is_prepare_image(chest_u8):
    pixels = (chest_u8 / 255.0).astype(np.float32)
    raw = resize_to_u8(pixels, 80)
    assert raw.shape == (80, 80) and raw.dtype == np.uint8
    assert np.array_equal(prepare_image(pixels, Preprocessing(input_size=80, equalise="none")), raw)
    assert np.array_equal(prepare_image(pixels, Preprocessing(input_size=80, equalise="hist")),
                          equalise_histogram(raw))


# ----- CLAHE ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(128, 128), (100, 140), (64, 72)])
def test_clahe_shape_dtype_and_range(chest_u8, shape):
    from PIL import Image

    image = np.asarray(Image.fromarray(chest_u8).resize(shape[::-1]))
    out = clahe(image)
    assert out.dtype == np.uint8
    assert out.shape == shape
    assert int(out.max()) > int(out.min())


def test_clahe_raises_local_contrast(chest_u8):
    low_contrast = (100 + chest_u8 // 8).astype(np.uint8)
    out = clahe(low_contrast)
    # Local contrast: the mean absolute difference between neighbours.
    def local(a):
        return np.abs(np.diff(a.astype(float), axis=1)).mean()
    assert local(out) > 2 * local(low_contrast)


# ----- prepare_image / to_model_input --------------------------------------------------------
@pytest.mark.parametrize("equalise", ["none", "hist", "clahe"])
@pytest.mark.parametrize("size", [64, 150])
def test_prepare_image_shape_and_dtype(chest_u8, equalise, size):
    pixels = (chest_u8[:, 20:220] / 255.0).astype(np.float32)  # not square: (256, 200)
    out = prepare_image(pixels, Preprocessing(input_size=size, equalise=equalise))
    assert out.dtype == np.uint8
    assert out.shape == (size, size)
    if equalise == "hist":
        assert out.min() == 0 and out.max() == 255
    if equalise == "none":
        assert abs(out.mean() / 255.0 - float(pixels.mean())) < 0.02


def test_prepare_image_hist_removes_exposure_difference(chest_u8):
    prep = Preprocessing(input_size=96, equalise="hist")
    pixels = (chest_u8 / 255.0).astype(np.float32)
    a = prepare_image(pixels, prep).astype(int)
    b = prepare_image(pixels ** 1.3, prep).astype(int)
    assert np.abs(a - b).mean() < 2.0
    c = prepare_image(pixels ** 1.3, Preprocessing(input_size=96, equalise="none")).astype(int)
    assert np.abs(prepare_image(pixels, Preprocessing(input_size=96, equalise="none")).astype(int) - c).mean() > 5


def test_to_model_input():
    batch = np.array([[[0, 255], [128, 64]]], dtype=np.uint8).repeat(3, 0)
    prep = Preprocessing(input_size=32, mean=0.5, std=0.25)
    x = to_model_input(batch, prep)
    assert x.dtype == torch.float32 and tuple(x.shape) == (3, 1, 2, 2)
    expected = (batch[:, None].astype(np.float32) / 255.0 - 0.5) / 0.25
    assert np.allclose(x.numpy(), expected, atol=1e-6)


def test_to_model_input_hides_the_border_frame():
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, size=(2, 40, 40), dtype=np.uint8)
    prep = Preprocessing(input_size=40, mean=0.5, std=0.25, border_mask=0.125)
    assert prep.border_mask_px == 5
    x = to_model_input(batch, prep).numpy()[:, 0]
    unmasked = to_model_input(batch, Preprocessing(input_size=40, mean=0.5, std=0.25)).numpy()[:, 0]
    frame = np.ones((40, 40), bool)
    frame[5:-5, 5:-5] = False
    assert np.all(x[:, frame] == 0.0), "the frame must read as the input mean (0 after normalisation)"
    assert np.array_equal(x[:, ~frame], unmasked[:, ~frame]), "the centre must be untouched"
    assert np.any(unmasked[:, frame] != 0.0)


def test_border_mask_in_the_file_format():
    prep = Preprocessing(input_size=96, border_mask=0.1)
    assert Preprocessing.from_dict(prep.to_dict()) == prep
    older = {k: v for k, v in prep.to_dict().items() if k != "border_mask"}
    assert Preprocessing.from_dict(older).border_mask == 0.0, "files written before the mask hide nothing"
    for bad in (-0.1, 0.31, 0.5):
        with pytest.raises(ValueError, match="hidden border"):
            Preprocessing.from_dict({**prep.to_dict(), "border_mask": bad})


def test_preprocessing_round_trip_and_validation():
    prep = Preprocessing(input_size=96, equalise="clahe", mean=0.4, std=0.3)
    assert Preprocessing.from_dict(prep.to_dict()) == prep
    for bad in ({"equalise": "magic"}, {"input_size": 8}, {"input_size": 4096}, {"std": 0.0}):
        with pytest.raises(ValueError):
            Preprocessing.from_dict({**prep.to_dict(), **bad})
    with pytest.raises(KeyError):
        Preprocessing.from_dict({"input_size": 96})


# ----- augmentation --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def batch_u8(chest_u8) -> torch.Tensor:
    from PIL import Image

    small = np.asarray(Image.fromarray(chest_u8).resize((64, 64)))
    return torch.from_numpy(np.stack([small, np.flipud(small).copy(), 255 - small, small // 2]))


def test_augment_batch_is_deterministic_for_a_seeded_generator(batch_u8):
    cfg = AugmentConfig()
    a = augment_batch(batch_u8, cfg, torch.Generator().manual_seed(11))
    b = augment_batch(batch_u8, cfg, torch.Generator().manual_seed(11))
    c = augment_batch(batch_u8, cfg, torch.Generator().manual_seed(12))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    # The global RNG is not consumed or used.
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    augment_batch(batch_u8, cfg, torch.Generator().manual_seed(11))
    assert torch.equal(torch.rand(1), before)


def test_augment_batch_shape_range_and_effect(batch_u8):
    original = batch_u8.clone()
    out = augment_batch(batch_u8, AugmentConfig(), torch.Generator().manual_seed(3))
    assert out.dtype == torch.float32
    assert tuple(out.shape) == tuple(batch_u8.shape)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert torch.equal(batch_u8, original), "the input batch was modified in place"
    reference = batch_u8.float() / 255.0
    per_image = (out - reference).abs().mean(dim=(1, 2))
    assert bool((per_image > 0.005).all()), per_image
    # ... but it is still the same picture, not noise.
    for i in range(len(out)):
        r = np.corrcoef(out[i].flatten().numpy(), reference[i].flatten().numpy())[0, 1]
        assert r > 0.7, (i, r)


def test_augment_batch_without_any_augmentation_is_identity(batch_u8):
    cfg = AugmentConfig(rotation_deg=0.0, scale_min=1.0, scale_max=1.0, shift_frac=0.0, gamma_min=1.0,
                        gamma_max=1.0, brightness=0.0, contrast=0.0, blur_prob=0.0, sharpen_prob=0.0,
                        noise_std=0.0)
    out = augment_batch(batch_u8, cfg, torch.Generator().manual_seed(0))
    assert torch.allclose(out, (batch_u8.float() / 255.0).clamp(1e-6, 1.0), atol=1e-4)


# ----- test-time views -----------------------------------------------------------------------
def test_shift_views_shapes_and_content():
    x = torch.arange(2 * 1 * 8 * 8, dtype=torch.float32).view(2, 1, 8, 8)
    shifts = [(0, 0), (2, 0), (0, -1), (1, 1)]
    views = shift_views(x, shifts)
    assert tuple(views.shape) == (len(shifts) * 2, 1, 8, 8)
    # View-major: the first two are view 0 (no shift) of both images.
    assert torch.equal(views[0:2], x)
    dx2 = views[2:4]
    assert torch.equal(dx2[..., :, :-2], x[..., :, 2:])
    assert torch.equal(dx2[..., :, -1], x[..., :, -1]), "the edge is replicated"
    dy_minus = views[4:6]
    assert torch.equal(dy_minus[..., 1:, :], x[..., :-1, :])
    assert torch.equal(shift_views(x, []), x)
    assert tuple(shift_views(x, [(0, 0), (0, 0)]).shape) == (4, 1, 8, 8)


def test_aspect_jitter_changes_width_and_height_independently():
    square = torch.zeros(1, 120, 120, dtype=torch.uint8)
    square[0, 40:80, 40:80] = 255
    still = AugmentConfig(rotation_deg=0, scale_min=1, scale_max=1, shift_frac=0, gamma_min=1, gamma_max=1,
                          brightness=0, contrast=0, blur_prob=0, sharpen_prob=0, noise_std=0)
    jitter = AugmentConfig(**{**still.to_dict(), "aspect_max": 1.5})
    gen = torch.Generator().manual_seed(3)
    ratios = []
    for _ in range(12):
        out = augment_batch(square, jitter, gen)[0] > 0.5
        rows, cols = int(out.any(1).sum()), int(out.any(0).sum())
        ratios.append(cols / rows)
    assert min(ratios) < 0.93 and max(ratios) > 1.07  # both ways
    assert all(1 / 1.6 < r < 1.6 for r in ratios)  # never beyond the configured range (+ pixel rounding)
    plain = augment_batch(square, still, torch.Generator().manual_seed(3))[0] > 0.5
    assert int(plain.any(0).sum()) == int(plain.any(1).sum()) == 40


def test_aspect_jitter_off_by_default_keeps_the_random_stream():
    batch = torch.randint(0, 255, (4, 64, 64), dtype=torch.uint8)
    a = augment_batch(batch, AugmentConfig(), torch.Generator().manual_seed(1))
    b = augment_batch(batch, AugmentConfig(aspect_max=1.0), torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


# ----- acquisition changes before equalisation -----------------------------------------------
def _local_contrast(batch: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference from a 9x9 box mean, per image: float (B,)."""
    x = batch.float().unsqueeze(1)
    local_mean = torch.nn.functional.avg_pool2d(x, 9, stride=1, padding=4, count_include_pad=False)
    return (x - local_mean).abs().mean(dim=(1, 2, 3))


def test_acquire_batch_is_off_by_default_and_returns_raw_uint8(batch_u8):
    assert not AugmentConfig().acquires
    out = acquire_batch(batch_u8, AugmentConfig(), torch.Generator().manual_seed(0))
    assert out.dtype == torch.uint8 and torch.equal(out, batch_u8)


def test_haze_lowers_local_contrast_and_survives_equalisation(batch_u8):
    """Haze is not a monotonic remapping, so global equalisation cannot take it away."""
    cfg = AugmentConfig(haze_prob=1.0, haze_max=0.8, raw_noise_std=0.0)
    original = batch_u8.clone()
    hazy = acquire_batch(batch_u8, cfg, torch.Generator().manual_seed(5))
    assert torch.equal(batch_u8, original), "the input batch was modified in place"
    assert hazy.dtype == torch.uint8 and hazy.shape == batch_u8.shape
    assert bool((_local_contrast(hazy) < _local_contrast(batch_u8)).all())
    eq_plain = equalise_batch(batch_u8, "hist")
    eq_hazy = equalise_batch(hazy, "hist")
    assert float((eq_hazy.float() - eq_plain.float()).abs().mean()) > 2.0
    # Deterministic for a seeded generator.
    assert torch.equal(hazy, acquire_batch(batch_u8, cfg, torch.Generator().manual_seed(5)))


def test_raw_noise_adds_noise_of_the_requested_scale(batch_u8):
    flat = torch.full((8, 64, 64), 128, dtype=torch.uint8)
    noisy = acquire_batch(flat, AugmentConfig(raw_noise_std=0.04), torch.Generator().manual_seed(1))
    std = (noisy.float() / 255.0).std(dim=(1, 2))
    assert float(std.max()) <= 0.045 and float(std.max()) > 0.005
