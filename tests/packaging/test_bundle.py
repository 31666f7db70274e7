"""Build the PyInstaller one-folder bundle and prove the frozen app works (slow: minutes).

Run with ``pytest tests/packaging -m packaging``. Skipped when PyInstaller is missing or
``PNEUMO_SKIP_PACKAGING=1``. ``PNEUMO_BUNDLE_DIR=dist/pneumo-desktop`` tests an existing bundle
folder instead of building one into a temporary folder (it is made read-only during the tests
and given its permissions back afterwards).

Every frozen run happens from a different working directory, with HOME / PNEUMO_DESKTOP_HOME /
XDG_* pointing into a temporary folder and the bundle folder made read-only (``chmod -R a-w``).
As root, file modes do not stop writes, so each run is also followed by a comparison of the
bundle's full listing (paths, sizes, modification times) with the one taken before any run:
anything written, created or deleted inside the install folder fails the test.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
with open(ROOT / "pyproject.toml", "rb") as _f:
    _PROJECT = tomllib.load(_f)["project"]
NAME = _PROJECT["name"]
EXE_SUFFIX = ".exe" if sys.platform == "win32" else ""
IS_LINUX = sys.platform.startswith("linux")


def _skip_reason() -> str | None:
    if os.environ.get("PNEUMO_SKIP_PACKAGING") == "1":
        return "PNEUMO_SKIP_PACKAGING=1"
    if importlib.util.find_spec("PyInstaller") is None:
        return "PyInstaller is not installed (pip install '.[package]')"
    return None


pytestmark = [pytest.mark.packaging]
if _skip_reason():
    pytestmark.append(pytest.mark.skip(reason=_skip_reason()))


# --------------------------------------------------------------------------------------------
# The bundle: built once per module, snapshotted, made read-only.
# --------------------------------------------------------------------------------------------


def _listing(folder: Path) -> dict[str, tuple]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            kind = "l" if stat.S_ISLNK(st.st_mode) else "d" if stat.S_ISDIR(st.st_mode) else "f"
            out[os.path.relpath(path, folder)] = (kind, 0 if kind == "d" else st.st_size,
                                                  0 if kind == "d" else st.st_mtime_ns)
    return out


# The unpacked bundle's budget, bytes (bench/bench_bundle.py checks the same one).
BUNDLE_BUDGET_BYTES = 700 * 10**6


class Bundle:
    def __init__(self, folder: Path):
        self.folder = folder
        self.gui = folder / (NAME + EXE_SUFFIX)
        self.cli = folder / (NAME + "-cli" + EXE_SUFFIX)
        self.internal = folder / "_internal"
        self.snapshot = _listing(folder)

    def assert_unchanged(self) -> None:
        now = _listing(self.folder)
        added = sorted(set(now) - set(self.snapshot))
        removed = sorted(set(self.snapshot) - set(now))
        changed = sorted(k for k in set(now) & set(self.snapshot) if now[k] != self.snapshot[k])
        assert not (added or removed or changed), (
            f"the frozen app wrote into its install folder: added {added[:10]}, removed {removed[:10]}, "
            f"changed {changed[:10]}")


def _set_read_only(folder: Path) -> dict[str, int]:
    modes = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*filenames, *dirnames, ""]:
            path = os.path.join(dirpath, name) if name else dirpath
            if os.path.islink(path) or path in modes:
                continue
            mode = os.lstat(path).st_mode
            modes[path] = mode
    for path, mode in modes.items():
        os.chmod(path, stat.S_IMODE(mode) & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return modes


def _restore_modes(modes: dict[str, int]) -> None:
    for path in sorted(modes, key=len):  # parents first
        if os.path.lexists(path):
            os.chmod(path, stat.S_IMODE(modes[path]))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Bundle:
    existing = os.environ.get("PNEUMO_BUNDLE_DIR")
    if existing:
        folder = Path(existing).resolve()
        assert (folder / (NAME + EXE_SUFFIX)).is_file(), f"PNEUMO_BUNDLE_DIR={existing} holds no {NAME} executable"
    else:
        base = tmp_path_factory.mktemp("bundle")
        cmd = [sys.executable, str(ROOT / "packaging" / "build_bundle.py"), "--dist", str(base / "dist"),
               "--work", str(base / "work"), "--no-archive"]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
        assert proc.returncode == 0, f"bundle build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
        folder = base / "dist" / NAME
    modes = _set_read_only(folder)
    try:
        yield Bundle(folder)
    finally:
        _restore_modes(modes)


@pytest.fixture
def sandbox(tmp_path) -> dict:
    """A private HOME and working directory for one frozen run."""
    home = tmp_path / "home"
    work = tmp_path / "elsewhere"
    home.mkdir()
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PNEUMO_", "XDG_", "QT_", "MPL"))}
    env.update(HOME=str(home), USERPROFILE=str(home), APPDATA=str(home / "AppData"),
               PNEUMO_DESKTOP_HOME=str(home / "pneumo-data"), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_DATA_HOME=str(home / ".local" / "share"),
               QT_QPA_PLATFORM="offscreen", PNEUMO_DESKTOP_THREADS="2")
    return {"env": env, "cwd": work, "home": home, "tmp": tmp_path}


def run_frozen(bundle: Bundle, exe: Path, args: list[str], sandbox: dict, timeout: float = 600,
               extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(sandbox["env"], **(extra_env or {}))
    proc = subprocess.run([str(exe), *args], cwd=sandbox["cwd"], env=env, capture_output=True, text=True,
                          timeout=timeout)
    bundle.assert_unchanged()
    return proc


def _json_from(stdout: str):
    starts = [i for i in (stdout.find("{"), stdout.find("[")) if i >= 0]
    assert starts, f"no JSON in output:\n{stdout[-3000:]}"
    return json.loads(stdout[min(starts):])


def _explain(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-6000:]}"


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_bundle_layout(bundle: Bundle):
    assert bundle.gui.is_file() and bundle.cli.is_file()
    res = bundle.internal / "pneumo_desktop" / "resources"
    assert (res / "models" / "default.pneumo").is_file()
    source_res = ROOT / "pneumo_desktop" / "resources"
    import PySide6

    qt_translations = Path(PySide6.__file__).parent / "Qt" / "translations"
    for qm in (source_res / "i18n").glob("*.qm"):
        assert (res / "i18n" / qm.name).is_file(), f"translation {qm.name} missing from the bundle"
        qtbase = f"qtbase_{qm.stem.rsplit('_', 1)[-1]}.qm"  # Qt's own strings for the same language
        if (qt_translations / qtbase).is_file():
            assert (bundle.internal / "PySide6" / "Qt" / "translations" / qtbase).is_file(), qtbase
    for icon in (source_res / "icons").glob("app.*"):
        assert (res / "icons" / icon.name).is_file(), f"icon {icon.name} missing from the bundle"
    assert not list(res.rglob("*.ts")), "translation sources (.ts) should not ship"
    torch_dir = bundle.internal / "torch"
    for unwanted in ("include", "test", "share"):
        assert not (torch_dir / unwanted).exists(), f"torch/{unwanted} should not ship"
    assert {p.name for p in (torch_dir / "bin").glob("*")} <= {"torch_shm_manager"}, "only torch_shm_manager ships"
    assert not list(bundle.internal.rglob("*.a")), "static libraries should not ship"
    for package in ("PyQt5", "PyQt6", "PySide2", "tkinter", "IPython", "torchvision"):
        assert not (bundle.internal / package).exists(), f"{package} should not ship"
    backends = {p.name for p in (bundle.internal / "matplotlib" / "backends").glob("_*agg*")}
    assert not any("tk" in name for name in backends), backends
    assert (bundle.internal / "matplotlib" / "mpl-data" / "matplotlibrc").is_file()
    dangling = [str(p) for p in bundle.folder.rglob("*") if p.is_symlink() and not p.exists()]
    assert not dangling, f"dangling symbolic links: {dangling[:10]}"
    # No Ray (predict --engine ray, the optional `cluster` extra): no file, no metadata, no module.
    from PyInstaller.archive.readers import PKG_ITEM_PYZ, CArchiveReader

    archive = CArchiveReader(str(bundle.cli))
    frozen = {m for n, e in archive.toc.items() if e[-1] == PKG_ITEM_PYZ for m in archive.open_embedded_archive(n).toc}
    carried = sorted({p.name for p in bundle.internal.iterdir()
                      if p.name.split("-")[0].split(".")[0].lower() in ("ray", "pyarrow", "libarrow")}
                     | {m for m in frozen if m.split(".")[0] in ("ray", "pyarrow")})
    assert not carried, f"the bundle carries Ray or pyarrow: {carried[:10]}"
    # Nor the test suite's tools, which torch would otherwise pull in through optional imports.
    tools = sorted({m.split(".")[0] for m in frozen} & {"importlinter", "grimp", "rich", "markdown_it", "click"})
    assert not tools, f"the bundle carries development tools: {tools}"
    # The size budget (bench/bench_bundle.py reports it with the start-up time).
    unpacked = sum(size for kind, size, _ in bundle.snapshot.values() if kind != "d")
    assert unpacked <= BUNDLE_BUDGET_BYTES, f"the bundle is {unpacked / 1e6:.1f} MB unpacked, over its 700 MB budget"


@pytest.mark.parametrize("which", ["cli", "gui"])
def test_frozen_self_test(bundle: Bundle, sandbox: dict, which: str):
    if which == "gui" and sys.platform == "win32":
        pytest.skip("a windowed (console=False) executable has no stdout on Windows; the -cli one does")
    exe = bundle.cli if which == "cli" else bundle.gui
    proc = run_frozen(bundle, exe, ["--self-test"], sandbox, timeout=300)
    assert proc.returncode == 0, _explain(proc)
    result = _json_from(proc.stdout)
    assert result["ok"] is True, result
    assert result["window"] == "ok", result
    assert result["heatmap_ok"] is True
    assert result["model"]["classes"], result
    assert (sandbox["home"] / "pneumo-data").is_dir(), "the self-test should use PNEUMO_DESKTOP_HOME"
    assert list(sandbox["cwd"].iterdir()) == [], "nothing should be written to the working directory"


def _write_dicoms(folder: Path) -> list[Path]:
    """Three small DICOMs: 12-bit MONOCHROME1 uncompressed, RLE Lossless, JPEG Baseline."""
    from PIL import Image
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.uid import (ExplicitVRLittleEndian, JPEGBaseline8Bit, RLELossless, SecondaryCaptureImageStorage,
                             generate_uid)

    from pneumo_desktop.core.synthetic import synthetic_chest_image

    chest = synthetic_chest_image(256)

    def dataset(transfer_syntax, photometric, bits_allocated, bits_stored):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = transfer_syntax
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = SecondaryCaptureImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.Modality = "CR"
        ds.PatientID = "SYNTHETIC"
        ds.Rows, ds.Columns = chest.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = photometric
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits_allocated, bits_stored, bits_stored - 1
        ds.PixelRepresentation = 0
        return ds

    paths = []
    ds = dataset(ExplicitVRLittleEndian, "MONOCHROME1", 16, 12)
    ds.PixelData = ((255 - chest).astype(np.uint16) * 16).tobytes()
    paths.append(folder / "mono1_12bit.dcm")
    ds.save_as(paths[-1], enforce_file_format=True)

    ds = dataset(ExplicitVRLittleEndian, "MONOCHROME2", 16, 16)
    ds.PixelData = (chest.astype(np.uint16) * 256).tobytes()
    ds.compress(RLELossless)
    paths.append(folder / "rle_lossless.dcm")
    ds.save_as(paths[-1], enforce_file_format=True)

    buf = io.BytesIO()
    Image.fromarray(chest).save(buf, format="JPEG", quality=95)
    ds = dataset(JPEGBaseline8Bit, "MONOCHROME2", 8, 8)
    ds.PixelData = encapsulate([buf.getvalue()])
    paths.append(folder / "jpeg_baseline.dcm")
    ds.save_as(paths[-1], enforce_file_format=True)
    return paths


def test_frozen_reads_dicom(bundle: Bundle, sandbox: dict):
    """pydicom's pixel decoders (native, RLE, Pillow/JPEG) work frozen, and give the same numbers."""
    data = sandbox["tmp"] / "dicom"
    data.mkdir()
    paths = _write_dicoms(data)
    proc = run_frozen(bundle, bundle.cli, ["predict", "--json", *map(str, paths)], sandbox, timeout=300)
    assert proc.returncode == 0, _explain(proc)
    records = _json_from(proc.stdout)
    assert [r["status"] for r in records] == ["ok"] * len(paths), records

    from pneumo_desktop.core.classifier import Classifier
    from pneumo_desktop.core.predict import predict_files
    from pneumo_desktop.paths import DEFAULT_MODEL_PATH

    expected = {r.path: r.probability for r in predict_files(Classifier.load(DEFAULT_MODEL_PATH), paths)}
    for record in records:
        assert record["probability"] == pytest.approx(expected[record["path"]], abs=1e-4), record


