"""Does ``predict --engine ray`` answer exactly as ``predict --json``?

    python experiments/ray_vs_local.py FOLDER [--model FILE] [--actors N]

Copies FOLDER into a temporary folder with one broken file added, runs the single-machine
``predict --json`` and the Ray job on the copy, and prints: files, rows, duplicates, files whose
status or label differ, and the largest difference in P(abnormal). Exit 1 if any status differs,
a file is missing or doubled, or a probability differs by more than 1e-3.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(args: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pneumo_desktop", *args], cwd=REPO, capture_output=True, text=True)
    return proc, time.perf_counter() - start


def _label(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--model")
    parser.add_argument("--actors", type=int)
    args = parser.parse_args()
    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="ray-vs-local-") as tmp:
        films = Path(tmp) / "films"
        shutil.copytree(args.folder, films)
        (films / "broken.png").write_bytes(b"not an image")
        model = ["--model", args.model] if args.model else []
        local, local_s = _run(["predict", str(films), "--json", *model])
        if local.returncode != 0:
            print(local.stderr)
            return 1
        out = Path(tmp) / "out.parquet"
        actors = ["--actors", str(args.actors)] if args.actors else []
        ray, ray_s = _run(["predict", str(films), "--engine", "ray", "--out", str(out), *model, *actors])
        if ray.returncode != 0:
            print(ray.stderr[-3000:])
            return 1
        by_path = {r["path"]: r for r in json.loads(local.stdout)}
        rows = pd.read_parquet(out).to_dict("records")
        paths = [r["path"] for r in rows]
        status_diff = [p for p, r in zip(paths, rows) if by_path.get(p, {}).get("status") != r["status"]]
        label_diff = [p for p, r in zip(paths, rows) if _label(by_path.get(p, {}).get("label")) != _label(r["label"])]
        dp = [abs((by_path[p]["probability"] or 0.0) - (r["probability"] or 0.0)) for p, r in zip(paths, rows)
              if p in by_path and _label(r["probability"]) is not None and by_path[p]["probability"] is not None]
        missing = sorted(set(by_path) - set(paths))
        doubled = len(paths) - len(set(paths))
        statuses = pd.Series([r["status"] for r in rows]).value_counts().to_dict()
        print(f"files {len(by_path)} | ray rows {len(rows)} | missing {len(missing)} | doubled {doubled}")
        print(f"status differs {len(status_diff)} | label differs {len(label_diff)} | max |dP| {max(dp, default=0.0):.2e}")
        print(f"statuses (ray): {statuses}")
        print(f"wall clock: predict --json {local_s:.1f} s, --engine ray {ray_s:.1f} s (Ray start-up included)")
        print(ray.stderr.strip().splitlines()[-1] if ray.stderr.strip() else "")
        failed = status_diff or missing or doubled or max(dp, default=0.0) > 1e-3
        print("FAILED" if failed else "OK: same status for every file, probabilities within 1e-3")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
