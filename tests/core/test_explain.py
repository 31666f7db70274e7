"""Tests for pneumo_desktop.core.explain: Grad-CAM, activation maps, first-layer filters."""

from __future__ import annotations

import gc
import threading
import tracemalloc

import numpy as np
import pytest
import torch

from pneumo_desktop.core.explain import activation_maps, first_layer_filters, gradcam


@pytest.fixture(scope="module")
def image_u8(tiny_classifier, synth) -> np.ndarray:
    """A prepared pneumonia-like image, uint8 (S, S)."""
    return tiny_classifier.prepare(synth.chest_image(2024, True).astype(np.float32) / 255.0)


def assert_heatmap(heat: np.ndarray, shape: tuple[int, int]) -> None:
    assert isinstance(heat, np.ndarray)
    assert heat.dtype == np.float32
    assert heat.shape == shape
    assert np.isfinite(heat).all()
    assert float(heat.min()) >= 0.0 and float(heat.max()) <= 1.0
    assert float(heat.max()) > 0.5, "the map is (nearly) empty"


def all_hooks(module: torch.nn.Module) -> list[str]:
    found = []
    for name, sub in module.named_modules():
        for attr in ("_forward_hooks", "_backward_hooks", "_forward_pre_hooks", "_backward_pre_hooks",
                     "_state_dict_hooks", "_load_state_dict_pre_hooks"):
            if getattr(sub, attr, None):
                found.append(f"{name or '<root>'}.{attr}")
    for p_name, param in module.named_parameters():
        if getattr(param, "_backward_hooks", None):
            found.append(f"{p_name}._backward_hooks")
    return found


def global_hooks() -> list[str]:
    from torch.nn.modules import module as m

    names = ("_global_forward_hooks", "_global_backward_hooks", "_global_forward_pre_hooks",
             "_global_backward_pre_hooks")
    return [n for n in names if getattr(m, n, None)]


# ----- Grad-CAM ------------------------------------------------------------------------------
def test_gradcam_default_size_and_class(tiny_classifier, image_u8):
    heat, cls = gradcam(tiny_classifier, image_u8)
    assert_heatmap(heat, image_u8.shape)
    probs, _ = tiny_classifier.predict_batch(image_u8[None])
    # Default target: the class the ensemble's (uncalibrated) logits favour; temperature
    # scaling does not change the arg-max.
    assert cls == int(probs.argmax(1)[0])


@pytest.mark.parametrize("size", [(64, 64), (120, 90), (37, 211), (512, 512)])
def test_gradcam_output_size(tiny_classifier, image_u8, size):
    heat, _ = gradcam(tiny_classifier, image_u8, output_size=size)
    assert_heatmap(heat, size)


def test_gradcam_target_class(tiny_classifier, image_u8):
    maps = {}
    for target in range(len(tiny_classifier.classes)):
        heat, cls = gradcam(tiny_classifier, image_u8, target_class=target)
        assert cls == target
        assert heat.dtype == np.float32 and heat.shape == image_u8.shape
        assert float(heat.min()) >= 0.0 and float(heat.max()) <= 1.0
        maps[target] = heat
    # The two classes' explanations are not the same map.
    assert not np.allclose(maps[0], maps[1])


def test_gradcam_is_deterministic_and_leaves_the_model_unchanged(tiny_classifier, image_u8):
    state = {k: v.clone() for k, v in tiny_classifier.members[0].state_dict().items()}
    a, _ = gradcam(tiny_classifier, image_u8)
    b, _ = gradcam(tiny_classifier, image_u8)
    assert np.array_equal(a, b)
    assert not tiny_classifier.members[0].training, "Grad-CAM switched the model to training mode"
    for key, value in tiny_classifier.members[0].state_dict().items():
        assert torch.equal(value, state[key]), f"{key} changed (batch-norm statistics updated?)"
    assert all(p.grad is None for p in tiny_classifier.members[0].parameters()), "gradients were accumulated"


@pytest.mark.parametrize("context", ["no_grad", "inference_mode", "grad_disabled_globally"])
def test_gradcam_inside_no_grad_contexts(tiny_classifier, image_u8, context):
    reference, ref_cls = gradcam(tiny_classifier, image_u8)
    if context == "no_grad":
        with torch.no_grad():
            heat, cls = gradcam(tiny_classifier, image_u8)
    elif context == "inference_mode":
        with torch.inference_mode():
            heat, cls = gradcam(tiny_classifier, image_u8)
    else:
        torch.set_grad_enabled(False)
        try:
            heat, cls = gradcam(tiny_classifier, image_u8)
        finally:
            torch.set_grad_enabled(True)
    assert_heatmap(heat, image_u8.shape)
    assert cls == ref_cls
    assert np.allclose(heat, reference, atol=1e-5)
    assert torch.is_grad_enabled()


