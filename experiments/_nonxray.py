"""Real images that are not chest X-rays, taken from packages this project already installs,
written as files so that they pass through the app's own readers.

* ``write_matplotlib_samples(folder)``: matplotlib's sample data, in grayscale: a portrait
  photograph, a brain MRI slice, two terrain maps and two logos.
* ``pydicom_test_files()``: the DICOM test files that ship with pydicom (CT and MR slices,
  secondary captures, …), used as they are.

No image is copied into the repository; both sets are read from the installed packages.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np


def _to_u8(values: np.ndarray) -> np.ndarray:
    values = values.astype(np.float64)
    return np.round(255 * (values - values.min()) / max(np.ptp(values), 1e-9)).astype(np.uint8)


def write_matplotlib_samples(folder: Path) -> list[Path]:
    """Write matplotlib's sample images as 8-bit grayscale PNGs into ``folder``; return the paths."""
    import matplotlib
    from PIL import Image

    samples = Path(matplotlib.get_data_path()) / "sample_data"
    folder.mkdir(parents=True, exist_ok=True)
    images = {
        "portrait_photograph": np.asarray(Image.open(samples / "grace_hopper.jpg").convert("L")),
        "brain_mri": _to_u8(np.frombuffer(gzip.open(samples / "s1045.ima.gz").read(), np.uint16).reshape(256, 256)),
        "terrain_elevation": _to_u8(np.load(samples / "jacksboro_fault_dem.npz")["elevation"]),
        "terrain_topobathy": _to_u8(np.load(samples / "topobathy.npz")["topo"]),
        "logo": np.asarray(Image.open(samples / "logo2.png").convert("L")),
        "logo_present": np.asarray(Image.open(samples / "Minduka_Present_Blue_Pack.png").convert("L")),
    }
    paths = []
    for name, pixels in images.items():
        path = folder / f"{name}.png"
        Image.fromarray(pixels, mode="L").save(path)
        paths.append(path)
    return paths


def pydicom_test_files() -> list[Path]:
    """Every DICOM file in pydicom's bundled test data, sorted by name."""
    import pydicom

    folder = Path(pydicom.__file__).parent / "data" / "test_files"
    return sorted(folder.glob("*.dcm"))
