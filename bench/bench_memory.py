"""Peak memory (resident set size) of the main workloads, each in a fresh process.

    python bench/bench_memory.py [--data DIR] [--model FILE] [--train-data DIR] [--limit N] [--threads 2] [--json]

The peak RSS is ``ru_maxrss`` of that one child, taken from ``os.wait4`` (the same struct as
``resource.getrusage``); for the in-process scenarios the child also reports its own
``getrusage(RUSAGE_SELF).ru_maxrss``. Scenarios:

* baseline: ``import torch``; the predict path imported and the model loaded;
* CLI predict over the test folder (``--json``), and with ``--heatmaps DIR`` (PNG overlays written);
* ``predict_files`` streaming over the folder (records dropped as they come), without and with heatmaps;
* CLI train: 1 epoch on train_mini, with an empty decoded-image cache (decoding included);
* the same through ``train_model`` with the peak RSS of each phase (decode, training batches,
  validation, calibration + gate fit, save), the peak mark being reset between phases.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as C


def _vm_hwm_kib() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_hwm() -> bool:
    """Reset this process's peak-RSS mark (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def train_phases(train_data: str) -> int:
    """1 epoch of train_model on ``train_data`` with the peak RSS of each phase (fresh cache)."""
    from pneumo_desktop.core import training as tr

    config = tr.TrainingConfig(epochs=1)
    table = tr.prepare_tables(train_data, config)
    phases: dict[str, float | None] = {}
    resets = _reset_hwm()

    def mark(name: str) -> None:
        kib = _vm_hwm_kib()
        phases[name] = None if kib is None else kib / 1024
        _reset_hwm()

    with tempfile.TemporaryDirectory(prefix="bench-memory-cache-") as cache:
        for event in tr.train_model(table, config, cache_dir=cache, name="bench"):
            if isinstance(event, tr.DataReady):
                mark("decode + cache")
            elif isinstance(event, tr.BatchDone) and event.batch == event.n_batches:
                mark(f"training batches (batch {config.batch_size})")
            elif isinstance(event, tr.EpochDone):
                mark("validation (batches of 256)")
            elif isinstance(event, tr.TrainingFinished):
                mark("calibration + gate fit (batches of 256)")
                event.classifier.save(Path(cache) / "m.pneumo")
                mark("save")
    # Resetting the mark also resets ru_maxrss, so the process peak is the largest phase peak.
    peak_kib = max([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss]
                   + [int(v * 1024) for v in phases.values() if v is not None])
    print(json.dumps({"self_maxrss_kib": peak_kib, "phases_peak_mib": phases, "hwm_reset_supported": resets}))
    return 0


