"""Tests for pneumo_desktop.core.detector: the chest X-ray detector, the gate's third stage."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from pneumo_desktop.core.classifier import Classifier
from pneumo_desktop.core.detector import (
    DETECTOR_SIZE, NEGATIVE_KINDS, XrayDetector, detector_input, generate_negatives, train_detector,
)
from pneumo_desktop.core.errors import DatasetError, ModelFileError
from pneumo_desktop.core.generators import drive
from pneumo_desktop.core.modelfile import read_model_file, save_model_file
from pneumo_desktop.core.predict import predict_files


def _chests(synth, seeds, size=64) -> torch.Tensor:
    from PIL import Image

    images = [np.asarray(Image.fromarray(synth.chest_image(s, s % 2 == 1)).resize((size, size), Image.BILINEAR))
              for s in seeds]
    return torch.as_tensor(np.stack(images))


def test_negatives_are_seeded_varied_uint8_images(synth):
    xrays = _chests(synth, range(8))
    first = generate_negatives(xrays, 16, torch.Generator().manual_seed(3))
    again = generate_negatives(xrays, 16, torch.Generator().manual_seed(3))
    other = generate_negatives(xrays, 16, torch.Generator().manual_seed(4))
    assert first.shape == (16, 64, 64) and first.dtype == torch.uint8
    assert torch.equal(first, again), "the same seed must give the same images"
    assert not torch.equal(first, other)
    # Each image uses most of the grey range (stretched), and no two kinds look alike.
    spread = first.flatten(1).float()
    assert (spread.amax(1) - spread.amin(1) > 150).all()
    assert len({tuple(img.flatten()[:64].tolist()) for img in first}) == 16
    assert len(NEGATIVE_KINDS) == 8


def test_detector_input_is_a_normalised_thumbnail():
    batch = torch.randint(0, 256, (3, 150, 150), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    x = detector_input(batch)
    assert x.shape == (3, 1, DETECTOR_SIZE, DETECTOR_SIZE) and x.dtype == torch.float32
    # Equalised to a near-uniform histogram, then normalised: mean about 0, spread about 1.
    assert abs(float(x.mean())) < 0.1 and 0.8 < float(x.std()) < 1.2
    # Exposure does not reach the detector: a darker copy gives the same input.
    darker = (batch.float() * 0.6).round().to(torch.uint8)
    assert torch.allclose(detector_input(darker), x, atol=0.35)


@pytest.fixture(scope="module")
def small_detector(synth):
    """A detector trained for a few epochs on 48 synthetic chest X-rays at 64 px."""
    train, val = _chests(synth, range(48)), _chests(synth, range(100, 112))
    steps = []
    tensors, meta = drive(train_detector(train, val, "hist", epochs=6, seed=0, batch_size=32), steps.append)
    return XrayDetector(tensors, meta), meta, steps


def test_training_reports_progress_and_validation_figures(small_detector):
    detector, meta, steps = small_detector
    assert [(s.epoch, s.epochs) for s in steps] == [(e, 6) for e in range(1, 7)] + [(0, 6)]
    assert all(s.loss > 0 for s in steps[:6]) and steps[-1].is_check and steps[-1].loss is None
    assert str(steps[0]).startswith("epoch 1/6, loss ") and str(steps[-1]) == "checking the validation split"
    assert meta["epochs"] == 6 and meta["n_positive"] == 48 and meta["input_size"] == DETECTOR_SIZE
    assert 0.0 <= meta["validation_refused"] <= 1.0
    assert set(meta["validation_stress_refused"]) >= {"zoom 1.2", "haze 0.8", "noise 0.04"}


def test_trained_detector_accepts_chests_and_refuses_other_images(small_detector, synth):
    detector, _, _ = small_detector
    from pneumo_desktop.core.batch_transforms import equalise_batch

    chests = equalise_batch(_chests(synth, range(200, 216)), "hist")
    assert (detector.p_not_xray(chests) < 0.5).all()
    unseen = equalise_batch(generate_negatives(_chests(synth, range(300, 306)), 24, torch.Generator().manual_seed(99)),
                            "hist")
    p = detector.p_not_xray(unseen)
    assert (p >= 0.5).mean() >= 0.9, p
    upside_down = torch.flip(chests, (1,))
    assert (detector.p_not_xray(upside_down) >= 0.5).mean() >= 0.75
    reasons = detector.reasons(torch.cat([chests[:2], unseen[:2]]))
    assert reasons[:2] == [None, None]
    assert all(r is not None and "frontal chest X-ray" in r for r in reasons[2:] if r is not None)


def test_closing_the_training_stops_it(synth):
    train = _chests(synth, range(16))
    steps = train_detector(train, train[:4], "hist", epochs=50, seed=0, batch_size=16)
    assert str(next(steps)).startswith("epoch 1/50")
    steps.close()
    with pytest.raises(StopIteration):
        next(steps)


# ----- in a model file ---------------------------------------------------------------------
def test_trained_model_carries_its_detector_through_a_file(tiny_model, tmp_path):
    path, classifier = tiny_model
    assert classifier.detector is not None, "train_model adds a detector by default"
    assert classifier.metadata["detector"]["epochs"] == 2  # tiny_config's
    images = np.stack([np.full((64, 64), v, np.uint8) for v in (0, 128)])
    images[1, ::2] = 255
    again = Classifier.load(path)
    assert np.array_equal(again.detector.p_not_xray(images), classifier.detector.p_not_xray(images))


def _parts(path):
    tensors, metadata = read_model_file(path)
    return dict(tensors), copy.deepcopy(metadata)


@pytest.mark.parametrize("breakage, message", [
    (lambda t, m: m["detector"].update(widths=[8, 16, 32]), "detector's description"),
    (lambda t, m: m["detector"].update(input_size=32), "detector's description"),
    (lambda t, m: m["detector"].update(refuse_at=1.5), "detector's description"),
    (lambda t, m: m["detector"].update(validation_refused="none"), "detector's description"),
    (lambda t, m: m["detector"].update(widths=[8, 16, 32, 32]), "detector's weights do not fit"),
    (lambda t, m: m.pop("detector"), "weights and description do not match"),
    (lambda t, m: [t.pop(k) for k in list(t) if k.startswith("detector.")], "weights and description do not match"),
])
def test_a_malformed_detector_is_refused_with_a_reason(tiny_model, tmp_path, breakage, message):
    tensors, metadata = _parts(tiny_model[0])
    breakage(tensors, metadata)
    target = tmp_path / "broken.pneumo"
    try:
        save_model_file(target, tensors, metadata)
    except ModelFileError as exc:  # the writer checks the description too
        assert message in str(exc)
        return
    with pytest.raises(ModelFileError, match=message):
        Classifier.load(target)


def test_detector_epochs_are_checked_and_zero_leaves_it_out(synth, synthetic_folder):
    with pytest.raises(DatasetError, match="detector epochs"):
        synth.tiny_config(detector_epochs=101).validate()
    _, finished = synth.run_training(synthetic_folder, synth.tiny_config(epochs=1, detector_epochs=0))
    assert finished.classifier.detector is None and "detector" not in finished.classifier.metadata


def test_predict_refuses_what_the_detector_flags(tiny_model, synth, tmp_path):
    """A chest image turned upside down passes the image statistics; the detector refuses it
    with its own reason, and the upright image next to it is judged as usual."""
    path, classifier = tiny_model
    upright = synth.chest_image(900, False)
    synth.write_png(tmp_path / "upright.png", upright)
    synth.write_png(tmp_path / "upside_down.png", np.ascontiguousarray(upright[::-1]))
    synth.write_png(tmp_path / "rotated.png", np.ascontiguousarray(np.rot90(upright)))
    records = {r.path.rsplit("/", 1)[-1]: r for r in predict_files(classifier, [tmp_path])}
    assert records["upright.png"].status == "ok" and records["upright.png"].label is not None
    for name in ("upside_down.png", "rotated.png"):
        assert records[name].status == "unsupported", records[name]
        assert records[name].message.startswith("not a chest X-ray: it does not look like a frontal chest X-ray")
        assert records[name].label is None and records[name].probability is None


# ----- several hospitals' films, and lateral views as a class of their own ---------------------------
def _lateral(seed: int, size: int = 64) -> np.ndarray:
    """A synthetic lateral chest view, uint8 (size, size): one large lung field in the middle, the
    spine as a bright band near one edge and the sternum as a thin line near the other."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    image = np.full((size, size), 170.0) + rng.normal(0, 6, (size, size))
    cx, cy = 0.5 + rng.uniform(-0.05, 0.05), 0.5 + rng.uniform(-0.05, 0.05)
    lung = ((x - cx) / 0.3) ** 2 + ((y - cy) / 0.38) ** 2 < 1.0
    image[lung] -= 90.0
    spine = 0.82 + rng.uniform(-0.04, 0.04)
    image[:, (x[0] > spine) & (x[0] < spine + 0.08)] += 60.0
    image[:, np.abs(x[0] - 0.13) < 0.015] += 40.0
    if seed % 2:  # facing the other way
        image = image[:, ::-1]
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def lateral_detector(synth):
    """A detector trained with outside positives (darker, noisier synthetic chests) and laterals."""
    home, val = _chests(synth, range(48)), _chests(synth, range(100, 112))
    outside = {"darker": (_chests(synth, range(400, 416)).float() * 0.7).round().to(torch.uint8),
               "noisier": (_chests(synth, range(500, 516)).float()
                           + torch.randn(16, 64, 64, generator=torch.Generator().manual_seed(1)) * 8).clamp(0, 255)
               .round().to(torch.uint8)}
    laterals = torch.as_tensor(np.stack([_lateral(s) for s in range(24)]))
    tensors, meta = drive(train_detector(home, val, "hist", epochs=8, seed=0, batch_size=32,
                                         outside_u8=outside, lateral_u8=laterals))
    return XrayDetector(tensors, meta), meta


