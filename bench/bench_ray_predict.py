"""Throughput of ``predict --engine ray`` against the single-process ``predict``.

    python bench/bench_ray_predict.py [--data DIR] [--limit N] [--generate N] [--actors 1,2]
                                      [--batch-size 32] [--model FILE] [--threads 2] [--json]

On one folder of films, as whole processes (start-up included):

* ``python -m pneumo_desktop predict DIR --json > /dev/null``: the single-process CLI (torch on
  ``--threads`` threads, decoding in two forked processes);
* the Ray engine (``pneumo_desktop.cluster.ray_predict.predict_to_parquet`` with a local Ray on
  this machine's usable cores) with each actor count of ``--actors``: one torch thread per actor.

It prints films/s, the scaling efficiency (films/s with 2 actors / (2 x films/s with 1 actor)),
and where the Ray engine's time goes: the process's start-up and imports, Ray's start-up
(``ray.init``), decoding and inference (summed over the files inside the tasks and actors, so
work seconds, not wall time: parallel workers add up) and the driver's Parquet writes.

``--limit N`` takes N films spread over DIR (symbolic links in a temporary folder).
``--generate N`` writes N full-size synthetic films instead (2,800 px, 16-bit: PNGs and
uncompressed DICOMs alternately) into a temporary folder, to time full-size decoding.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as C

sys.path.insert(0, str(C.REPO_ROOT))


# ----- the films -----------------------------------------------------------------------------------
def link_films(source: Path, limit: int | None, dest: Path) -> Path:
    """``limit`` films spread over ``source`` (all when None), as symbolic links in ``dest``."""
    films = C.list_images(source)
    if limit:
        films = C.spread(films, limit)
    dest.mkdir(parents=True, exist_ok=True)
    for i, film in enumerate(films):
        (dest / f"{i:05d}_{film.name}").symlink_to(film.resolve())
    return dest


def generate_films(n: int, dest: Path, size: int = 2800, seed: int = 0) -> Path:
    """``n`` full-size synthetic films in ``dest``: 16-bit PNGs and uncompressed 16-bit DICOMs
    (MONOCHROME2) alternately. Eight base images, each film with its own noise and exposure."""
    import numpy as np
    from PIL import Image
    from pneumo_desktop.core.synthetic import synthetic_chest_image, write_synthetic_dicom

    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    bases = [synthetic_chest_image(size=size, seed=seed + k).astype(np.float32) * 256.0 for k in range(min(8, n))]
    start = time.perf_counter()
    for i in range(n):
        noise = rng.normal(0.0, 300.0, (size // 8, size // 8)).astype(np.float32)
        noise = np.kron(noise, np.ones((8, 8), np.float32))  # cheap grain, a new pattern per film
        film = np.clip(bases[i % len(bases)] * rng.uniform(0.9, 1.1) + noise, 0, 65535).astype(np.uint16)
        if i % 2 == 0:
            Image.fromarray(film).save(dest / f"film_{i:05d}.png", compress_level=1)
        else:
            write_synthetic_dicom(dest / f"film_{i:05d}.dcm", film, Modality="CR", PatientID="SYNTHETIC")
        if (i + 1) % 50 == 0:
            print(f"  generated {i + 1}/{n} films ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    return dest


# ----- the runs ------------------------------------------------------------------------------------
def time_cli(folder: Path, model: str, threads: int) -> dict:
    cmd = [sys.executable, "-m", "pneumo_desktop", "predict", str(folder), "--model", model, "--json"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env=C.child_env(threads), cwd=C.REPO_ROOT)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"predict failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return {"wall_s": wall}


def time_ray(folder: Path, model: str, actors: int, batch_size: int, work: Path) -> dict:
    """One Ray job as a whole process (``--child``); returns its wall time and JobSummary figures."""
    out = work / f"ray-{actors}-actors.parquet"
    cmd = [sys.executable, __file__, "--child", str(folder), "--model", model, "--actors", str(actors),
           "--batch-size", str(batch_size), "--out", str(out)]
    env = C.child_env(None)
    env.pop("PNEUMO_DESKTOP_THREADS", None)  # one torch thread per actor
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=C.REPO_ROOT)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"the Ray job failed ({proc.returncode}): {proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def child(args) -> None:
    """Run one Ray job in this process and print its summary as JSON (the parent times us)."""
    from pneumo_desktop.cluster.ray_predict import predict_to_parquet

    summary = predict_to_parquet([args.child], args.model, args.out, actors=int(args.actors),
                                 batch_size=args.batch_size, progress=False)
    print(json.dumps({"files": summary.files, "counts": summary.counts, "job_s": summary.seconds,
                      "ready_s": summary.ready_seconds, "init_s": summary.init_seconds,
                      "decode_s": summary.decode_seconds, "inference_s": summary.inference_seconds,
                      "write_s": summary.write_seconds, "parts": summary.parts}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    C.add_common_args(parser)
    parser.add_argument("--data", default=str(C.DEFAULT_TEST_DIR), help="folder of films (default: the test split)")
    parser.add_argument("--limit", type=int, help="use N films spread over --data")
    parser.add_argument("--generate", type=int, metavar="N",
                        help="generate N full-size synthetic films (2,800 px 16-bit PNG/DICOM) and use those")
    parser.add_argument("--size", type=int, default=2800, help="side of the generated films (default 2800)")
    parser.add_argument("--actors", default="1,2", help="actor counts to time (default 1,2)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--skip-cli", action="store_true", help="time the Ray engine only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    model = str(C.require_model(args.model))
    actor_counts = [int(a) for a in args.actors.split(",") if a.strip()]
    info = C.machine_info(args.threads)
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        work = Path(tmp)
        if args.generate:
            folder = generate_films(args.generate, work / "films", size=args.size)
            what = f"{args.generate} generated {args.size} px 16-bit films (PNG and DICOM alternately)"
        else:
            folder = link_films(Path(args.data), args.limit, work / "films")
            what = f"{len(list(folder.iterdir()))} films from {args.data}"
        n = len(list(folder.iterdir()))
        print(C.header("predict --engine ray against the single-process predict", info,
                       {"films": what, "model": model, "batch size": args.batch_size,
                        "Ray": _ray_version()}), flush=True)
        rows = []
        if not args.skip_cli:
            cli = time_cli(folder, model, args.threads)
            rows.append({"engine": f"cli ({args.threads} torch threads)", "actors": None, **cli})
            print(f"  cli: {cli['wall_s']:.1f} s", file=sys.stderr, flush=True)
        for actors in actor_counts:
            result = time_ray(folder, model, actors, args.batch_size, work)
            if result["files"] != n:
                raise SystemExit(f"the Ray job wrote {result['files']} rows for {n} films")
            rows.append({"engine": "ray", "actors": actors, **result})
            print(f"  ray, {actors} actors: {result['wall_s']:.1f} s", file=sys.stderr, flush=True)
    for row in rows:
        row["films_per_s"] = n / row["wall_s"]
    print(f"\n{'engine':<26}{'actors':>7}{'wall s':>9}{'films/s':>9}{'start-up s':>11}{'ray init s':>11}"
          f"{'decode s*':>10}{'infer s*':>10}{'write s':>9}  ok/refused/error")
    for row in rows:
        if row["actors"] is None:
            print(f"{row['engine']:<26}{'-':>7}{row['wall_s']:>9.1f}{row['films_per_s']:>9.1f}")
            continue
        startup = row["wall_s"] - row["job_s"] + row["ready_s"]
        print(f"{row['engine']:<26}{row['actors']:>7}{row['wall_s']:>9.1f}{row['films_per_s']:>9.1f}"
              f"{startup:>11.1f}{row['init_s']:>11.1f}{row['decode_s']:>10.1f}{row['inference_s']:>10.1f}"
              f"{row['write_s']:>9.2f}  {row['counts'].get('ok', 0)}/{row['counts'].get('unsupported', 0)}/"
              f"{row['counts'].get('error', 0)}")
    print("start-up: the process's start and imports, the model check and ray.init; * work seconds summed over the "
          "tasks and actors (not wall time)")
    by_actors = {row["actors"]: row["films_per_s"] for row in rows if row["actors"] is not None}
    efficiency = None
    if 1 in by_actors and 2 in by_actors:
        efficiency = by_actors[2] / (2 * by_actors[1])
        print(f"scaling efficiency (films/s with 2 actors / (2 x with 1 actor)): {efficiency:.2f}")
    if args.json:
        print(json.dumps({"machine": info, "films": n, "what": what, "rows": rows, "scaling_efficiency": efficiency}))


def _ray_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ray")
    except PackageNotFoundError:
        return "not installed (pip install 'pneumo-desktop[cluster]')"


if __name__ == "__main__":
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    main()
