"""The model-input read path (``imageio.read_image_for_model``, used by ``decode.decode_for_model``
and training's ``dataset``) against the full-resolution ``read_image`` + ``prepare_image``.

Full-size films (about 2,800 px; 12- and 16-bit DICOM with window, rescale, MONOCHROME1 and a
VOI LUT sequence; 16- and 8-bit PNG; JPEG) are generated once for the module.

Tolerances (uint8 levels of the model input, ``prepare_image``'s output):

* without equalisation: max |difference| <= 4 and mean <= 0.25 (measured: at most 3, means
  0.05-0.16). This is what resizing in two steps (an integer block mean, then the antialiased
  bilinear resize) costs against one resize; the DICOM transforms themselves are exact to 1e-6
  before the resize (tested below), a LINEAR window to one stored level.
* with histogram equalisation (the shipped models): mean <= 1.0 and at most 0.5 % of the
  pixels more than 4 levels off. Equalisation maps a level next to a tall histogram peak (a
  clipped or burnt-in area) across the whole peak, so a 1-level rounding difference there can
  become tens of levels at a few pixels; its maximum is not a useful bound.
* the tiny model's probabilities: within 1e-3 (measured: 2e-4).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pneumo_desktop.core import dataset
from pneumo_desktop.core.decode import decode_for_model
from pneumo_desktop.core.image_basics import MODEL_READ_MARGIN, block_mean, reduction_factor
from pneumo_desktop.core.image_preparation import Preprocessing, prepare_image, prepare_xray
from pneumo_desktop.core.imageio import read_image, read_image_for_model
from pneumo_desktop.core.synthetic import synthetic_film, write_synthetic_dicom

SIDE = 150
MAX_PLAIN = 4
MEAN_PLAIN = 0.25
MEAN_EQUALISED = 1.0
FAR_EQUALISED = 0.005
PROBABILITY = 1e-3


def film(h: int, w: int, seed: int) -> np.ndarray:
    """A chest-like float32 (h, w) film in [0, 1] (``core.synthetic.synthetic_film``)."""
    return synthetic_film(h, w, seed)


def write_dicom(path: Path, arr: np.ndarray, photometric: str = "MONOCHROME2", **elements) -> Path:
    return write_synthetic_dicom(path, arr, photometric, **elements)


def voi_lut(entries: int, gamma: float):
    """A VOI LUT Sequence: ``entries`` 16-bit entries from 0, a gamma curve."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    item = Dataset()
    item.add_new(0x00283002, "US", [entries, 0, 16])
    item.add_new(0x00283006, "US", [int(65535 * (i / (entries - 1)) ** gamma) for i in range(entries)])
    return Sequence([item])


@pytest.fixture(scope="module")
def films(tmp_path_factory) -> dict[str, Path]:
    """Full-size films, written once: name -> path."""
    root = tmp_path_factory.mktemp("full-size")
    square = film(2800, 2800, 1)
    wide = film(2304, 2816, 2)  # non-square, as most detector formats are
    stored12 = np.round(square * 3800 + 100).astype(np.uint16)
    stored16 = np.round(wide * 60000 + 1000).astype(np.uint16)
    u8 = np.round(square * 255).astype(np.uint8)
    paths = {
        "dicom12_window": write_dicom(root / "w.dcm", stored12, BitsStored=12, WindowCenter=2000,
                                      WindowWidth=1500),
        "dicom16_mono1_rescale": write_dicom(root / "m1.dcm", 65535 - stored16, "MONOCHROME1", RescaleSlope=0.5,
                                             RescaleIntercept=-100, WindowCenter=15000, WindowWidth=25000),
        "dicom12_voi_lut": write_dicom(root / "lut.dcm", stored12, BitsStored=12, VOILUTSequence=voi_lut(4096, 0.6)),
        "png16": root / "p16.png",
        "png8": root / "p8.png",
        "jpeg": root / "j.jpg",
    }
    Image.fromarray(np.round(wide * 65535).astype(np.uint16)).save(paths["png16"], compress_level=1)
    Image.fromarray(u8).save(paths["png8"], compress_level=1)
    Image.fromarray(u8).save(paths["jpeg"], quality=90)
    return paths


@pytest.fixture(scope="module")
def full_reads(films) -> dict:
    """The full-resolution read of every film, once."""
    return {name: read_image(path) for name, path in films.items()}


