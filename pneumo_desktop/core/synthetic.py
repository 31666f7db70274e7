"""A synthetic chest-radiograph-like test pattern: the self-test, the app's warm-up and the tests use
it where no real film is at hand."""

from __future__ import annotations

import numpy as np


def synthetic_chest_image(size: int = 512, seed: int = 7) -> np.ndarray:
    """A smooth chest-radiograph-like test pattern, uint8 (size, size).

    Dark lung fields either side of a bright mediastinum, a bright body outline and ribs; it
    passes the image-statistics gate while being obviously synthetic to a person.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    body = np.exp(-(((x - 0.5) / 0.42) ** 6 + ((y - 0.55) / 0.5) ** 6))
    lungs = sum(np.exp(-(((x - cx) / 0.15) ** 2 + ((y - 0.5) / 0.28) ** 2)) for cx in (0.32, 0.68))
    ribs = 0.08 * (np.sin(y * 60) > 0.7) * (lungs > 0.2)
    image = 0.15 + 0.7 * body - 0.45 * lungs + ribs
    image += 0.25 * np.exp(-(((x - 0.5) / 0.07) ** 2)) * (y > 0.2)
    image += rng.normal(0, 0.01, image.shape)
    return np.clip(image * 255, 0, 255).astype(np.uint8)


def synthetic_film(height: int, width: int, seed: int = 1) -> np.ndarray:
    """A full-size chest-like film, float32 (height, width) in [0, 1]: the synthetic chest pattern
    enlarged, with texture, pixel noise, a dark collimation frame and a bright burnt-in label (the
    hard edges and clipped areas of a real film). For decoding benchmarks and tests."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    base = synthetic_chest_image(size=256, seed=seed).astype(np.float32) / 255
    img = np.asarray(Image.fromarray(base, mode="F").resize((width, height), Image.Resampling.BICUBIC))
    texture = rng.standard_normal((height // 16, width // 16), dtype=np.float32)
    img = img + 0.04 * np.asarray(Image.fromarray(texture, mode="F").resize((width, height),
                                                                           Image.Resampling.BILINEAR))
    img += rng.standard_normal((height, width), dtype=np.float32) * np.float32(0.02)
    frame = height // 20
    img[:frame] = 0.02
    img[-frame:] = 0.02
    img[:, :frame] = 0.02
    img[height // 10:height // 10 + height // 25, width - width // 5:width - width // 10] = 1.0
    return np.clip(img, 0.0, 1.0)


def write_synthetic_dicom(path, stored: np.ndarray, photometric: str = "MONOCHROME2", **elements):
    """Write ``stored`` (integer (rows, columns), 16 bits allocated) as an uncompressed DX DICOM
    at ``path`` and return the path. ``BitsStored`` defaults to 16; any other keyword becomes a
    DICOM element (``WindowCenter``, ``RescaleSlope``, ``VOILUTSequence`` …). For benchmarks and
    tests that need full-size DICOM films."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # digital X-ray, for presentation
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.BitsAllocated = 16
    ds.BitsStored = elements.pop("BitsStored", 16)
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if np.issubdtype(stored.dtype, np.signedinteger) else 0
    ds.PixelData = stored.tobytes()
    for key, value in elements.items():
        setattr(ds, key, value)
    ds.save_as(path, enforce_file_format=True)
    return path
