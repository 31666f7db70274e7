"""Helpers for the GUI tests: synthetic X-rays, and a thread check that copes with QThreads.

Imported by ``conftest.py`` and by test modules (``from gui_test_utils import ...``).
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from pathlib import Path

import numpy as np

XRAY_SIZE = 96


def os_thread_alive(thread: threading.Thread) -> bool:
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


def running_qthreads() -> list[str]:
    try:
        from PySide6.QtCore import QThread
    except ImportError:
        return []
    found = []
    for obj in gc.get_objects():
        try:
            # type(), not isinstance(): some torch objects warn when their __class__ is read.
            if issubclass(type(obj), QThread) and obj.isRunning():
                found.append(obj.objectName() or "QThread")
        except RuntimeError:  # the C++ object is already gone
            continue
    return found


def synthetic_xray(seed: int, pneumonia: bool, size: int = XRAY_SIZE) -> np.ndarray:
    """A synthetic chest radiograph, uint8 (size, size); ``pneumonia`` adds lung opacities."""
    from pneumo_desktop.core.synthetic import synthetic_chest_image

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
