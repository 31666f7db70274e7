"""Launcher script that PyInstaller freezes (see ``build/pyinstaller.spec``).

It does three things before handing over to the entry layer, :func:`pneumo_desktop.__main__.main`:

* ``multiprocessing.freeze_support()`` first, so a frozen executable that is re-launched as a
  ``multiprocessing`` child (spawn start method: Windows, macOS) runs the child's work instead of
  starting the whole app again. PneumoDesktop itself starts no worker processes (no DataLoader
  workers, only threads), but torch and other libraries may.
* Nothing is written next to the executable: user data goes to the platform's user data folder
  (:mod:`pneumo_desktop.paths`), so the install folder may be read-only.
* ``PNEUMO_DESKTOP_EXIT_AFTER_SHOW=1`` (for ``bench/bench_bundle.py`` and the packaging tests):
  once the main window is shown and the Qt event loop is running (the window is usable), print one
  line ``PNEUMO_DESKTOP_WINDOW_SHOWN <unix time> <seconds since this script started> <CPU seconds
  used by the process so far>`` to stdout, close the window and quit. It works by wrapping ``QApplication.exec`` for this run only, so the
  GUI code needs no hook of its own.

Run it unfrozen with ``python packaging/entry.py [args]``; it behaves like ``pneumo-desktop``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time

_T0 = time.perf_counter()
EXIT_AFTER_SHOW_ENV = "PNEUMO_DESKTOP_EXIT_AFTER_SHOW"
SHOWN_MARKER = "PNEUMO_DESKTOP_WINDOW_SHOWN"


def _arm_exit_after_show(timeout_s: float = 120.0) -> None:
    """Make the next ``QApplication.exec()`` report the first usable main window, then quit."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    original_exec = QApplication.exec
    deadline = time.monotonic() + timeout_s

    def _main_window():
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QMainWindow) and widget.isVisible():
                handle = widget.windowHandle()
                if handle is None or handle.isExposed():
                    return widget
        return None

    def _poll() -> None:
        app = QApplication.instance()
        if app is None:
            return
        window = _main_window()
        if window is not None:
            print(f"{SHOWN_MARKER} {time.time():.6f} {time.perf_counter() - _T0:.3f} {time.process_time():.3f}",
                  flush=True)
            window.close()
            QTimer.singleShot(0, app.quit)  # in case closing the window does not end the loop
            return
        if time.monotonic() > deadline:
            print(f"{SHOWN_MARKER} TIMEOUT after {timeout_s:.0f} s: no main window became visible", flush=True)
            app.exit(3)
            return
        QTimer.singleShot(10, _poll)

    def exec_and_report(*args, **kwargs):
        QApplication.exec = original_exec  # one shot: nested or later loops run unchanged
        QTimer.singleShot(0, _poll)
        # QApplication.exec is static in Qt; it may be called on the class or on the instance.
        return original_exec()

    QApplication.exec = exec_and_report


def main() -> int:
    multiprocessing.freeze_support()
    if not getattr(sys, "frozen", False):
        # Unfrozen run from a checkout: make ``pneumo_desktop`` importable from the repo root.
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if os.environ.get(EXIT_AFTER_SHOW_ENV) == "1":
        _arm_exit_after_show()
    from pneumo_desktop.__main__ import main as entry_main

    return entry_main()


if __name__ == "__main__":
    sys.exit(main())