def _synthetic_training_folder(folder: Path, per_class: int = 12) -> None:
    from PIL import Image

    from pneumo_desktop.core.synthetic import synthetic_chest_image

    y, x = np.mgrid[0:128, 0:128] / 128.0
    for cls in ("NORMAL", "PNEUMONIA"):
        (folder / cls).mkdir(parents=True)
    for i in range(per_class):
        image = synthetic_chest_image(128, seed=i).astype(np.float32)
        Image.fromarray(image.astype(np.uint8)).save(folder / "NORMAL" / f"normal_{i}.png")
        rng = np.random.default_rng(100 + i)
        for _ in range(3):  # bright patches in the lung fields
            cx, cy = rng.uniform(0.25, 0.75), rng.uniform(0.35, 0.7)
            image += 90 * np.exp(-(((x - cx) / 0.08) ** 2 + ((y - cy) / 0.08) ** 2))
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(folder / "PNEUMONIA" / f"pneumonia_{i}.png")


def test_frozen_train_then_info(bundle: Bundle, sandbox: dict):
    """The frozen training path (torch autograd, optimiser, torchmetrics evaluation) writes a model
    file that the frozen ``info`` reads back."""
    data = sandbox["tmp"] / "train"
    _synthetic_training_folder(data)
    model = sandbox["tmp"] / "models" / "frozen.pneumo"
    model.parent.mkdir()
    proc = run_frozen(bundle, bundle.cli, [
        "train", str(data), "--out", str(model), "--epochs", "1", "--widths", "4,8,8,8", "--input-size", "64",
        "--batch-size", "8", "--val-fraction", "0.25", "--test-dir", str(data)], sandbox, timeout=900)
    assert proc.returncode == 0, _explain(proc)
    assert model.is_file() and model.stat().st_size > 0
    proc = run_frozen(bundle, bundle.cli, ["info", "--model", str(model), "--json"], sandbox, timeout=300)
    assert proc.returncode == 0, _explain(proc)
    meta = _json_from(proc.stdout)
    assert meta["classes"] == ["NORMAL", "PNEUMONIA"], meta
    assert meta["name"] == "frozen"
    assert meta["architecture"]["widths"] == [4, 8, 8, 8]
    assert meta["test_metrics"]["n"] == 24, meta.get("test_metrics")


