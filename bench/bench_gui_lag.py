"""GUI-thread lag while the main window predicts a whole folder (default: the 624 test images).

A QTimer ticks every 10 ms on the GUI thread; every gap between ticks beyond the interval is
time the GUI thread could not serve events. Prints a table of the gaps, the batch time, and the
time from constructing the window to its first paint. Offscreen Qt; the shipped default model.

    python bench/bench_gui_lag.py [--data DIR] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "chest_xray" / "test"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    os.environ["PNEUMO_DESKTOP_THREADS"] = str(args.threads)
    if not Path(args.data).is_dir():
        print(f"no data folder at {args.data}; pass --data")
        return 2
    import tempfile

    os.environ.setdefault("PNEUMO_DESKTOP_HOME", tempfile.mkdtemp(prefix="pneumo-bench-"))
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from pneumo_desktop.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    t0 = time.perf_counter()
    window = MainWindow(load_default_model=True)
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    shown_s = time.perf_counter() - t0

    gaps: list[float] = []
    gap_at: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000.0)
        gap_at.append(now - start)
        last[0] = now

    loop = QEventLoop()
    outcome: list[str] = []

    def finished(result: str) -> None:
        outcome.append(result)
        loop.quit()

    window.prediction_finished.connect(finished)
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    QTimer.singleShot(int(args.timeout * 1000), loop.quit)
    start = time.perf_counter()
    window.open_paths([args.data])
    last[0] = time.perf_counter()
    timer.start()
    loop.exec()
    timer.stop()
    batch_s = time.perf_counter() - start
    rows = window.results.rowCount()
    window.close()
    app.processEvents()

    worst_at = gap_at[1:][max(range(len(gaps) - 1), key=lambda i: gaps[1:][i])] if len(gaps) > 1 else float("nan")
    gaps = sorted(gaps[1:])
    n = len(gaps)
    pct = lambda q: gaps[min(n - 1, int(q * n))] if n else float("nan")  # noqa: E731
    print("== bench_gui_lag ==")
    print(f"load average at end: {os.getloadavg()[0]:.2f}; torch threads {args.threads}")
    print(f"window constructed and shown in {shown_s * 1000:.0f} ms (model loads after, in a worker)")
    print(f"batch: {rows} rows, outcome {outcome[0] if outcome else 'timeout'}, {batch_s:.1f} s")
    print()
    print(f"{'timer gaps (10 ms interval)':<30} {'ms':>8}")
    print(f"{'-' * 30} {'-' * 8}")
    for name, value in (("median", pct(0.5)), ("p99", pct(0.99)), ("p99.9", pct(0.999)), ("max", gaps[-1] if n else float('nan'))):
        print(f"{name:<30} {value:8.1f}")
    print(f"{'ticks':<30} {n:8d}")
    print(f"{'gaps over 100 ms':<30} {sum(g > 100 for g in gaps):8d}")
    print(f"{'largest gap ended at (s)':<30} {worst_at:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