def level_differences(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    assert a.shape == b.shape and a.dtype == b.dtype == np.uint8
    return np.abs(a.astype(np.int16) - b.astype(np.int16))


@pytest.mark.parametrize("name", ["png8", "jpeg"])
def test_eight_bit_films_are_read_exactly_as_read_image_reads_them(films, full_reads, name):
    """8-bit PNG and JPEG keep the exact path: the shipped models' recorded figures and
    bit-for-bit retraining on the (8-bit JPEG) training data depend on it."""
    full = full_reads[name]
    small = read_image_for_model(films[name], SIDE)
    assert small.reduction == 1 and small.model_box is None
    assert np.array_equal(small.pixels, full.pixels) and small.original_size == full.original_size
    prep = Preprocessing(input_size=SIDE, equalise="hist")
    assert np.array_equal(prepare_xray(small, prep), prepare_image(full.pixels, prep))


@pytest.mark.parametrize("name", ["dicom12_window", "dicom16_mono1_rescale", "dicom12_voi_lut", "png16"])
def test_model_input_matches_the_full_resolution_read(films, full_reads, name):
    full = full_reads[name]
    small = read_image_for_model(films[name], SIDE)
    assert small.reduction > 1 and small.pixels.dtype == np.float32
    assert small.original_size == full.original_size
    assert min(small.pixels.shape) >= MODEL_READ_MARGIN * SIDE - 1
    assert (small.source_format, small.bit_depth, small.dicom_info) == (full.source_format, full.bit_depth,
                                                                       full.dicom_info)
    assert small.colourfulness == pytest.approx(full.colourfulness, abs=0.01)
    assert 0.0 <= small.pixels.min() and small.pixels.max() <= 1.0

    plain = Preprocessing(input_size=SIDE, equalise="none")
    diff = level_differences(prepare_image(full.pixels, plain), prepare_xray(small, plain))
    assert diff.max() <= MAX_PLAIN and diff.mean() <= MEAN_PLAIN, (diff.max(), diff.mean())

    equalised = Preprocessing(input_size=SIDE, equalise="hist")
    diff = level_differences(prepare_image(full.pixels, equalised), prepare_xray(small, equalised))
    assert diff.mean() <= MEAN_EQUALISED and (diff > 4).mean() <= FAR_EQUALISED, (diff.mean(), (diff > 4).mean())


def test_tiny_model_gives_the_same_probabilities(films, full_reads, tiny_classifier):
    prep = tiny_classifier.preprocessing
    old = np.stack([tiny_classifier.prepare(full_reads[name].pixels) for name in films])
    decoded = [decode_for_model(str(path), prep) for path in films.values()]
    assert [d.status for d in decoded] == ["ok"] * len(films), [d.message for d in decoded]
    assert [d.size for d in decoded] == [full_reads[name].pixels.shape for name in films]
    new = np.stack([d.image_u8 for d in decoded])
    old_probs, _ = tiny_classifier.predict_batch(old)
    new_probs, _ = tiny_classifier.predict_batch(new)
    assert np.abs(old_probs - new_probs).max() <= PROBABILITY


def test_training_reads_films_as_prediction_does(films):
    prep = Preprocessing(input_size=64, equalise="none")
    for path in (films["dicom12_window"], films["png16"]):
        assert np.array_equal(dataset._decode_one(str(path), prep), decode_for_model(str(path), prep).image_u8)
    assert dataset.DECODE_CACHE_VERSION >= 3  # caches of full-resolution reads are not reused


# ----- DICOM transforms on the reduced array --------------------------------------------------

def stored_ramp(h: int, w: int, lo: int, hi: int, seed: int, dtype=np.uint16) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    values = lo + (hi - lo) * (0.5 + 0.45 * np.sin(x / 37.0) * np.cos(y / 53.0)) + rng.normal(0, 40, (h, w))
    return np.clip(np.round(values), lo, hi).astype(dtype)


DICOM_CASES = {
    "no_voi": dict(),
    "window": dict(WindowCenter=2000, WindowWidth=1000),
    "window_exact": dict(WindowCenter=2000, WindowWidth=999, VOILUTFunction="LINEAR_EXACT"),
    "sigmoid": dict(WindowCenter=2000, WindowWidth=1500, VOILUTFunction="SIGMOID"),
    "negative_slope": dict(RescaleSlope=-1, RescaleIntercept=4000, WindowCenter=2000, WindowWidth=1200),
    "voi_lut": dict(VOILUTSequence=voi_lut(4096, 0.5)),
    "mono1": dict(photometric="MONOCHROME1", WindowCenter=1800, WindowWidth=2500),
}


@pytest.mark.parametrize("case", sorted(DICOM_CASES))
def test_reduced_dicom_is_the_full_read_block_averaged(tmp_path, case):
    """Before any resize: the reduced pixels are the full read's, averaged over k x k blocks
    (odd sizes: partial blocks at the edges). Exact, except a LINEAR window, where a clipped
    pixel in a partly clipped block may count up to one stored level off."""
    elements = dict(DICOM_CASES[case])
    photometric = elements.pop("photometric", "MONOCHROME2")
    arr = stored_ramp(1003, 1301, 0, 4095, seed=len(case))
    path = write_dicom(tmp_path / f"{case}.dcm", arr, photometric, BitsStored=12, **elements)
    full = read_image(path)
    small = read_image_for_model(path, 64)
    k = reduction_factor(1301, 1003, 64)
    assert small.reduction == k == 5 and small.pixels.shape == (201, 261)
    expected = block_mean(full.pixels, k)
    width = float(elements.get("WindowWidth", 1e9))
    tolerance = 1.0 / width + 1e-6 if "WindowWidth" in elements and case != "sigmoid" else 1e-6
    assert np.abs(small.pixels - expected).max() <= tolerance


def test_signed_dicom_with_a_negative_intercept(tmp_path):
    arr = stored_ramp(700, 650, -1024, 3071, seed=5, dtype=np.int16)
    path = write_dicom(tmp_path / "ct.dcm", arr, RescaleSlope=1, RescaleIntercept=-1024, WindowCenter=40,
                       WindowWidth=400)
    full, small = read_image(path), read_image_for_model(path, 64)
    assert small.reduction == 3
    assert np.abs(small.pixels - block_mean(full.pixels, 3)).max() <= 1 / 400 + 1e-6


# ----- sizes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1001, 777), (777, 1001), (450, 449), (1000, 200)])
def test_odd_and_non_square_sizes(tmp_path, shape):
    h, w = shape
    arr = np.round(film(h, w, 3) * 65535).astype(np.uint16)
    path = tmp_path / "odd.png"
    Image.fromarray(arr).save(path)
    small = read_image_for_model(path, 64)
    full = read_image(path)
    k = max(1, min(h, w) // (MODEL_READ_MARGIN * 64))
    assert small.reduction == k and small.original_size == (w, h)
    assert small.pixels.shape == (-(-h // k), -(-w // k))
    assert small.model_box == (None if k == 1 else (0.0, 0.0, w / k, h / k))
    prep = Preprocessing(input_size=64, equalise="none")
    diff = level_differences(prepare_image(full.pixels, prep), prepare_xray(small, prep))
    assert diff.max() <= MAX_PLAIN and diff.mean() <= MEAN_PLAIN


def test_images_smaller_than_the_margin_are_read_unchanged(tmp_path, synth):
    path = synth.write_png(tmp_path / "small.png", synth.chest_image(7, True, size=200))
    prep = Preprocessing(input_size=150)
    small, full = read_image_for_model(path, prep.input_size), read_image(path)
    assert small.reduction == 1 and small.model_box is None
    assert np.array_equal(small.pixels, full.pixels) and small.original_size == full.original_size
    assert np.array_equal(decode_for_model(str(path), prep).image_u8, prepare_image(full.pixels, prep))


def test_eight_bit_jpeg_keeps_its_orientation_and_exact_pixels(tmp_path):
    arr = np.round(film(900, 1400, 4) * 255).astype(np.uint8)
    image = Image.fromarray(arr)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "turned.jpg"
    image.save(path, quality=92, exif=exif)
    full, small = read_image(path), read_image_for_model(path, 64)
    assert full.original_size == (900, 1400) and small.original_size == (900, 1400)
    assert small.reduction == 1 and np.array_equal(small.pixels, full.pixels)


def test_rgb_png_keeps_its_colourfulness(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (700, 800, 3), dtype=np.uint8)
    path = tmp_path / "colour.png"
    Image.fromarray(rgb).save(path, compress_level=1)
    full, small = read_image(path), read_image_for_model(path, 64)
    assert small.reduction == 1
    assert small.colourfulness == pytest.approx(full.colourfulness, abs=1e-9)
    assert np.array_equal(small.pixels, full.pixels)
    assert decode_for_model(str(path), Preprocessing(input_size=64)).status == "unsupported"


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, ">u2", np.int16, np.int32, np.float32])
def test_block_mean_averages_partial_blocks(dtype):
    rng = np.random.default_rng(1)
    arr = rng.integers(0 if dtype in (np.uint8,) else -100 if dtype in (np.int16, np.int32) else 0,
                       200, (23, 17)).astype(dtype)
    got = block_mean(arr, 4)
    want = np.array([[arr[i:i + 4, j:j + 4].astype(np.float64).mean() for j in range(0, 17, 4)]
                     for i in range(0, 23, 4)])
    assert got.shape == (6, 5) and np.allclose(got, want, rtol=0, atol=1e-9)
    rgb = rng.integers(0, 256, (9, 10, 3)).astype(np.uint8)
    want = np.stack([block_mean(rgb[..., c], 3) for c in range(3)], axis=-1)
    assert np.array_equal(block_mean(rgb, 3), want)
    assert block_mean(arr, 1) is arr