def child(scenario: str, model: str, data: str, train_data: str) -> int:
    """Run one in-process scenario and print its own peak RSS as JSON."""
    import torch

    torch.set_num_threads(int(os.environ.get("PNEUMO_DESKTOP_THREADS", "2")))
    if scenario == "train_phases":
        return train_phases(train_data)
    start = time.perf_counter()
    n = 0
    if scenario in ("load", "stream", "stream_heatmaps"):
        from pneumo_desktop.core.classifier import Classifier
        from pneumo_desktop.core.predict import predict_files

        classifier = Classifier.load(model)
        if scenario != "load":
            for record in predict_files(classifier, [data], heatmaps=scenario == "stream_heatmaps"):
                n += 1
                del record
    print(json.dumps({"self_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "images": n,
                      "seconds": time.perf_counter() - start}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    C.add_common_args(parser)
    parser.add_argument("--data", default=str(C.DEFAULT_TEST_DIR), help="folder to predict (default: test split)")
    parser.add_argument("--train-data", default=str(C.DEFAULT_TRAIN_MINI), help="folder to train on (train_mini)")
    parser.add_argument("--limit", type=int, help="predict only N images of --data (quick check)")
    parser.add_argument("--skip", default="", help="comma-separated scenario keys to skip")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.model, args.data, args.train_data)

    model = str(C.require_model(args.model))
    C.pin_threads(args.threads, torch_too=False)  # the parent stays small: see _common.timed_run
    data = Path(args.data)
    if not data.is_dir():
        sys.exit(f"data folder not found: {data}")
    work = tempfile.TemporaryDirectory(prefix="bench-memory-")
    tmp = Path(work.name)
    if args.limit:
        subset = tmp / "subset"
        subset.mkdir()
        for i, p in enumerate(C.spread(C.list_images(data), args.limit)):
            (subset / f"{i:05d}_{p.name}").symlink_to(p.resolve())
        data = subset
    n_images = len(C.list_images(data))

    py = sys.executable
    me = str(Path(__file__).resolve())
    child_args = ["--model", model, "--data", str(data)]
    scenarios = [
        ("python", "bare Python (python -c pass)", [py, "-c", "pass"]),
        ("torch", "import torch", [py, "-c", "import torch"]),
        ("load", "import predict path + load model", [py, me, "--child", "load", *child_args]),
        ("cli", f"CLI predict {n_images} images --json", [py, "-m", "pneumo_desktop", "predict", str(data), "--json",
                                                         "--model", model]),
        ("cli_heatmaps", f"CLI predict {n_images} images --json --heatmaps DIR",
         [py, "-m", "pneumo_desktop", "predict", str(data), "--json", "--model", model, "--heatmaps",
          str(tmp / "heatmaps")]),
        ("stream", f"predict_files streaming, {n_images} images", [py, me, "--child", "stream", *child_args]),
        ("stream_heatmaps", f"predict_files streaming + heatmaps, {n_images} images",
         [py, me, "--child", "stream_heatmaps", *child_args]),
        ("train", f"CLI train 1 epoch on {Path(args.train_data).name} (fresh cache)",
         [py, "-m", "pneumo_desktop", "train", args.train_data, "--out", str(tmp / "m.pneumo"), "--epochs", "1",
          "--cache-dir", str(tmp / "cache")]),
        ("train_phases", f"train_model 1 epoch on {Path(args.train_data).name}, per phase (below)",
         [py, me, "--child", "train_phases", "--train-data", args.train_data, *child_args]),
    ]
    skip = set(filter(None, args.skip.split(",")))
    info = C.machine_info(args.threads)
    extra = {"model": model, "data": f"{args.data} ({n_images} images)", "train data": args.train_data}
    print(C.header("bench_memory", info, extra))
    results = {"machine": info, **extra, "scenarios": {}}
    rows = []
    for key, label, cmd in scenarios:
        if key in skip:
            continue
        print(f"running: {label} …", file=sys.stderr, flush=True)
        wall, rc, err, usage = C.timed_run(cmd, C.child_env(args.threads), stdout=subprocess.PIPE
                                           if "--child" in cmd else subprocess.DEVNULL)
        self_rss = None
        if "--child" in cmd and rc == 0:
            reported = json.loads(usage["stdout"].strip().splitlines()[-1])
            self_rss = reported["self_maxrss_kib"] / 1024
            if "phases_peak_mib" in reported:
                results["train_phases_peak_mib"] = reported["phases_peak_mib"]
        if rc != 0:
            print(f"  {label}: failed (exit {rc}): {err.strip().splitlines()[-1] if err.strip() else ''}",
                  file=sys.stderr)
        if key == "train_phases" and self_rss is not None:  # see train_phases: the mark was reset
            usage["maxrss_kib"] = max(usage["maxrss_kib"], int(self_rss * 1024))
        entry = {"label": label, "peak_rss_mib": usage["maxrss_kib"] / 1024, "self_reported_mib": self_rss,
                 "wall_s": wall, "cpu_s": usage["user_s"] + usage["sys_s"], "exit": rc}
        results["scenarios"][key] = entry
        rows.append([label, entry["peak_rss_mib"], self_rss, wall, entry["cpu_s"], rc])
    print(C.table(["scenario (fresh process each)", "peak RSS MiB", "self-reported", "wall s", "CPU s", "exit"],
                  rows))
    print("peak RSS includes the parent's resident size at fork time (Linux keeps the larger of the two); the "
          "bare-Python row is that floor.")
    if "train_phases_peak_mib" in results:
        print()
        print(C.table(["training phase (train_model, 1 epoch)", "peak RSS MiB in phase"],
                      [[k, v] for k, v in results["train_phases_peak_mib"].items()]))
    if args.json:
        C.emit_json(results)
    work.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
