"""Shared helpers for the timing scripts here and the probes in ``experiments/``: data and model
defaults, the outside-hospital manifest, machine header, thread pinning, tables, statistics.

The probes reach this module through ``experiments/_probe.py``, which adds this folder to
``sys.path``. Data defaults are folders beside the repository (``../shared/data/chest_xray``,
``../data/train_full``, ``../data/outside``), resolved against the repository root.

Kept free of torch at import time so that ``plain_loop.py``-style subprocess timings are not
influenced by it; torch is imported lazily where a helper needs it.
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "chest_xray"
DEFAULT_TEST_DIR = SHARED_DATA / "test"
DEFAULT_TRAIN_MINI = SHARED_DATA / "train_mini"
DEFAULT_TRAIN_FULL = REPO_ROOT.parent / "data" / "train_full"  # the full training split (5,216 images)
DEFAULT_OUTSIDE = REPO_ROOT.parent / "data" / "outside"  # written by scripts/build_outside_data.py
DEFAULT_MODEL = REPO_ROOT / "pneumo_desktop" / "resources" / "models" / "default.pneumo"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm", ".dicom"}

if str(REPO_ROOT) not in sys.path:  # run from anywhere without installing the package
    sys.path.insert(0, str(REPO_ROOT))


# ----- machine -------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return [f for f in wanted if f in have]
    except OSError:
        pass
    return []


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def torch_version() -> str:
    torch = sys.modules.get("torch")
    if torch is not None:
        return torch.__version__
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return "not installed"


def machine_info(threads: int | None) -> dict:
    """Machine facts for the header. Does not import torch (bench_memory's parent stays light)."""
    if threads is None:
        import torch

        threads = torch.get_num_threads()
    try:
        load = os.getloadavg()
    except OSError:
        load = (math.nan,) * 3
    return {
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "python": platform.python_version(),
        "torch": torch_version(),
        "torch_threads": threads,
        "load_average_1m": round(load[0], 2),
        "platform": platform.platform(),
    }


def header(title: str, info: dict, extra: dict | None = None) -> str:
    lines = [f"== {title} ==",
             f"machine: {info['cpu']} [{' '.join(info['cpu_flags'])}], {info['usable_cores']} usable / "
             f"{info['logical_cores']} logical cores, {info['platform']}",
             f"software: Python {info['python']}, torch {info['torch']}, torch threads {info['torch_threads']}",
             f"load average (1 min) at start: {info['load_average_1m']}"]
    if info["load_average_1m"] == info["load_average_1m"] and info["load_average_1m"] > 0.5 * info["usable_cores"]:
        lines.append("WARNING: the machine is busy (load average above half the cores); timings are noisy")
    for key, value in (extra or {}).items():
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


def pin_threads(n: int, torch_too: bool = True) -> None:
    """Pin torch's intra-op threads here (unless ``torch_too`` is False) and in our subprocesses."""
    os.environ["PNEUMO_DESKTOP_THREADS"] = str(n)
    if torch_too:
        import torch

        torch.set_num_threads(n)


def child_env(threads: int | None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if threads is not None:
        env["PNEUMO_DESKTOP_THREADS"] = str(threads)
    return env


# ----- arguments -----------------------------------------------------------------------------
def add_common_args(parser, model: bool = True) -> None:
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON object at the end")
    if model:
        parser.add_argument("--model", default=str(DEFAULT_MODEL),
                            help="model file (default: the shipped default.pneumo)")


def require_model(path: str) -> Path:
    p = Path(path)
    if not p.is_file():
        sys.exit(f"model file not found: {p}\n(train one quickly: python -m pneumo_desktop train "
                 f"{DEFAULT_TRAIN_MINI} --out bench_model.pneumo --epochs 1, then pass --model)")
    return p


def model_summary(classifier) -> str:
    meta = classifier.metadata
    arch = meta["architecture"]
    return (f"{classifier.source_path} ({classifier.name}): {meta['preprocessing']['input_size']} px, widths "
            f"{arch['widths']}, {arch['n_members']} member(s), {len(meta['tta_shifts'])} test-time view(s)")


def list_images(folder: str | Path) -> list[Path]:
    root = Path(folder)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def read_outside_manifest(folder: str | Path, source: str | None = None,
                          missing_ok: bool = False) -> list[dict] | None:
    """The rows of ``folder/manifest.csv``, the outside-hospital sets that
    ``scripts/build_outside_data.py`` writes (keys ``source``, ``path`` relative to ``folder``,
    ``label``, ``patient``, ``view``, ``sha256``), only ``source``'s when it is given. When the
    file is missing: None if ``missing_ok``, else the reason on stderr and exit status 2."""
    manifest = Path(folder) / "manifest.csv"
    if not manifest.is_file():
        if missing_ok:
            return None
        print(f"error: {manifest} is missing; build it with python scripts/build_outside_data.py", file=sys.stderr)
        raise SystemExit(2)
    with open(manifest, newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if source is None or row["source"] == source]


def spread(paths: list, n: int) -> list:
    """n items evenly spread over ``paths`` (all classes represented for a class-sorted list)."""
    if len(paths) <= n:
        return list(paths)
    step = len(paths) / n
    return [paths[int(i * step)] for i in range(n)]


# ----- statistics and tables -----------------------------------------------------------------
def summarise_ms(samples_s: list[float]) -> dict:
    ms = sorted(s * 1e3 for s in samples_s)
    return {"n": len(ms), "median_ms": statistics.median(ms), "p95_ms": percentile(ms, 95),
            "mean_ms": statistics.fmean(ms), "min_ms": ms[0]}


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    k = (len(sorted_values) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:
            return "n/a"
        return f"{value:.{digits}f}"
    return str(value)


def table(headers: list[str], rows: list[list], digits: int = 1) -> str:
    cells = [[fmt(v, digits) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]

    def line(values):
        return "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths)))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def emit_json(results: dict) -> None:
    print(json.dumps(results, indent=2, default=str))


# ----- subprocesses --------------------------------------------------------------------------
def timed_run(cmd: list[str], env: dict | None = None, stdout=subprocess.DEVNULL) -> tuple[float, int, str, dict]:
    """Run ``cmd`` to completion. Returns (wall seconds, exit code, stderr tail, rusage dict).

    The rusage comes from ``os.wait4`` on that one child, so ``ru_maxrss`` (KiB on Linux) is the
    child's own peak resident set size.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env, cwd=REPO_ROOT)
    # Drain stderr in a thread so a chatty child cannot block on a full pipe before we wait4.
    import threading

    chunks: list[bytes] = []
    out_chunks: list[bytes] = []
    readers = [threading.Thread(target=lambda: chunks.append(proc.stderr.read()), daemon=True)]
    if proc.stdout is not None:
        readers.append(threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True))
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    for reader in readers:
        reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = b"".join(chunks).decode("utf-8", "replace")
    rusage = {"maxrss_kib": usage.ru_maxrss, "user_s": usage.ru_utime, "sys_s": usage.ru_stime,
              "stdout": b"".join(out_chunks).decode("utf-8", "replace")}
    return wall, proc.returncode, err[-2000:], rusage
