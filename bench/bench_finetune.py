"""Time ``pneumo-desktop train DATA --init MODEL --out FILE`` on a folder of local films.

    python bench/bench_finetune.py [--outside DIR] [--source nih] [--films 200] [--model FILE]
                                   [--repeats 1] [--threads 2] [--json]

Builds a labelled folder of ``--films`` films (half per class, seed 0) from an outside source of
``scripts/build_outside_data.py`` as symbolic links in a temporary folder, then runs the whole
command as a separate process (start-up, decoding the full-size films, the five cross-fitted
fine-tunes and the final one, calibration, the feature gate and the atomic write) and reports
its wall-clock and CPU time, and the trainer's own stage times from its progress lines.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
from pathlib import Path

import _common as C

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outside", default=str(C.DEFAULT_OUTSIDE))
    parser.add_argument("--source", default="nih")
    parser.add_argument("--films", type=int, default=200)
    parser.add_argument("--model", default=str(C.DEFAULT_MODEL))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    model = C.require_model(args.model)
    rows = C.read_outside_manifest(args.outside, args.source)
    rng = random.Random(0)
    print(C.header("Fine-tuning time (train --init), whole process", C.machine_info(args.threads),
                   {"model": model.name, "films": args.films, "source": args.source}))
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "site"
        for label in sorted({r["label"] for r in rows}):
            chosen = rng.sample([r for r in rows if r["label"] == label], args.films // 2)
            (folder / label).mkdir(parents=True)
            for r in chosen:
                source = Path(args.outside) / r["path"]
                (folder / label / source.name).symlink_to(source.resolve())
        for repeat in range(args.repeats):
            out = Path(scratch) / f"adapted{repeat}.pneumo"
            cache = Path(scratch) / f"cache{repeat}"  # a fresh cache: the films are decoded every time
            cmd = [sys.executable, "-m", "pneumo_desktop", "train", str(folder), "--init", str(model),
                   "--out", str(out), "--cache-dir", str(cache)]
            wall, code, err, usage = C.timed_run(cmd, env=C.child_env(args.threads))
            if code != 0:
                print(f"error: the fine-tune failed (exit {code}): {err.strip().splitlines()[-1:]}", file=sys.stderr)
                return 1
            saved = re.search(r"saved .* in (\d+) s", err)
            results.append({"wall_s": round(wall, 1), "cpu_s": round(usage["user_s"] + usage["sys_s"], 1),
                            "peak_rss_mb": round(usage["maxrss_kib"] / 1024),
                            "trainer_s": int(saved.group(1)) if saved else None})
    print(C.table(["run", "films", "wall clock (s)", "CPU (s)", "peak RSS (MB)", "trainer (s)"],
                  [[i + 1, args.films, r["wall_s"], r["cpu_s"], r["peak_rss_mb"], r["trainer_s"]]
                   for i, r in enumerate(results)]))
    print(f"\ngoal: at most 180 s for {args.films} films, gate and calibration included")
    if args.json:
        C.emit_json({"results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
