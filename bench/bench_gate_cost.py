"""What the chest X-ray detector costs at prediction time.

    python bench/bench_gate_cost.py [--data DIR] [--model FILE] [--threads 2] [--repeats 3]

(a) on an otherwise idle process: ``XrayDetector.p_not_xray`` per image at batch 1 and batch 32
    over the folder's images (prepared as the classifier prepares them), best of ``--repeats``;
(b) inside the CLI's ``predict`` as it really runs (forked decode workers started before torch
    is imported, then batches of 32): the CLI's ``main`` is run ``--repeats`` times in fresh
    subprocesses with timers around ``Classifier.predict_batch`` and ``XrayDetector.p_not_xray``,
    and each run's totals are printed next to its wall time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import _common as C

# Run in a fresh interpreter: times the CLI's predict with its classifier and detector calls
# wrapped, and prints one JSON line. Nothing but the timers is changed.
_CHILD = r"""
import io, json, sys, time
t0 = time.perf_counter()
from pneumo_desktop import cli
totals = {"predict_batch_s": 0.0, "detector_s": 0.0}
def timed(owner, name, key):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[key] += time.perf_counter() - start
    setattr(owner, name, wrapper)
load = cli._load_classifier
def load_and_time(path):
    # Patched only here, once the CLI has started its decode workers and imported torch itself,
    # so the run decodes exactly as the real one does (forked processes where it can).
    import pneumo_desktop.core.classifier as classifier_module
    import pneumo_desktop.core.detector as detector_module
    timed(classifier_module.Classifier, "predict_batch", "predict_batch_s")
    timed(detector_module.XrayDetector, "p_not_xray", "detector_s")
    return load(path)
cli._load_classifier = load_and_time
real, sys.stdout = sys.stdout, io.StringIO()
code = cli.main(["predict", sys.argv[1], "--json", "--model", sys.argv[2]])
sys.stdout = real
totals["wall_s"] = time.perf_counter() - t0
totals["exit"] = code
print(json.dumps(totals))
"""


def idle_cost(classifier, paths, repeats: int) -> list[list]:
    import numpy as np

    from pneumo_desktop.core.imageio import read_image

    prepared = np.stack([classifier.prepare(read_image(p).pixels) for p in paths])
    rows = []
    for batch in (1, 32):
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            for i in range(0, len(prepared), batch):
                classifier.detector.p_not_xray(prepared[i:i + batch])
            best = min(best, time.perf_counter() - start)
        rows.append([batch, len(prepared), best, best / len(prepared) * 1e3])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(C.DEFAULT_TEST_DIR))
    parser.add_argument("--model", default=str(C.DEFAULT_MODEL))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    C.pin_threads(args.threads)
    from pneumo_desktop.core.classifier import Classifier

    classifier = Classifier.load(C.require_model(args.model))
    if classifier.detector is None:
        print(f"error: {args.model} has no chest X-ray detector", file=sys.stderr)
        return 2
    paths = C.list_images(args.data)
    if not paths:
        print(f"error: no images under {args.data}", file=sys.stderr)
        return 2
    print(C.header("Cost of the chest X-ray detector at prediction", C.machine_info(args.threads),
                   {"model": C.model_summary(classifier), "data": f"{args.data} ({len(paths)} images)"}))
    print("(a) idle process, XrayDetector.p_not_xray, best of", args.repeats)
    print(C.table(["batch", "images", "total s", "ms/image"], idle_cost(classifier, paths, args.repeats), digits=3))
    print("\n(b) inside `python -m pneumo_desktop predict DIR --json` (fresh process per run)")
    rows = []
    for run in range(args.repeats):
        proc = subprocess.run([sys.executable, "-c", _CHILD, args.data, args.model], capture_output=True, text=True,
                              env=C.child_env(args.threads), cwd=C.REPO_ROOT)
        if proc.returncode != 0 or not proc.stdout.strip():
            print(f"error: the instrumented run failed: {proc.stderr.strip()[-500:]}", file=sys.stderr)
            return 1
        totals = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append([run + 1, totals["wall_s"], totals["predict_batch_s"], totals["detector_s"], totals["exit"]])
    print(C.table(["run", "wall s (in-process, import included)", "classifier predict_batch s", "detector s", "exit"],
                  rows, digits=3))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