def test_frozen_window_becomes_usable(bundle: Bundle, sandbox: dict):
    """The windowed executable starts the GUI; PNEUMO_DESKTOP_EXIT_AFTER_SHOW=1 (packaging/entry.py)
    makes it report the first usable main window and quit. bench/bench_bundle.py times this."""
    if sys.platform == "win32":
        pytest.skip("the windowed executable has no stdout on Windows")
    t0 = time.time()
    proc = run_frozen(bundle, bundle.gui, [], sandbox, timeout=300, extra_env={"PNEUMO_DESKTOP_EXIT_AFTER_SHOW": "1"})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("PNEUMO_DESKTOP_WINDOW_SHOWN ")]
    assert lines and "TIMEOUT" not in lines[0], _explain(proc)
    assert proc.returncode == 0, _explain(proc)
    shown_at = float(lines[0].split()[1])
    assert 0 < shown_at - t0 < 60, f"window took {shown_at - t0:.1f} s"


@pytest.mark.skipif(not IS_LINUX, reason="desktop entries are a Linux thing")
def test_desktop_entry_installer(bundle: Bundle, sandbox: dict):
    script = bundle.folder / "install-desktop-entry.sh"
    assert script.is_file(), "packaging/build_bundle.py should put install-desktop-entry.sh into the bundle"
    env = dict(sandbox["env"], XDG_DATA_HOME=str(sandbox["home"] / "share"))
    proc = subprocess.run(["sh", str(script)], cwd=sandbox["cwd"], env=env, capture_output=True, text=True,
                          timeout=60)
    bundle.assert_unchanged()
    assert proc.returncode == 0, _explain(proc)
    entry = (sandbox["home"] / "share" / "applications" / f"{NAME}.desktop").read_text(encoding="utf-8")
    assert f'Exec="{bundle.gui}" %F' in entry, entry
    assert f"Icon={bundle.internal / 'pneumo_desktop' / 'resources' / 'icons' / 'app.png'}" in entry
    assert "@" not in entry, entry
