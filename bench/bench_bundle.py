"""Measure the PyInstaller bundle against its budgets.

    python bench/bench_bundle.py [--build [--clean]] [--bundle dist/pneumo-desktop] [--runs 5] [--archive] [--json OUT]

Reports:

* build time: measured now with ``--build`` (runs ``packaging/build_bundle.py``), else read from
  ``<dist>/pneumo-desktop-build.json`` written by the last build;
* bundle size unpacked (bytes of every file, symbolic links counted as links) and file count;
* archive size (the ``.tar.gz`` beside the bundle folder; ``--archive`` packs one into a temporary
  folder when there is none, e.g. for a bundle built with ``--no-archive``);
* frozen start to a usable window: wall time from launching the windowed executable to the
  ``PNEUMO_DESKTOP_WINDOW_SHOWN`` line that ``packaging/entry.py`` prints once the main window is
  shown and the event loop runs (``PNEUMO_DESKTOP_EXIT_AFTER_SHOW=1``), over ``--runs`` launches
  (the first after a build is the cold-cache one), with the CPU time the process used until then
  (less sensitive to a busy machine than wall time); plus the time until the default model is
  loaded (the GUI's ``PNEUMO_DESKTOP_STARTUP_PROBE``) and the frozen ``--self-test`` time.

Frozen runs use ``QT_QPA_PLATFORM=offscreen`` (unless ``--display``) and a temporary HOME.
Budgets (unpacked <= 700 MB, start to window <= 3 s) are checked; the exit status is 1 when one
is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
with open(ROOT / "pyproject.toml", "rb") as _f:
    _PROJECT = tomllib.load(_f)["project"]
NAME, VERSION = _PROJECT["name"], _PROJECT["version"]
EXE_SUFFIX = ".exe" if sys.platform == "win32" else ""
MARKER = "PNEUMO_DESKTOP_WINDOW_SHOWN"

BUDGET_UNPACKED_BYTES = 700 * 10**6
BUDGET_START_S = 3.0


def tree_size(path: Path) -> tuple[int, int]:
    total = files = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            total += os.lstat(os.path.join(dirpath, name)).st_size
            files += 1
    return total, files


def frozen_env(home: Path, display: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PNEUMO_", "MPL"))}
    env.update(HOME=str(home), PNEUMO_DESKTOP_HOME=str(home / "pneumo-data"),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"))
    if not display:
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a running process (Linux /proc; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 3)
    except (OSError, ValueError, IndexError):
        return None


def time_to_window(exe: Path, env: dict, timeout: float = 120) -> dict:
    """Launch to the first usable main window. The process is then terminated: after the window
    it goes on loading the model in a worker thread, which a clean exit would wait for."""
    env = dict(env, PNEUMO_DESKTOP_EXIT_AFTER_SHOW="1")
    t0 = time.time()
    proc = subprocess.Popen([str(exe)], env=env, cwd=env["HOME"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    result = None
    try:
        for line in proc.stdout:
            if line.startswith(MARKER):
                parts = line.split()
                if parts[1] != "TIMEOUT":
                    cpu = float(parts[3]) if len(parts) > 3 else _proc_cpu_s(proc.pid)
                    result = {"window_s": round(float(parts[1]) - t0, 3), "after_python_start_s": float(parts[2]),
                              "cpu_s": cpu}
                break
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if result is None:
        raise RuntimeError(f"no usable window from {exe} (exit {proc.returncode})")
    return result


def time_model_ready(exe: Path, env: dict) -> dict | None:
    env = dict(env, PNEUMO_DESKTOP_STARTUP_PROBE="1")
    t0 = time.time()
    proc = subprocess.run([str(exe)], env=env, cwd=env["HOME"], capture_output=True, text=True, timeout=180)
    wall = time.time() - t0
    for line in proc.stdout.splitlines():
        if line.startswith("{") and "model_ready_s" in line:
            probe = json.loads(line)
            probe["process_s"] = round(wall, 3)
            return probe
    return None


def time_self_test(exe: Path, env: dict) -> dict:
    t0 = time.time()
    proc = subprocess.run([str(exe), "--self-test"], env=env, cwd=env["HOME"], capture_output=True, text=True,
                          timeout=300)
    wall = time.time() - t0
    out = proc.stdout
    result = json.loads(out[out.find("{"):]) if "{" in out else {}
    return {"ok": bool(result.get("ok")), "exit": proc.returncode, "process_s": round(wall, 3),
            "timings_s": result.get("timings_s")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / NAME)
    parser.add_argument("--build", action="store_true", help="build first (packaging/build_bundle.py), timing it")
    parser.add_argument("--clean", action="store_true", help="with --build: a full build without PyInstaller caches")
    parser.add_argument("--runs", type=int, default=5, help="launches to time (default 5)")
    parser.add_argument("--display", action="store_true", help="use the real display instead of offscreen")
    parser.add_argument("--archive", action="store_true",
                        help="no archive beside the bundle: pack one into a temporary folder to measure it")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    bundle = args.bundle.resolve()
    dist = bundle.parent
    results: dict = {"bundle": str(bundle), "platform": sys.platform}
    if args.build:
        cmd = [sys.executable, str(ROOT / "packaging" / "build_bundle.py"), "--dist", str(dist)]
        if args.clean:
            cmd.append("--clean")
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT)
        results["build_and_archive_s"] = round(time.perf_counter() - t0, 1)
    info_path = dist / f"{NAME}-build.json"
    if info_path.is_file():
        info = json.loads(info_path.read_text(encoding="utf-8"))
        results["build_s"] = info.get("build_seconds")
        results["build_was_clean"] = info.get("clean")
        results["archive_s"] = info.get("archive_seconds")
    gui = bundle / (NAME + EXE_SUFFIX)
    cli = bundle / (NAME + "-cli" + EXE_SUFFIX)
    if not gui.is_file():
        print(f"error: no bundle at {bundle} (build it: python packaging/build_bundle.py)", file=sys.stderr)
        return 2

    size, files = tree_size(bundle)
    results.update(unpacked_bytes=size, unpacked_mib=round(size / 2**20, 1), files=files)
    archives = sorted(dist.glob(f"{NAME}-{VERSION}-*.tar.gz")) + sorted(dist.glob(f"{NAME}-{VERSION}-*.zip"))
    if archives:
        results.update(archive=str(archives[0]), archive_bytes=archives[0].stat().st_size,
                       archive_mib=round(archives[0].stat().st_size / 2**20, 1))
    elif args.archive:
        sys.path.insert(0, str(ROOT / "packaging"))
        import build_bundle

        with tempfile.TemporaryDirectory(prefix="pneumo-bench-archive-") as tmp:
            t0 = time.perf_counter()
            archive = build_bundle.make_archive(Path(tmp), bundle, f"{NAME}-{VERSION}-{build_bundle.platform_tag()}")
            results.update(archive=f"(temporary) {archive.name}", archive_bytes=archive.stat().st_size,
                           archive_mib=round(archive.stat().st_size / 2**20, 1),
                           archive_s=round(time.perf_counter() - t0, 1))
        archives = [archive]
    biggest = sorted(((p.stat().st_size, p) for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()),
                     reverse=True)[:8]
    results["largest_files"] = {str(p.relative_to(bundle)): round(s / 2**20, 1) for s, p in biggest}

    with tempfile.TemporaryDirectory(prefix="pneumo-bench-") as tmp:
        env = frozen_env(Path(tmp), args.display)
        runs = [time_to_window(gui, env) for _ in range(max(1, args.runs))]
        window = [r["window_s"] for r in runs]
        cpu = [r["cpu_s"] for r in runs if r["cpu_s"] is not None]
        results["start_to_window"] = {"runs_s": window, "median_s": round(statistics.median(window), 3),
                                      "min_s": min(window), "max_s": max(window), "first_run_s": window[0],
                                      "cpu_median_s": round(statistics.median(cpu), 3) if cpu else None,
                                      "details": runs}
        results["load_average"] = os.getloadavg() if hasattr(os, "getloadavg") else None
        results["model_ready"] = time_model_ready(gui, env)
        results["self_test"] = time_self_test(cli, env)

    results["budgets"] = {
        "unpacked <= 700 MB": size <= BUDGET_UNPACKED_BYTES,
        "start to window <= 3 s (median)": results["start_to_window"]["median_s"] <= BUDGET_START_S,
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(f"\nunpacked {size / 1e6:.0f} MB ({size / 2**20:.0f} MiB, {files} files)"
          + (f", archive {results['archive_bytes'] / 1e6:.0f} MB" if archives else "")
          + f", start to window median {results['start_to_window']['median_s']:.2f} s "
          f"(first {window[0]:.2f} s, CPU {results['start_to_window']['cpu_median_s']} s), "
          f"build {results.get('build_s')} s, load average {results.get('load_average')}", file=sys.stderr)
    return 0 if all(results["budgets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