def test_gradcam_from_a_thread(tiny_classifier, image_u8):
    reference, _ = gradcam(tiny_classifier, image_u8)
    results, errors = [], []

    def work():
        try:
            for _ in range(3):
                results.append(gradcam(tiny_classifier, image_u8, output_size=(80, 80))[0])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, name=f"gradcam-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert len(results) == 6
    for heat in results:
        assert_heatmap(heat, (80, 80))
    assert np.allclose(results[0], results[-1])


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * 4096
    except OSError:
        pytest.skip("no /proc/self/statm on this platform")


def test_gradcam_repeated_leaves_no_hooks_and_no_growth(tiny_classifier, image_u8):
    for _ in range(5):  # warm up allocator caches and lazily created state
        gradcam(tiny_classifier, image_u8, output_size=(128, 128))
    gc.collect()
    rss_before = _rss_bytes()
    tracemalloc.start()
    try:
        snap_before = tracemalloc.take_snapshot()
        for _ in range(100):
            heat, _ = gradcam(tiny_classifier, image_u8, output_size=(128, 128))
        del heat
        gc.collect()
        snap_after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    rss_after = _rss_bytes()
    python_growth = sum(s.size_diff for s in snap_after.compare_to(snap_before, "filename"))
    assert python_growth < 512 * 1024, f"Python allocations grew by {python_growth} bytes"
    assert rss_after - rss_before < 40 * 2**20, f"RSS grew by {(rss_after - rss_before) / 2**20:.1f} MiB"
    for member in tiny_classifier.members:
        assert all_hooks(member) == []
    assert global_hooks() == []


# ----- activation maps and filters -----------------------------------------------------------
def test_activation_maps_shapes(tiny_classifier, image_u8):
    maps = activation_maps(tiny_classifier, image_u8)
    widths = tiny_classifier.metadata["architecture"]["widths"]
    size = image_u8.shape[0]
    assert len(maps) == 4
    for i, (m, width) in enumerate(zip(maps, widths)):
        side = size // 2 ** (i + 1)
        assert m.dtype == np.float32
        assert m.shape == (width, side, side)
        assert np.isfinite(m).all()
        assert float(m.min()) >= 0.0, "block outputs follow a ReLU"
    assert any(float(m.max()) > 0 for m in maps)
    # They are copies: changing one does not touch the model or a second call.
    maps[0][:] = -1
    again = activation_maps(tiny_classifier, image_u8)
    assert float(again[0].min()) >= 0.0


def test_activation_maps_inside_inference_mode_and_from_a_thread(tiny_classifier, image_u8):
    reference = activation_maps(tiny_classifier, image_u8)
    with torch.inference_mode():
        inside = activation_maps(tiny_classifier, image_u8)
    out = []
    thread = threading.Thread(target=lambda: out.append(activation_maps(tiny_classifier, image_u8)))
    thread.start()
    thread.join(timeout=30)
    for a, b, c in zip(reference, inside, out[0]):
        assert np.allclose(a, b) and np.allclose(a, c)


def test_first_layer_filters(tiny_classifier):
    filters = first_layer_filters(tiny_classifier)
    width = tiny_classifier.metadata["architecture"]["widths"][0]
    assert filters.dtype == np.float32
    assert filters.shape == (width, 3, 3)
    assert float(filters.min()) >= -1.0 and float(filters.max()) <= 1.0
    # Each kernel is scaled by its own largest |w|, so each reaches +-1 somewhere.
    assert np.allclose(np.abs(filters).reshape(width, -1).max(1), 1.0)
    # Same signs as the raw weights.
    raw = tiny_classifier.members[0].blocks[0].conv.weight.detach()[:, 0].numpy()
    assert np.array_equal(np.sign(filters), np.sign(raw).astype(np.float32))


def test_a_model_that_hides_the_border_ignores_it_in_predictions_and_gradcam(tiny_classifier, image_u8):
    import copy

    from pneumo_desktop.core.classifier import Classifier

    metadata = copy.deepcopy(tiny_classifier.metadata)
    metadata["preprocessing"]["border_mask"] = 0.125
    masked = Classifier.from_parts(tiny_classifier.tensors(), metadata)
    frame = masked.preprocessing.border_mask_px
    assert frame == 8  # 0.125 of the tiny model's 64 px
    changed = image_u8.copy()
    changed[:frame] = 255 - changed[:frame]
    changed[:, -frame:] = 0
    batch = np.stack([image_u8, changed])
    probs, feats = masked.predict_batch(batch)
    assert np.array_equal(probs[0], probs[1]) and np.array_equal(feats[0], feats[1])
    assert np.array_equal(gradcam(masked, image_u8)[0], gradcam(masked, changed)[0])
    # The same weights without the mask do see the change, so the check above can fail.
    plain_feats = tiny_classifier.predict_batch(batch)[1]
    assert not np.array_equal(plain_feats[0], plain_feats[1])
