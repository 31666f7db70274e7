"""Shared test set-up: headless Qt, a private user data folder, real data when present."""

import os
import threading
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "chest_xray"
if not SHARED_DATA.is_dir():
    SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "chest_xray"


@pytest.fixture(autouse=True)
def _private_user_data(tmp_path_factory, monkeypatch):
    """Every test gets its own user data folder, so no test sees another's settings or models."""
    home = tmp_path_factory.mktemp("pneumo-home")
    monkeypatch.setenv("PNEUMO_DESKTOP_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    yield home


@pytest.fixture(autouse=True)
def _no_leaked_threads():
    """Fail any test that leaves a Python thread or a QThread running."""
    before = set(threading.enumerate())
    yield
    # A QThread that used Python threading shows up as a _DummyThread entry that can never be
    # joined or removed; the GUI conftest checks QThreads through Qt itself instead.
    leaked = [t for t in threading.enumerate()
              if t not in before and t.is_alive() and not isinstance(t, threading._DummyThread)]
    for thread in leaked:
        thread.join(timeout=5)
    leaked = [t.name for t in leaked if t.is_alive()]
    qthreads = []
    try:
        from PySide6.QtCore import QThread
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            for obj in app.findChildren(QThread):
                if obj.isRunning():
                    qthreads.append(obj.objectName() or "QThread")
    except ImportError:
        pass
    assert not leaked and not qthreads, f"test left threads running: {leaked + qthreads}"


def shared_data_or_skip() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real chest X-ray data not found at {SHARED_DATA} (the shared/ folder beside the repo)")
    return SHARED_DATA


@pytest.fixture
def shared_data() -> Path:
    return shared_data_or_skip()
