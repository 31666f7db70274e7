"""GUI test fixtures shared by every GUI test module.

``tiny_model_path`` (session): a real, tiny PneumoDesktop model trained for three short epochs on a
synthetic labelled folder (NORMAL / PNEUMONIA, 24 images each), saved as a .pneumo file.
Odd-numbered ``chest_XX.png`` files from ``make_xray_folder`` are normal, even-numbered ones
show pneumonia-like opacities (the tiny model labels them accordingly).

``xray_folder`` (function): a fresh folder holding a few valid synthetic chest X-ray PNGs
(``chest_01.png`` …), one broken image (``broken.png``: PNG signature then garbage) and one
text file (``notes.txt``).

``make_xray_folder(path, n)`` and ``synthetic_xray`` live in ``gui_test_utils.py`` (import them
from there in test modules).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from gui_test_utils import make_xray_folder, os_thread_alive, running_qthreads, synthetic_xray, write_png

__all__ = ["make_xray_folder", "synthetic_xray", "write_png"]


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
        leaked = [t.name for t in threading.enumerate() if t not in before and os_thread_alive(t)]
        qthreads = running_qthreads()
        if (not leaked and not qthreads) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked and not qthreads, f"test left threads running: {leaked + qthreads}"


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
                            augment=False, warmup_epochs=0, bf16=False, min_sensitivity=0.9, detector_epochs=2)
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


@pytest.fixture
def models(qtbot, tiny_model_path):
    """A ModelManager that has loaded the tiny model (for controllers tested without a window)."""
    from pneumo_desktop.gui.model_manager import ModelManager

    manager = ModelManager()
    with qtbot.waitSignal(manager.model_changed, timeout=30000):
        manager.load(tiny_model_path)
    yield manager
    manager.stop()
