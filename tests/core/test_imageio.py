"""Tests for pneumo_desktop.core.imageio. Every input is generated here, in tmp_path."""

from __future__ import annotations

import os
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pneumo_desktop.core.errors import ImageReadError
from pneumo_desktop.core.imageio import (
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    MIN_SIDE,
    XrayImage,
    is_dicom_file,
    list_input_files,
    read_image,
)

# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def gradient_u8(h: int = 80, w: int = 96) -> np.ndarray:
    """(h, w) uint8 with distinct-ish values; left column dark, right column bright."""
    return np.tile(np.linspace(0, 255, w).round().astype(np.uint8), (h, 1))


def save(tmp_path: Path, name: str, arr_or_img, **kwargs) -> Path:
    img = arr_or_img if isinstance(arr_or_img, Image.Image) else Image.fromarray(arr_or_img)
    path = tmp_path / name
    img.save(path, **kwargs)
    return path


def expect_error(path, reason: str) -> ImageReadError:
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    err = info.value
    assert err.reason == reason, f"expected {reason}, got {err.reason}: {err}"
    assert str(err).startswith(Path(path).name), str(err)
    assert err.path == str(path)
    return err


def assert_valid(img: XrayImage, shape: tuple[int, int]) -> None:
    assert isinstance(img, XrayImage)
    assert img.pixels.dtype == np.float32
    assert img.pixels.shape == shape
    assert img.original_size == (shape[1], shape[0])
    assert float(img.pixels.min()) >= 0.0 and float(img.pixels.max()) <= 1.0


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def patch_png_size(path: Path, width: int, height: int) -> None:
    """Rewrite the IHDR width/height of a real PNG and fix the chunk CRC."""
    data = bytearray(path.read_bytes())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))


def make_dicom(
    path: Path,
    arr: np.ndarray | None,
    photometric: str = "MONOCHROME2",
    transfer_syntax=None,
    pixel_bytes: bytes | None = None,
    **elements,
) -> Path:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    sop_class = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = transfer_syntax or ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.PatientID = "TEST-001"
    ds.PhotometricInterpretation = photometric
    if arr is not None:
        samples = 3 if arr.ndim == 3 else 1
        ds.Rows, ds.Columns = arr.shape[:2]
        ds.SamplesPerPixel = samples
        if samples == 3:
            ds.PlanarConfiguration = 0
        bits = 8 if arr.dtype == np.uint8 else 16
        ds.BitsAllocated = bits
        ds.BitsStored = elements.pop("BitsStored", bits)
        ds.HighBit = ds.BitsStored - 1
        ds.PixelRepresentation = 1 if np.issubdtype(arr.dtype, np.signedinteger) else 0
        ds.PixelData = pixel_bytes if pixel_bytes is not None else arr.tobytes()
    for key, value in elements.items():
        setattr(ds, key, value)
    ds.save_as(path, enforce_file_format=True)
    return path


# --------------------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------------------


def test_constants():
    assert MIN_SIDE == 64
    assert MAX_PIXELS == 100_000_000
    assert IMAGE_SUFFIXES == frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm", ".dicom"})


