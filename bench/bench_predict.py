"""Prediction benchmarks: single-image latency, folder throughput against a plain loop, import cost.

    python bench/bench_predict.py [--data DIR] [--model FILE] [--threads 2] [--json]

(a) single-image latency over ~50 real test images, stage by stage, using the core functions
    (read_image, check_image, Classifier.prepare, Classifier.predict_batch, explain.gradcam);
(b) folder throughput: (i) ``python -m pneumo_desktop predict DIR --json`` as a whole process
    (start-up included, median of --repeats), (ii) steady-state ``predict_files`` in this process
    after a warm-up, (iii) ``python bench/plain_loop.py DIR`` as a whole process, interleaved with
    (i); speed-up = plain / ours; plus the start-up pieces (bare Python, import torch, import the
    predict path, predict one image);
(c) the predict path's imports (``-X importtime``): top modules by cumulative time;
(d) precision: the shipped path (BatchNorm folded, bf16 where the CPU has bf16 units) against
    float32, in speed and in agreement (largest probability change, decisions changed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as C

import numpy as np  # noqa: E402
import torch  # noqa: E402


# ----- (a) single image --------------------------------------------------------------------------
def single_image(classifier, paths: list[Path], runs: int) -> tuple[list[list], dict]:
    from pneumo_desktop.core.explain import gradcam, predict_with_gradcam
    from pneumo_desktop.core.gate import check_image
    from pneumo_desktop.core.imageio import read_image

    chosen = C.spread(paths, runs)
    stages = ["decode (read_image)", "gate (check_image)", "preprocess (prepare)",
              "predict + feature gate + detector (B=1)", "Grad-CAM (gradcam)", "predict, then Grad-CAM",
              "predict + Grad-CAM in one pass, with the gates (as predict --heatmaps)",
              "whole file: decode..predict+Grad-CAM (one pass)"]
    one_pass = classifier.single_view
    samples: dict[str, list[float]] = {s: [] for s in stages}

    def one(path: Path, record: bool) -> None:
        t0 = time.perf_counter()
        image = read_image(path)
        t1 = time.perf_counter()
        check_image(image.pixels, image.colourfulness)
        t2 = time.perf_counter()
        u8 = classifier.prepare(image.pixels)
        t3 = time.perf_counter()
        _, feats = classifier.predict_batch(u8[None])
        classifier.unfamiliar_reasons(u8[None], feats)  # feature distance and chest X-ray detector
        t4 = time.perf_counter()
        gradcam(classifier, u8, output_size=image.pixels.shape)
        t5 = time.perf_counter()
        if one_pass:
            _, feats, _, _ = predict_with_gradcam(classifier, u8[None], output_sizes=[image.pixels.shape])
            classifier.unfamiliar_reasons(u8[None], feats)
        t6 = time.perf_counter()
        if record:
            values = [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t3]
            values += [t6 - t5, t3 - t0 + t6 - t5] if one_pass else [float("nan"), t5 - t0]
            for stage, value in zip(stages, values):
                samples[stage].append(value)

    for path in chosen[:5]:  # warm-up: oneDNN primitive creation, allocator, page cache
        one(path, False)
    for path in chosen:
        one(path, True)
    rows, out = [], {}
    for stage in stages:
        s = C.summarise_ms(samples[stage])
        out[stage] = s
        rows.append([stage, s["median_ms"], s["p95_ms"], s["mean_ms"], s["min_ms"], s["n"]])
    return rows, out


# ----- (b) throughput ------------------------------------------------------------------------
def in_process_throughput(classifier, data: Path, repeats: int) -> dict:
    from pneumo_desktop.core.predict import predict_files

    files = C.list_images(data)
    for _ in predict_files(classifier, files[:64]):  # warm-up
        pass
    times, cpu, statuses = [], [], {}
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        records = list(predict_files(classifier, [data]))
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        statuses = {}
        for r in records:
            statuses[r.status] = statuses.get(r.status, 0) + 1
        labels = {str(Path(r.path).resolve()): r.label for r in records}
    med = statistics.median(times)
    n = sum(statuses.values())
    return {"images": n, "median_s": med, "images_per_s": n / med, "ms_per_image": med / n * 1e3,
            "all_s": times, "cpu_s": statistics.median(cpu), "statuses": statuses, "labels": labels}


def whole_process(data: Path, model: str, threads: int, plain_threads: int | None, repeats: int,
                  skip_plain: bool) -> dict:
    env = C.child_env(threads)
    ours_cmd = [sys.executable, "-m", "pneumo_desktop", "predict", str(data), "--json", "--model", model]
    plain_cmd = [sys.executable, str(C.BENCH_DIR / "plain_loop.py"), str(data)]
    if plain_threads:
        plain_cmd += ["--threads", str(plain_threads)]
    ours, plain, ours_cpu, plain_cpu = [], [], [], []
    for _ in range(repeats):  # interleaved so that background load hits both alike
        wall, rc, err, usage = C.timed_run(ours_cmd, env)
        if rc != 0:
            sys.exit(f"predict failed (exit {rc}): {err}")
        ours.append(wall)
        ours_cpu.append(usage["user_s"] + usage["sys_s"])
        if not skip_plain:
            wall, rc, err, usage = C.timed_run(plain_cmd, C.child_env(None))
            if rc != 0:
                sys.exit(f"plain loop failed (exit {rc}): {err}")
            plain.append(wall)
            plain_cpu.append(usage["user_s"] + usage["sys_s"])
    out = {"ours_s": ours, "ours_median_s": statistics.median(ours), "ours_cpu_s": ours_cpu,
           "command": " ".join(ours_cmd[1:])}
    if plain:
        out.update(plain_s=plain, plain_median_s=statistics.median(plain), plain_cpu_s=plain_cpu,
                   speedup=statistics.median(plain) / statistics.median(ours),
                   cpu_ratio=statistics.median(plain_cpu) / statistics.median(ours_cpu))
    return out


def startup_costs(one_image: Path, model: str, threads: int, repeats: int) -> list[list]:
    env = C.child_env(threads)
    probes = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("import torch", [sys.executable, "-c", "import torch"]),
        ("import pneumo_desktop.core.predict", [sys.executable, "-c", "import pneumo_desktop.core.predict"]),
        ("import + Classifier.load", [sys.executable, "-c",
                                      "import sys; from pneumo_desktop.core.classifier import Classifier; "
                                      "Classifier.load(sys.argv[1])", model]),
        ("CLI predict, 1 image", [sys.executable, "-m", "pneumo_desktop", "predict", str(one_image), "--json",
                                  "--model", model]),
    ]
    rows = []
    for name, cmd in probes:
        walls = []
        for _ in range(repeats):
            wall, rc, err, _ = C.timed_run(cmd, env)
            if rc != 0:
                sys.exit(f"{name} failed: {err}")
            walls.append(wall)
        rows.append([name, statistics.median(walls) * 1e3, min(walls) * 1e3])
    return rows


# ----- (c) imports -----------------------------------------------------------------------------
def import_profile(one_image: Path, model: str, threads: int, top: int = 10) -> dict:
    cmd = [sys.executable, "-X", "importtime", "-m", "pneumo_desktop", "predict", str(one_image), "--json",
           "--model", model]
    proc = subprocess.run(cmd, env=C.child_env(threads), cwd=C.REPO_ROOT, capture_output=True, text=True)
    entries = []  # (name, depth, self_us, cumulative_us)
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:"):].split("|", 2)
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        self_us, cum_us, raw = parts[0].strip(), parts[1].strip(), parts[2]
        depth = (len(raw) - len(raw.lstrip(" ")) - 1) // 2
        entries.append((raw.strip(), depth, int(self_us), int(cum_us)))
    top_level = [e for e in entries if e[1] == 0]
    total_us = sum(e[3] for e in top_level)
    by_cum = sorted(entries, key=lambda e: e[3], reverse=True)[:top]
    packages: dict[str, int] = {}
    for name, _, self_us, _ in entries:
        packages[name.split(".")[0]] = packages.get(name.split(".")[0], 0) + self_us
    by_pkg = sorted(packages.items(), key=lambda kv: kv[1], reverse=True)[:top]
    names = {e[0] for e in entries}
    watch = ["pandas", "matplotlib", "torchmetrics", "pydicom", "PySide6", "scipy", "sympy", "safetensors",
             "torch._dynamo", "torch.export", "torch._decomp", "torch._prims", "torch.fx", "torch.onnx",
             "torch.distributed", "torch._inductor"]
    return {
        "total_ms": total_us / 1e3, "n_modules": len(entries),
        "top_cumulative": [{"module": n, "depth": d, "self_ms": s / 1e3, "cumulative_ms": c / 1e3}
                           for n, d, s, c in by_cum],
        "top_packages_self": [{"package": p, "self_ms": us / 1e3} for p, us in by_pkg],
        "watched_loaded": [w for w in watch if w in names],
        "watched_not_loaded": [w for w in watch if w not in names],
        "rc": proc.returncode,
    }


# ----- (d) precision ------------------------------------------------------------------------
def precision_agreement(model: str, paths: list[Path]) -> tuple[list[list], dict]:
    """The shipped path in bf16 (where the CPU has bf16 units) against float32 on the same files:
    the largest probability difference and the number of decisions that change."""
    from pneumo_desktop.core.classifier import Classifier
    from pneumo_desktop.core.predict import predict_files

    fast = Classifier.load(model)
    exact = Classifier.load(model)
    exact.precision = "fp32"
    out, rows = {}, []
    a = {r.path: r for r in predict_files(fast, paths)}
    b = {r.path: r for r in predict_files(exact, paths)}
    ok = [p for p in a if a[p].status == "ok" and b[p].status == "ok"]
    diffs = [abs(a[p].probability - b[p].probability) for p in ok]
    flips = sum(a[p].label != b[p].label for p in ok)
    status_changes = sum(a[p].status != b[p].status for p in a)
    for name, c in (("shipped (" + fast.precision + ")", fast), ("float32", exact)):
        x = c.to_input(np.stack([c.prepare(np.random.default_rng(i).random((224, 224), dtype=np.float32))
                                 for i in range(32)]))
        for _ in range(3):
            c.logits_and_features(x)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            with torch.inference_mode():
                c.logits_and_features(x)
            times.append((time.perf_counter() - t0) / 32 * 1e3)
        rows.append([name, statistics.median(times)])
    out.update(n=len(ok), max_abs_dp=max(diffs) if diffs else None, flips=flips, status_changes=status_changes,
               ms_per_image={r[0]: r[1] for r in rows})
    return rows, out


def subset_dir(data: Path, limit: int) -> tuple[Path, tempfile.TemporaryDirectory]:
    tmp = tempfile.TemporaryDirectory(prefix="bench-predict-")
    for i, p in enumerate(C.spread(C.list_images(data), limit)):
        os.symlink(p.resolve(), Path(tmp.name) / f"{i:05d}_{p.name}")
    return Path(tmp.name), tmp


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    C.add_common_args(parser)
    parser.add_argument("--data", default=str(C.DEFAULT_TEST_DIR), help="image folder (default: the 624 test images)")
    parser.add_argument("--runs", type=int, default=50, help="single-image runs (default 50)")
    parser.add_argument("--repeats", type=int, default=3, help="whole-process repeats (default 3, median)")
    parser.add_argument("--limit", type=int, help="use only N images of the folder (quick check)")
    parser.add_argument("--plain-threads", type=int, help="pin the plain loop's threads (default: torch default)")
    parser.add_argument("--skip-process", action="store_true", help="skip the whole-process and start-up timings")
    parser.add_argument("--skip-plain", action="store_true", help="skip the plain loop")
    args = parser.parse_args()

    C.pin_threads(args.threads)
    model = str(C.require_model(args.model))
    data = Path(args.data)
    if not data.is_dir():
        sys.exit(f"data folder not found: {data}")
    tmp = None
    if args.limit:
        data, tmp = subset_dir(data, args.limit)
    paths = C.list_images(data)

    from pneumo_desktop.core.classifier import Classifier

    classifier = Classifier.load(model)
    info = C.machine_info(args.threads)
    arch = classifier.metadata["architecture"]
    extra = {"model": C.model_summary(classifier), "data": f"{args.data} ({len(paths)} images)"}
    if arch["widths"] != [32, 64, 128, 128] or classifier.preprocessing.input_size != 150:
        extra["NOTE"] = "the model is not 150 px / 32-64-128-128 like the plain loop: the comparison is not like for like"
    print(C.header("bench_predict", info, extra))
    results: dict = {"machine": info, **extra}

    print("\n(a) single image, latency in ms over", min(args.runs, len(paths)), "real images (after 5 warm-up)")
    rows, results["single_image"] = single_image(classifier, paths, args.runs)
    print(C.table(["stage", "median", "p95", "mean", "min", "n"], rows))

    print("\n(b) folder throughput")
    ip = in_process_throughput(classifier, data, max(1, args.repeats - 1))
    results["in_process"] = ip
    print(C.table(["in-process predict_files (steady state)", "images", "median s", "images/s", "ms/image",
                   "CPU s"],
                  [["predict_files(folder), batch 32, 2 decode threads", ip["images"], ip["median_s"],
                    ip["images_per_s"], ip["ms_per_image"], ip["cpu_s"]]], 2))
    print(f"statuses: {ip['statuses']}")
    if not args.skip_process:
        wp = whole_process(data, model, args.threads, args.plain_threads, args.repeats, args.skip_plain)
        results["whole_process"] = wp
        rows = [["ours: python -m pneumo_desktop predict DIR --json", wp["ours_median_s"], min(wp["ours_s"]),
                 len(paths) / wp["ours_median_s"], statistics.median(wp["ours_cpu_s"])]]
        if "plain_median_s" in wp:
            rows.append(["plain: python bench/plain_loop.py DIR", wp["plain_median_s"], min(wp["plain_s"]),
                         len(paths) / wp["plain_median_s"], statistics.median(wp["plain_cpu_s"])])
        print(f"\nwhole process, {args.repeats} interleaved runs each (start-up included)")
        print(C.table(["command", "median s", "min s", "images/s", "CPU s (median)"], rows, 2))
        if "speedup" in wp:
            print(f"speed-up (plain / ours, medians): {wp['speedup']:.2f}x   "
                  f"(from minimums: {min(wp['plain_s']) / min(wp['ours_s']):.2f}x; "
                  f"CPU-seconds ratio: {wp['cpu_ratio']:.2f}x)")
        print("\nstart-up pieces (whole process, ms)")
        su = startup_costs(paths[0], model, args.threads, args.repeats)
        results["startup_ms"] = {r[0]: {"median": r[1], "min": r[2]} for r in su}
        print(C.table(["process", "median ms", "min ms"], su, 0))

    print("\n(c) imports of `python -X importtime -m pneumo_desktop predict ONE_IMAGE --json`")
    imp = import_profile(paths[0], model, args.threads)
    results["imports"] = imp
    print(f"{imp['n_modules']} modules, {imp['total_ms']:.0f} ms of import time in all (importtime adds overhead)")
    print(C.table(["top modules by cumulative time", "depth", "self ms", "cumulative ms"],
                  [[e["module"], e["depth"], e["self_ms"], e["cumulative_ms"]] for e in imp["top_cumulative"]]))
    print()
    print(C.table(["top packages by own (self) time", "self ms"],
                  [[e["package"], e["self_ms"]] for e in imp["top_packages_self"]]))
    print(f"loaded: {', '.join(imp['watched_loaded']) or '-'}")
    print(f"not loaded: {', '.join(imp['watched_not_loaded']) or '-'}")

    print("\n(d) precision: the shipped inference path against float32 on the same images")
    rows, results["precision"] = precision_agreement(model, paths)
    pr = results["precision"]
    print(C.table(["whole model forward, batch 32", "ms/image"], rows, 3))
    print(f"over {pr['n']} images: max |dP(abnormal)| = {pr['max_abs_dp']:.4f}, decisions changed: {pr['flips']}, "
          f"statuses changed: {pr['status_changes']}")

    for key in ("in_process",):
        results.get(key, {}).pop("labels", None)
    if args.json:
        C.emit_json(results)
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
