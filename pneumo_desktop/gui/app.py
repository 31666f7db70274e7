"""``pneumo-desktop`` with no sub-command: start the desktop application.

The window is shown first; torch and the model load afterwards in a worker, so the window is
usable (menus, opening files) within about two seconds even on a slow disk. Files and folders
given on the command line are queued and analysed as soon as the model is ready.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time

from .. import APP_NAME, __version__

STARTUP_PROBE_ENV = "PNEUMO_DESKTOP_STARTUP_PROBE"


def _split_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """(paths to open, arguments for Qt such as ``-platform offscreen``)."""
    paths, qt_args = [], []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-"):
            qt_args.append(arg)
            if arg in ("-platform", "-style", "-qwindowgeometry", "-stylesheet") and i + 1 < len(argv):
                qt_args.append(argv[i + 1])
                i += 1
        else:
            paths.append(arg)
        i += 1
    return paths, qt_args


def create_application(qt_args: list[str] | None = None):
    """The QApplication with names, icon and the chosen language installed."""
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from . import i18n
    from .about_dialog import app_icon
    from .settings import APPLICATION, ORGANISATION, Settings

    QCoreApplication.setOrganizationName(ORGANISATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QCoreApplication.setApplicationVersion(__version__)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else APP_NAME, *(qt_args or [])])
    app.setApplicationDisplayName(APP_NAME)
    app.setWindowIcon(app_icon())
    app.setDesktopFileName("pneumo-desktop")
    i18n.install_language(Settings().language())
    return app


def run_app(argv: list[str] | None = None) -> int:
    """Run the GUI; returns the exit code. ``argv``: files/folders to analyse (and Qt options)."""
    multiprocessing.freeze_support()
    started = time.perf_counter()
    argv = list(sys.argv[1:] if argv is None else argv)
    paths, qt_args = _split_args(argv)
    app = create_application(qt_args)

    from PySide6.QtCore import QTimer

    from .main_window import MainWindow

    window = MainWindow(load_default_model=True, initial_paths=[os.path.abspath(p) for p in paths])
    window.show()
    shown = time.perf_counter() - started
    shown_cpu = time.process_time()

    if os.environ.get(STARTUP_PROBE_ENV):
        # For packaging checks: report how long the window and the model took, then quit.
        def report(*_args) -> None:
            print(json.dumps({"window_shown_s": round(shown, 3), "window_shown_cpu_s": round(shown_cpu, 3),
                              "model_ready_s": round(time.perf_counter() - started, 3),
                              "model": getattr(window.models.classifier, "name", None)}), flush=True)
            window.close()

        window.models.model_changed.connect(report)
        window.models.load_failed.connect(report)
        QTimer.singleShot(60_000, window.close)
    return int(app.exec())
