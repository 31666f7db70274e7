"""GUI test fixtures shared by every GUI test module.

``tiny_model_path`` (session): a real, tiny PneumoDesktop model trained for one epoch on a
synthetic labelled folder (NORMAL / PNEUMONIA, 24 images each), saved as a .pneumo file.
Odd-numbered ``chest_XX.png`` files from ``make_xray_folder`` are normal, even-numbered ones
show pneumonia-like opacities (the tiny model labels them accordingly).

``xray_folder`` (function): a fresh folder holding a few valid synthetic chest X-ray PNGs
(``chest_01.png`` …), one broken image (``broken.png``: PNG signature then garbage) and one
text file (``notes.txt``).

``make_xray_folder(path, n)``: helper used by tests that need many valid images.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

XRAY_SIZE = 96


def _os_thread_alive(thread: threading.Thread) -> bool:
    """Whether a Python thread's OS thread still runs.

    A QThread that runs Python code which calls ``threading.current_thread()`` (directly, or by
    starting a thread pool) gets a ``threading._DummyThread`` entry that Python 3.11 never
    removes and reports as alive for ever, and that cannot be joined. For those, ask the OS.
    """
    if not isinstance(thread, threading._DummyThread):  # noqa: SLF001 - the only way to tell
        return thread.is_alive()
    native = getattr(thread, "native_id", None)
    if sys.platform.startswith("linux") and native is not None:
        return os.path.exists(f"/proc/self/task/{native}")
    return False  # elsewhere we cannot tell; the QThread check below still applies


def _running_qthreads() -> list[str]:
    try:
        from PySide6.QtCore import QThread
    except ImportError:
        return []
    found = []
    for obj in gc.get_objects():
        try:
            if isinstance(obj, QThread) and obj.isRunning():
                found.append(obj.objectName() or "QThread")
        except RuntimeError:  # the C++ object is already gone
            continue
    return found


@pytest.fixture(autouse=True)
def _no_leaked_threads():
    """GUI variant of the top-level check (overrides it for tests/gui): fail any test that
    leaves a Python thread or a QThread running. Unlike the top-level one it copes with the
    dummy thread entries that worker QThreads leave behind, and it finds parentless QThreads
    (GeneratorJob's threads have no Qt parent, so ``findChildren`` cannot see them)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while True:
        leaked = [t.name for t in threading.enumerate() if t not in before and _os_thread_alive(t)]
        qthreads = _running_qthreads()
        if (not leaked and not qthreads) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked and not qthreads, f"test left threads running: {leaked + qthreads}"


def synthetic_xray(seed: int, pneumonia: bool, size: int = XRAY_SIZE) -> np.ndarray:
    """A synthetic chest radiograph, uint8 (size, size); ``pneumonia`` adds lung opacities."""
    from pneumo_desktop.selftest import synthetic_chest_image

    image = synthetic_chest_image(size=size, seed=seed).astype(np.float32)
    if pneumonia:
        rng = np.random.default_rng(seed + 10_000)
        y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
        for _ in range(2):
            cx = rng.choice([0.32, 0.68]) + rng.uniform(-0.05, 0.05)
            cy = rng.uniform(0.45, 0.7)
            r = rng.uniform(0.08, 0.13)
            image += 90.0 * np.exp(-(((x - cx) / r) ** 2 + ((y - cy) / r) ** 2))
    return np.clip(image, 0, 255).astype(np.uint8)


def write_png(path: Path, array: np.ndarray) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def make_xray_folder(folder: Path, n: int, size: int = XRAY_SIZE, start_seed: int = 500) -> list[Path]:
    """Write ``n`` valid synthetic X-rays (alternating normal / pneumonia) into ``folder``."""
    paths = []
    for i in range(n):
        pneumonia = bool(i % 2)
        paths.append(write_png(folder / f"chest_{i + 1:02d}.png", synthetic_xray(start_seed + i, pneumonia, size)))
    return paths


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """Train (once per session, about a second) a tiny real model and return its file path."""
    from pneumo_desktop.core.dataset import grouped_split, scan_labelled_folder
    from pneumo_desktop.core.training import TrainingConfig, TrainingFinished, train_model

    root = tmp_path_factory.mktemp("tiny-model")
    data = root / "data"
    for label, pneumonia in (("NORMAL", False), ("PNEUMONIA", True)):
        for i in range(24):
            seed = 1000 * (1 + int(pneumonia)) + i
            write_png(data / label / f"{label.lower()}_{i:02d}.png", synthetic_xray(seed, pneumonia))
    table = grouped_split(scan_labelled_folder(data), val_fraction=0.25, seed=0)
    # Three short epochs (well under a second of training) give a model that clearly separates
    # the two synthetic classes, so tests can see both verdicts and move the threshold.
    config = TrainingConfig(epochs=3, batch_size=8, learning_rate=1e-2, widths=(8, 16, 16, 16), input_size=64,
                            augment=False, warmup_epochs=0, bf16=False, min_sensitivity=0.9)
    finished = None
    generator = train_model(table, config, name="tiny-test-model", command="pytest tiny_model_path")
    try:
        for event in generator:
            if isinstance(event, TrainingFinished):
                finished = event
    finally:
        generator.close()
    assert finished is not None, "tiny model training did not finish"
    path = root / "tiny.pneumo"
    finished.classifier.save(path)
    return path


@pytest.fixture
def xray_folder(tmp_path) -> Path:
    """A folder of 4 valid synthetic X-rays, one broken PNG and one text file."""
    folder = tmp_path / "xrays"
    make_xray_folder(folder, 4, size=128)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"this is not really a png" * 4)
    (folder / "notes.txt").write_text("clinical notes, not an image\n", encoding="utf-8")
    return folder
