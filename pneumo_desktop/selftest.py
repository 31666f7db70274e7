"""``pneumo-desktop --self-test``: proves an installation (or a frozen bundle) works, offline.

It loads the default model, synthesises a chest-radiograph-like image (no data files needed),
predicts it with a Grad-CAM heatmap, and, where Qt is available, opens and closes the main
window headless. Returns a JSON-ready dict with ``ok`` and timings.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


def run_self_test(open_window: bool = True) -> dict:
    result: dict = {"ok": False, "timings_s": {}}
    timings = result["timings_s"]
    start = time.perf_counter()
    try:
        from PIL import Image

        from . import __version__
        from .core.classifier import Classifier
        from .core.predict import predict_files
        from .core.synthetic import synthetic_chest_image
        from .paths import DEFAULT_MODEL_PATH, user_data_dir

        result["version"] = __version__
        t = time.perf_counter()
        classifier = Classifier.load(DEFAULT_MODEL_PATH)
        timings["load_model"] = round(time.perf_counter() - t, 3)
        result["model"] = {"name": classifier.name, "version": classifier.version, "classes": classifier.classes}
        with tempfile.TemporaryDirectory(prefix="pneumo-selftest-", dir=user_data_dir()) as tmp:
            image_path = Path(tmp) / "synthetic_chest.png"
            Image.fromarray(synthetic_chest_image()).save(image_path)
            t = time.perf_counter()
            records = list(predict_files(classifier, [image_path], heatmaps=True))
            timings["predict_with_heatmap"] = round(time.perf_counter() - t, 3)
        record = records[0]
        result["prediction"] = record.to_dict()
        heat_ok = record.heatmap is not None and record.heatmap.shape == (512, 512) and \
            float(record.heatmap.min()) >= 0.0 and float(record.heatmap.max()) <= 1.0
        result["heatmap_ok"] = bool(heat_ok)
        if open_window:
            t = time.perf_counter()
            result["window"] = _open_and_close_window()
            timings["window"] = round(time.perf_counter() - t, 3)
        # A machine without Qt (a server running the CLI) passes: the window check says
        # "skipped" there, and only a window that fails to open is a failure.
        window_ok = not open_window or result["window"] == "ok" or result["window"].startswith("skipped")
        result["ok"] = record.status == "ok" and heat_ok and window_ok
    except Exception as exc:  # noqa: BLE001 - the self-test reports, it never crashes
        result["error"] = f"{type(exc).__name__}: {exc}"
    timings["total"] = round(time.perf_counter() - start, 3)
    return result


def _open_and_close_window() -> str:
    """Open the main window (offscreen unless a display is chosen) and close it again.

    The window gets a settings file of its own in a temporary folder: closing it saves its
    geometry, and loading the startup model stores the model choice, and neither may reach the
    person's settings (an offscreen window is small, and the next real start would open cramped).
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        return f"skipped: Qt not available ({exc})"
    from .gui.main_window import MainWindow
    from .gui.settings import Settings

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="pneumo-selftest-settings-") as tmp:
        settings = Settings(Path(tmp) / "settings.ini")
        window = MainWindow(load_default_model=True, settings=settings)
        window.show()
        app.processEvents()
        window.close()
        app.processEvents()
        settings.sync()  # written now, so nothing is left to write once the folder is gone
    return "ok"