def test_laterals_are_a_class_of_their_own_and_say_so(lateral_detector, synth):
    from pneumo_desktop.core.detector import CLASSES_WITH_LATERAL, LATERAL_MESSAGE
    from pneumo_desktop.core.batch_transforms import equalise_batch

    detector, meta = lateral_detector
    assert detector.knows_laterals and meta["classes"] == CLASSES_WITH_LATERAL
    assert meta["n_lateral"] == 24 and meta["n_outside_positive"] == {"darker": 16, "noisier": 16}
    unseen_laterals = equalise_batch(torch.as_tensor(np.stack([_lateral(s) for s in range(900, 920)])), "hist")
    reasons = detector.reasons(unseen_laterals)
    flagged = [r for r in reasons if r is not None and r.startswith(LATERAL_MESSAGE)]
    assert len(flagged) >= 17, reasons
    chests = equalise_batch(_chests(synth, range(200, 216)), "hist")
    assert detector.reasons(chests) == [None] * 16
    probabilities = detector.probabilities(chests)
    assert probabilities.shape == (16, 3) and np.allclose(probabilities.sum(1), 1.0)
    # Generated non-X-rays are still refused as such, not as laterals.
    negatives = equalise_batch(generate_negatives(_chests(synth, range(300, 306)), 16,
                                                  torch.Generator().manual_seed(5)), "hist")
    other = detector.reasons(negatives)
    assert sum(r is not None and "does not look like a frontal chest X-ray" in r for r in other) >= 12