def test_module_imports_neither_qt_nor_pydicom_eagerly():
    import subprocess
    import sys

    code = (
        "import sys, pneumo_desktop.core.imageio;"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'PyQt', 'pydicom'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------------------
# Pillow formats
# --------------------------------------------------------------------------------------


def test_png_8bit_gray(tmp_path):
    arr = gradient_u8()
    img = read_image(save(tmp_path, "g.png", arr))
    assert_valid(img, arr.shape)
    np.testing.assert_allclose(img.pixels, arr / 255.0, atol=1e-6)
    assert img.source_format == "PNG"
    assert img.bit_depth == 8
    assert img.colourfulness == 0.0
    assert img.dicom_info is None
    assert img.path == str(tmp_path / "g.png")


def test_png_16bit_keeps_distinct_values_and_scale(tmp_path):
    arr = np.zeros((64, 64), dtype=np.uint16)
    arr[0, 0] = 65535
    arr[0, 1] = 32768
    arr[0, 2] = 1
    arr[0, 3] = 2
    arr[1:, :] = np.arange(63 * 64, dtype=np.uint16).reshape(63, 64) * 16
    img = read_image(save(tmp_path, "g16.png", arr))
    assert_valid(img, arr.shape)
    assert img.bit_depth == 16
    assert img.pixels[0, 0] == pytest.approx(1.0)
    assert img.pixels[0, 1] == pytest.approx(0.5, abs=1e-4)
    assert img.pixels[0, 2] != img.pixels[0, 3]  # 16-bit precision survives
    np.testing.assert_allclose(img.pixels, arr / 65535.0, atol=1e-6)


def test_png_rgb_gray_content_has_no_colour(tmp_path):
    gray = gradient_u8()
    rgb = np.stack([gray, gray, gray], axis=-1)
    img = read_image(save(tmp_path, "rgb.png", rgb))
    assert_valid(img, gray.shape)
    np.testing.assert_allclose(img.pixels, gray / 255.0, atol=1e-5)
    assert img.colourfulness == pytest.approx(0.0, abs=1e-6)


def test_png_rgb_colourful_image(tmp_path):
    rgb = np.zeros((64, 64, 3), dtype=np.uint8)
    rgb[..., 0] = 255  # pure red everywhere: chroma 1
    rgb[32:, :, 0] = 0
    rgb[32:, :, 2] = 255  # pure blue on the lower half: chroma 1
    img = read_image(save(tmp_path, "red.png", rgb))
    assert img.colourfulness == pytest.approx(1.0)
    assert img.pixels[0, 0] == pytest.approx(0.299, abs=1e-4)
    assert img.pixels[-1, 0] == pytest.approx(0.114, abs=1e-4)


def test_png_rgba_ignores_alpha(tmp_path):
    gray = gradient_u8()
    rgba = np.stack([gray, gray, gray, np.zeros_like(gray)], axis=-1)  # fully transparent
    img = read_image(save(tmp_path, "rgba.png", rgba))
    assert_valid(img, gray.shape)
    np.testing.assert_allclose(img.pixels, gray / 255.0, atol=1e-5)


def test_png_la_and_palette_and_1bit(tmp_path):
    gray = gradient_u8()
    la = Image.merge("LA", [Image.fromarray(gray), Image.fromarray(np.full_like(gray, 128))])
    img = read_image(save(tmp_path, "la.png", la))
    np.testing.assert_allclose(img.pixels, gray / 255.0, atol=1e-6)

    pal = Image.fromarray(gray).convert("P")  # palette of gray entries
    img = read_image(save(tmp_path, "p.png", pal))
    assert_valid(img, gray.shape)
    assert img.colourfulness == pytest.approx(0.0, abs=1e-6)
    assert img.pixels[0, 0] < 0.05 and img.pixels[0, -1] > 0.95

    colour_pal = Image.fromarray(np.full((64, 64, 3), (0, 200, 0), dtype=np.uint8)).quantize(4)
    assert colour_pal.mode == "P"
    img = read_image(save(tmp_path, "pc.png", colour_pal))
    assert img.colourfulness > 0.7

    bits = Image.fromarray(gray > 127).convert("1")
    img = read_image(save(tmp_path, "b.png", bits))
    assert_valid(img, gray.shape)
    assert set(np.unique(img.pixels).tolist()) == {0.0, 1.0}


def test_jpeg(tmp_path):
    arr = gradient_u8()
    img = read_image(save(tmp_path, "g.jpg", arr, quality=95))
    assert_valid(img, arr.shape)
    assert img.source_format == "JPEG"
    np.testing.assert_allclose(img.pixels, arr / 255.0, atol=0.03)


def test_jpeg_colour_photo_is_colourful(tmp_path):
    rgb = np.zeros((64, 64, 3), dtype=np.uint8)
    rgb[:, :32] = (220, 40, 30)  # smooth colour areas survive JPEG chroma subsampling
    rgb[:, 32:] = (30, 60, 220)
    img = read_image(save(tmp_path, "photo.jpeg", rgb, quality=95))
    assert img.colourfulness > 0.6


def test_bmp(tmp_path):
    arr = gradient_u8()
    img = read_image(save(tmp_path, "g.bmp", arr))
    assert_valid(img, arr.shape)
    assert img.source_format == "BMP"
    np.testing.assert_allclose(img.pixels, arr / 255.0, atol=1e-6)


def test_tiff_8bit_and_16bit(tmp_path):
    arr = gradient_u8()
    img = read_image(save(tmp_path, "g.tif", arr))
    assert_valid(img, arr.shape)
    assert img.source_format == "TIFF"
    assert img.bit_depth == 8
    np.testing.assert_allclose(img.pixels, arr / 255.0, atol=1e-6)

    arr16 = (np.arange(64 * 70, dtype=np.uint32).reshape(64, 70) * 14).astype(np.uint16)
    arr16[0, 0] = 65535
    img = read_image(save(tmp_path, "g16.tiff", arr16))
    assert_valid(img, arr16.shape)
    assert img.bit_depth == 16
    np.testing.assert_allclose(img.pixels, arr16 / 65535.0, atol=1e-6)

    big_endian = Image.frombytes("I;16B", (70, 64), arr16.astype(">u2").tobytes())
    img = read_image(save(tmp_path, "g16b.tif", big_endian))
    np.testing.assert_allclose(img.pixels, arr16 / 65535.0, atol=1e-6)


def test_float_tiff_outside_unit_range_is_min_max_scaled(tmp_path):
    arr = np.linspace(-5.0, 15.0, 64 * 64, dtype=np.float32).reshape(64, 64)
    img = read_image(save(tmp_path, "f.tif", Image.fromarray(arr, mode="F")))
    assert_valid(img, arr.shape)
    assert img.pixels.min() == 0.0 and img.pixels.max() == pytest.approx(1.0)


def test_exif_orientation_is_applied(tmp_path):
    h, w = 64, 100
    arr = np.zeros((h, w), dtype=np.uint8)
    arr[:, :10] = 255  # bright band on the left edge
    im = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = save(tmp_path, "rot.jpg", im, exif=exif.tobytes(), quality=95)
    img = read_image(path)
    assert img.pixels.shape == (w, h)
    assert img.original_size == (h, w)
    # After a clockwise turn the left band is on top.
    assert img.pixels[:5].mean() > 0.9 and img.pixels[-5:].mean() < 0.1


# --------------------------------------------------------------------------------------
# DICOM
# --------------------------------------------------------------------------------------


def ramp_u16(h: int = 64, w: int = 80, top: int = 4095) -> np.ndarray:
    return np.tile(np.linspace(0, top, w).round().astype(np.uint16), (h, 1))


def test_dicom_monochrome2(tmp_path):
    arr = ramp_u16()
    path = make_dicom(tmp_path / "m2.dcm", arr, BitsStored=12)
    assert is_dicom_file(path)
    img = read_image(path)
    assert_valid(img, arr.shape)
    assert img.source_format == "DICOM"
    assert img.bit_depth == 16
    assert img.colourfulness == 0.0
    assert img.pixels[0, -1] == pytest.approx(1.0) and img.pixels[0, 0] == pytest.approx(0.0)
    assert img.dicom_info == {
        "Modality": "DX",
        "BodyPartExamined": "CHEST",
        "ViewPosition": "PA",
        "PhotometricInterpretation": "MONOCHROME2",
        "PatientID": "TEST-001",
    }


def test_dicom_monochrome1_is_inverted(tmp_path):
    arr = ramp_u16()
    img = read_image(make_dicom(tmp_path / "m1.dcm", arr, photometric="MONOCHROME1", BitsStored=12))
    assert img.pixels[0, -1] == pytest.approx(0.0)  # highest stored value shows black
    assert img.pixels[0, 0] == pytest.approx(1.0)


def test_dicom_8bit(tmp_path):
    arr = gradient_u8()
    img = read_image(make_dicom(tmp_path / "m8.dcm", arr))
    assert img.bit_depth == 8
    np.testing.assert_allclose(img.pixels, arr / 255.0, atol=1e-6)


def test_dicom_rescale_slope_intercept_is_applied(tmp_path):
    # Stored 0..1000, slope -1: the larger stored value becomes the darker one.
    arr = np.tile(np.linspace(0, 1000, 80).round().astype(np.uint16), (64, 1))
    img = read_image(make_dicom(tmp_path / "r.dcm", arr, RescaleSlope=-1, RescaleIntercept=0))
    assert img.pixels[0, 0] == pytest.approx(1.0)
    assert img.pixels[0, -1] == pytest.approx(0.0)

    # Together with a window given in rescaled units (HU-like): values -1000..1000.
    img = read_image(
        make_dicom(
            tmp_path / "rw.dcm",
            np.tile(np.linspace(0, 2000, 80).round().astype(np.uint16), (64, 1)),
            RescaleSlope=1,
            RescaleIntercept=-1000,
            WindowCenter=0,
            WindowWidth=1000,
        )
    )
    col = img.pixels[0]
    values = np.linspace(0, 2000, 80).round() - 1000
    assert np.all(col[values <= -500] == 0.0)
    assert np.all(col[values > 500] == 1.0)
    mid = np.argmin(np.abs(values))
    assert col[mid] == pytest.approx(0.5, abs=0.03)


def test_dicom_negative_slope_with_window_keeps_low_values_black(tmp_path):
    stored = np.linspace(0, 2000, 80).round()
    arr = np.tile(stored.astype(np.uint16), (64, 1))
    img = read_image(
        make_dicom(tmp_path / "nw.dcm", arr, RescaleSlope=-1, RescaleIntercept=1000, WindowCenter=0, WindowWidth=1000)
    )
    values = 1000 - stored
    assert np.all(img.pixels[0][values <= -500] == 0.0)
    assert np.all(img.pixels[0][values > 500] == 1.0)


def test_dicom_window_clips(tmp_path):
    arr = ramp_u16()
    img = read_image(make_dicom(tmp_path / "w.dcm", arr, BitsStored=12, WindowCenter=1000, WindowWidth=500))
    values = arr[0].astype(float)
    col = img.pixels[0]
    assert np.all(col[values <= 750] == 0.0)
    assert np.all(col[values > 1250] == 1.0)
    inside = (values > 760) & (values < 1240)
    assert inside.any() and np.all((col[inside] > 0) & (col[inside] < 1))
    assert np.all(np.diff(col) >= 0)


def test_dicom_wide_window_is_not_stretched(tmp_path):
    # Data 1000..3000 inside a window spanning 0..4095: stays mid-gray, as displayed.
    arr = np.tile(np.linspace(1000, 3000, 80).round().astype(np.uint16), (64, 1))
    img = read_image(make_dicom(tmp_path / "ww.dcm", arr, BitsStored=12, WindowCenter=2048, WindowWidth=4096))
    assert img.pixels.min() == pytest.approx(1000 / 4095, abs=0.01)
    assert img.pixels.max() == pytest.approx(3000 / 4095, abs=0.01)


def test_dicom_voi_lut_sequence_is_applied(tmp_path):
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    item = Dataset()
    item.add_new(0x00283002, "US", [4096, 0, 8])  # LUTDescriptor: 4096 entries from 0, 8-bit
    item.add_new(0x00283006, "US", [min(i // 8, 255) for i in range(4096)])  # saturates at 2040
    arr = ramp_u16()
    img = read_image(make_dicom(tmp_path / "lut.dcm", arr, BitsStored=12, VOILUTSequence=Sequence([item])))
    values = arr[0]
    assert np.all(img.pixels[0][values >= 2040] == 1.0)
    assert img.pixels[0][np.argmin(np.abs(values.astype(int) - 1020))] == pytest.approx(0.5, abs=0.02)


def test_dicom_without_extension_detected_by_content(tmp_path):
    arr = ramp_u16()
    path = make_dicom(tmp_path / "IM000001", arr, BitsStored=12)
    assert is_dicom_file(path)
    img = read_image(path)
    assert img.source_format == "DICOM"
    assert_valid(img, arr.shape)


def test_dicom_multiframe_uses_first_frame(tmp_path):
    frames = np.stack([ramp_u16(), ramp_u16()[:, ::-1]])
    path = make_dicom(tmp_path / "mf.dcm", frames[0], BitsStored=12, pixel_bytes=frames.tobytes(), NumberOfFrames=2)
    img = read_image(path)
    assert_valid(img, frames.shape[1:])
    assert img.pixels[0, -1] == pytest.approx(1.0)


def test_dicom_rgb_is_converted_to_luma(tmp_path):
    rgb = np.zeros((64, 64, 3), dtype=np.uint8)
    rgb[..., 1] = 255
    img = read_image(make_dicom(tmp_path / "rgb.dcm", rgb, photometric="RGB"))
    assert_valid(img, (64, 64))
    assert img.pixels[0, 0] == pytest.approx(0.587, abs=1e-3)
    assert img.colourfulness == pytest.approx(1.0)


def test_dicom_without_pixel_data(tmp_path):
    path = make_dicom(tmp_path / "nopix.dcm", None, Rows=128, Columns=128)
    err = expect_error(path, "unsupported_format")
    assert "PixelData" in str(err)


def test_dicom_header_too_large_refused_before_reading_pixels(tmp_path):
    arr = ramp_u16()
    # Header claims 20000 x 20000; the pixel data is tiny, so decoding would fail differently.
    path = make_dicom(tmp_path / "huge.dcm", arr, BitsStored=12)
    from pydicom import dcmread

    ds = dcmread(path)
    ds.Rows = 20000
    ds.Columns = 20000
    ds.save_as(path, enforce_file_format=True)
    expect_error(path, "too_large")


def test_dicom_too_small(tmp_path):
    err = expect_error(make_dicom(tmp_path / "s.dcm", ramp_u16(32, 32)), "too_small")
    assert "32 x 32" in str(err)


def test_dicom_compressed_without_decoder(tmp_path):
    from pydicom.encaps import encapsulate
    from pydicom.pixels import get_decoder
    from pydicom.uid import JPEGLosslessSV1

    if get_decoder(JPEGLosslessSV1).is_available:
        pytest.skip("a JPEG Lossless decoder is installed here")
    arr = ramp_u16()
    path = make_dicom(
        tmp_path / "jll.dcm",
        arr,
        BitsStored=12,
        transfer_syntax=JPEGLosslessSV1,
        pixel_bytes=encapsulate([b"\xff\xd8\xff\xc3" + b"\x00" * 64]),
    )
    err = expect_error(path, "unsupported_format")
    assert "JPEG Lossless" in str(err)


def test_dicom_truncated_pixel_data(tmp_path):
    path = make_dicom(tmp_path / "t.dcm", ramp_u16(), BitsStored=12)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 4000])
    expect_error(path, "truncated")


def test_is_dicom_file_false_cases(tmp_path):
    assert not is_dicom_file(tmp_path / "nope.dcm")
    assert not is_dicom_file(tmp_path)
    assert not is_dicom_file(save(tmp_path, "g.png", gradient_u8()))
    short = tmp_path / "short.dcm"
    short.write_bytes(b"\x00" * 100)
    assert not is_dicom_file(short)


# --------------------------------------------------------------------------------------
# bad inputs
# --------------------------------------------------------------------------------------


def test_missing(tmp_path):
    err = expect_error(tmp_path / "nope.png", "missing")
    assert "nope.png" in str(err)


def test_directory(tmp_path):
    folder = tmp_path / "folder.png"
    folder.mkdir()
    expect_error(folder, "not_a_file")


def test_empty(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    expect_error(path, "empty")


def test_text_file_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("patient list\nnot an image\n" * 20)
    expect_error(path, "not_an_image")
    path = tmp_path / "random.jpg"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    expect_error(path, "not_an_image")


def test_dcm_extension_without_dicom_header(tmp_path):
    path = tmp_path / "fake.dcm"
    path.write_bytes(b"\x00" * 300)
    err = expect_error(path, "not_an_image")
    assert "DICM" in str(err)


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("JPEG", ".jpg")])
def test_truncated(tmp_path, fmt, suffix):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (128, 128), dtype=np.uint8)
    path = save(tmp_path, "t" + suffix, arr, format=fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    err = expect_error(path, "truncated")
    assert "truncated" in str(err)
    # Cut inside the header: still reported as truncated, not as "not an image".
    path.write_bytes(data[:20])
    expect_error(path, "truncated")


def test_too_small(tmp_path):
    err = expect_error(save(tmp_path, "s.png", np.zeros((32, 32), dtype=np.uint8)), "too_small")
    assert "32 x 32" in str(err)
    expect_error(save(tmp_path, "thin.png", np.zeros((500, 63), dtype=np.uint8)), "too_small")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("width,height", [(11_000, 10_000), (20_000, 20_000)])
def test_png_header_claiming_too_many_pixels(tmp_path, width, height):
    """Above MAX_PIXELS: our own check (110 MP); above 2x: Pillow's bomb guard (400 MP)."""
    path = save(tmp_path, "bomb.png", gradient_u8())
    patch_png_size(path, width, height)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        err = expect_error(path, "too_large")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 2.0
    assert peak < 5_000_000
    assert "too large" in str(err)


def test_hand_built_png_header_too_large(tmp_path):
    ihdr = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\x00" * 10))
    path = tmp_path / "hand.png"
    path.write_bytes(data + png_chunk(b"IEND", b""))
    expect_error(path, "too_large")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores file permissions")
def test_unreadable(tmp_path):
    path = save(tmp_path, "locked.png", gradient_u8())
    path.chmod(0)
    try:
        expect_error(path, "unreadable")
    finally:
        path.chmod(0o644)


def test_permission_error_on_open_is_unreadable(tmp_path, monkeypatch):
    """Same path as test_unreadable, simulated so that it also runs as root."""
    import builtins

    import pneumo_desktop.core.imageio as imageio

    path = save(tmp_path, "locked.png", gradient_u8())

    def deny(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(imageio, "open", deny, raising=False)
    err = expect_error(path, "unreadable")
    assert "permission denied" in str(err)


def test_unexpected_exception_is_wrapped(tmp_path, monkeypatch):
    import pneumo_desktop.core.imageio as imageio

    def boom(*_args, **_kwargs):
        raise RuntimeError("something odd")

    monkeypatch.setattr(imageio, "_read_with_pillow", boom)
    err = expect_error(save(tmp_path, "g.png", gradient_u8()), "unreadable")
    assert "something odd" in str(err)


# --------------------------------------------------------------------------------------
# list_input_files
# --------------------------------------------------------------------------------------


def test_list_input_files(tmp_path):
    root = tmp_path / "in"
    (root / "b_sub" / "deeper").mkdir(parents=True)
    (root / "a_sub").mkdir()
    (root / ".hidden_dir").mkdir()
    for rel in [
        "z.png",
        "a.txt",
        "b_sub/x.dcm",
        "b_sub/deeper/y",
        "a_sub/k.jpg",
        ".DS_Store",
        ".hidden_dir/secret.png",
        "b_sub/.hidden.png",
    ]:
        (root / rel).write_bytes(b"x")
    missing = tmp_path / "missing.png"
    direct_hidden = tmp_path / ".direct.png"
    direct_hidden.write_bytes(b"x")

    got = list_input_files([missing, str(root), direct_hidden, root / "z.png"])
    assert all(isinstance(p, Path) for p in got)
    assert got == [
        missing,
        root / "a.txt",
        root / "a_sub" / "k.jpg",
        root / "b_sub" / "deeper" / "y",
        root / "b_sub" / "x.dcm",
        root / "z.png",
        direct_hidden,
    ]
    assert list_input_files([root]) == list_input_files([str(root)])
    assert list_input_files([]) == []


def test_list_input_files_symlinks(tmp_path):
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.png").write_bytes(b"x")
    try:
        (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
        (root / "dangling.png").symlink_to(tmp_path / "gone.png")
    except (OSError, NotImplementedError):
        pytest.skip("symbolic links are not available here")
    got = list_input_files([root])
    # The loop back to the root is not walked again; the dangling link is kept.
    assert got == [root / "dangling.png", root / "sub" / "a.png"]
    expect_error(got[0], "missing")


def test_pydicom_repair_notes_stay_quiet():
    """pydicom warns about quirks it repairs (here: excess padding after the pixel data). The
    reader reads such a file and those notes do not reach the person's console."""
    import warnings

    import pydicom

    padded = Path(pydicom.__file__).parent / "data" / "test_files" / "MR_small_padded.dcm"
    if not padded.is_file():
        pytest.skip("pydicom's test files are not installed")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = read_image(padded)
    assert image.pixels.shape == (64, 64)
    assert [str(w.message) for w in caught if "pydicom" in (w.filename or "")] == []


# --------------------------------------------------------------------------------------
# read_image_for_model (the model-input read; its pixels are tested in test_fast_decode.py)
# --------------------------------------------------------------------------------------


def test_read_image_for_model_fails_as_read_image_does(tmp_path):
    from pneumo_desktop.core.imageio import read_image_for_model

    cases = {tmp_path / "missing.png": "missing", save(tmp_path, "tiny.png", gradient_u8(20, 20)): "too_small"}
    (tmp_path / "notes.txt").write_text("not an image")
    cases[tmp_path / "notes.txt"] = "not_an_image"
    for path, reason in cases.items():
        with pytest.raises(ImageReadError) as info:
            read_image_for_model(path, 150)
        assert info.value.reason == reason and str(info.value).startswith(path.name)


def test_full_reads_are_not_reduced(tmp_path):
    img = read_image(save(tmp_path, "g.png", gradient_u8(700, 900)))
    assert img.reduction == 1 and img.model_box is None
    assert img.original_size == img.pixels.shape[::-1] == (900, 700)
