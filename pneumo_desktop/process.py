"""Process-wide settings, shared by the desktop app and the command line. Imports no Qt.

* :func:`configure_torch_threads`: pin torch's thread count once, at start-up.
* :func:`lower_thread_priority`: let a worker thread yield the CPU to the GUI thread.
* :func:`request_fast_exit` / :func:`exit_process`: end a process whose output is complete
  without the interpreter's teardown (about 0.3 s once torch is loaded).
"""

from __future__ import annotations

import os
import sys
import threading

THREADS_ENV = "PNEUMO_DESKTOP_THREADS"

_torch_configured = False
_fast_exit_requested = False


def configure_torch_threads() -> int:
    """Pin torch's thread count (``PNEUMO_DESKTOP_THREADS``, default: all cores up to 4).

    Returns the count. Calling it again re-applies the setting (cheap)."""
    global _torch_configured
    import torch

    wanted = os.environ.get(THREADS_ENV)
    n = int(wanted) if wanted and wanted.isdigit() and int(wanted) > 0 else min(4, os.cpu_count() or 1)
    torch.set_num_threads(n)
    _torch_configured = True
    return n


def ensure_torch_configured() -> None:
    """Pin torch's thread count once per process (worker threads call this before torch work)."""
    if not _torch_configured:
        configure_torch_threads()


def lower_thread_priority(nice: int = 10) -> bool:
    """Make the calling (worker) thread yield the CPU to the GUI thread. Threads it starts
    afterwards (the decode pool, torch's pool on first use) inherit the lower priority.

    Linux: per-thread nice value; Windows: below-normal thread priority; elsewhere nothing
    (macOS has no per-thread nice, and renicing the process would slow the GUI too). On an idle
    machine this costs nothing; on a busy one a batch runs a little slower and the window stays
    smooth. Returns True if the priority was changed.
    """
    try:
        if sys.platform.startswith("linux"):
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), nice))
            return True
        if sys.platform == "win32":
            import ctypes

            kernel32 = ctypes.windll.kernel32
            return bool(kernel32.SetThreadPriority(kernel32.GetCurrentThread(), -1))  # BELOW_NORMAL
    except (OSError, AttributeError, ValueError):
        pass
    return False


def request_fast_exit() -> None:
    """Mark this process's output as complete once the current command returns: the entry point
    then ends it with ``os._exit`` after flushing stdout and stderr."""
    global _fast_exit_requested
    _fast_exit_requested = True


def fast_exit_requested() -> bool:
    return _fast_exit_requested


def exit_process(code: int) -> None:
    """End the process with ``code``: without teardown if :func:`request_fast_exit` was called."""
    if _fast_exit_requested:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (BrokenPipeError, ValueError):
            pass
        os._exit(code)
    sys.exit(code)