def test_outside_films_fill_half_of_each_batchs_positives():
    from pneumo_desktop.core.detector import _mix_in_outside

    home = torch.zeros(64, 8, 8, dtype=torch.uint8)
    outside = {"a": torch.full((5, 8, 8), 100, dtype=torch.uint8), "b": torch.full((3, 8, 8), 200, dtype=torch.uint8)}
    mixed = _mix_in_outside(home, outside, torch.Generator().manual_seed(0))
    values = mixed[:, 0, 0]
    assert int((values == 0).sum()) == 32 and int((values != 0).sum()) == 32
    assert int((values == 100).sum()) > 5 and int((values == 200).sum()) > 5  # both sources drawn
    assert torch.equal(home, torch.zeros_like(home)), "the home batch itself is not changed"


def test_a_lateral_is_refused_as_a_lateral_view_in_predict(lateral_detector, tiny_model, tmp_path):
    from pneumo_desktop.core.detector import LATERAL_MESSAGE
    from PIL import Image

    detector, meta = lateral_detector
    _, tiny = tiny_model
    classifier = copy.copy(tiny)
    classifier.detector = detector
    path = tmp_path / "lateral.png"
    Image.fromarray(np.asarray(Image.fromarray(_lateral(901)).resize((96, 96), Image.BILINEAR))).save(path)
    record = next(predict_files(classifier, [path]))
    assert record.status == "unsupported" and record.label is None
    assert record.message.startswith(LATERAL_MESSAGE) and "not a chest X-ray" not in record.message


def test_a_three_class_detector_goes_through_a_file(lateral_detector, tiny_model, tmp_path):
    detector, meta = lateral_detector
    tensors, metadata = read_model_file(tiny_model[0])
    tensors = {k: v for k, v in tensors.items() if not k.startswith("detector.")}
    tensors.update({f"detector.{k}": v for k, v in detector.network.state_dict().items()})
    metadata = dict(metadata, detector=meta)
    save_model_file(tmp_path / "lateral.pneumo", tensors, metadata)
    loaded = Classifier.load(tmp_path / "lateral.pneumo")
    assert loaded.detector.knows_laterals
    # A description that says two classes for three-class weights is refused with a reason.
    save_model_file(tmp_path / "bad.pneumo", tensors, dict(metadata, detector=dict(meta, classes=meta["classes"][:2])))
    with pytest.raises(ModelFileError, match="detector's weights do not fit"):
        Classifier.load(tmp_path / "bad.pneumo")


def test_devices_are_drawn_on_the_chosen_share_of_films(synth):
    from pneumo_desktop.core.detector import add_devices

    films = _chests(synth, range(32), size=96)
    none = add_devices(films, torch.Generator().manual_seed(0), share=0.0)
    assert torch.equal(none, films)
    drawn = add_devices(films, torch.Generator().manual_seed(0), share=1.0)
    assert drawn.shape == films.shape and drawn.dtype == torch.uint8
    changed = (drawn != films).flatten(1).any(1)
    assert int(changed.sum()) >= 28  # an image may draw nothing (no tube, electrode or marker)
    # Devices are radiopaque: drawn pixels are bright, and only a small part of the film changes.
    diff = drawn.to(torch.int16) - films.to(torch.int16)
    assert int((diff > 0).sum()) > 4 * int((diff < 0).sum())
    assert float((drawn != films).float().mean()) < 0.05
    again = add_devices(films, torch.Generator().manual_seed(0), share=1.0)
    assert torch.equal(drawn, again), "seeded"
