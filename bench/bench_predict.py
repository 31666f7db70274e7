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
(d) what-if forward variants (not in the product): memory format, BN folding, bf16, batch size,
    and a one-pass Grad-CAM, with their agreement to the shipped path;
(e) a whole-process prototype of a fast CLI path (single network or whole model) against the
    plain loop.
"""

from __future__ import annotations

import argparse
import copy
import json
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
    from pneumo_desktop.core.explain import gradcam
    from pneumo_desktop.core.gate import check_image
    from pneumo_desktop.core.imageio import read_image

    chosen = C.spread(paths, runs)
    stages = ["decode (read_image)", "gate (check_image)", "preprocess (prepare)", "predict (predict_batch, B=1)",
              "Grad-CAM (gradcam)", "predict + Grad-CAM", "whole file: decode..predict+Grad-CAM"]
    samples: dict[str, list[float]] = {s: [] for s in stages}

    def one(path: Path, record: bool) -> None:
        t0 = time.perf_counter()
        image = read_image(path)
        t1 = time.perf_counter()
        check_image(image.pixels, image.colourfulness)
        t2 = time.perf_counter()
        u8 = classifier.prepare(image.pixels)
        t3 = time.perf_counter()
        classifier.predict_batch(u8[None])
        t4 = time.perf_counter()
        gradcam(classifier, u8, output_size=image.pixels.shape)
        t5 = time.perf_counter()
        if record:
            for stage, value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t3, t5 - t0)):
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


# ----- (d) what-if ----------------------------------------------------------------------------
def fold_bn(member):
    """A copy of a ChestCNN member with each BatchNorm folded into its conv (eval only)."""
    from torch import nn

    folded = copy.deepcopy(member).eval()
    for block in folded.blocks:
        conv, bn = block.conv, block.norm
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        new = nn.Conv2d(conv.in_channels, conv.out_channels, 3, padding=1, bias=True)
        with torch.no_grad():
            new.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
            new.bias.copy_(bn.bias - bn.running_mean * scale)
        block.conv, block.norm = new, nn.Identity()
    return folded


# name -> (channels_last, fold BN, bf16 autocast); the first is what predict_batch does.
VARIANTS = {
    "shipped: channels_last fp32": (True, False, False),
    "NCHW fp32 (as the plain loop)": (False, False, False),
    "NCHW fp32, BN folded": (False, True, False),
    "channels_last fp32, BN folded": (True, True, False),
    "NCHW bf16 autocast": (False, False, True),
    "channels_last bf16 autocast": (True, False, True),
    "channels_last bf16, BN folded": (True, True, True),
}


class Variant:
    """Copies of every ensemble member in one memory format / folding / precision."""

    def __init__(self, classifier, channels_last: bool, fold: bool, bf16: bool):
        self.fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.bf16 = bf16
        self.members = []
        for member in classifier.members:
            m = copy.deepcopy(member).eval().to(memory_format=torch.contiguous_format)
            if fold:
                m = fold_bn(m)
            self.members.append(m.to(memory_format=self.fmt))

    def layout(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=self.fmt)

    def autocast(self):
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16)

    def member0(self, x: torch.Tensor) -> torch.Tensor:
        with self.autocast():
            return self.members[0](x).float()

    def ensemble(self, views: torch.Tensor, n_views: int) -> torch.Tensor:
        """Mean logits over members and views; ``views`` (V*B, 1, S, S) view-major."""
        total = None
        with self.autocast():
            for m in self.members:
                logits = m(views).float()
                logits = logits.view(n_views, -1, logits.shape[-1]).mean(0)
                total = logits if total is None else total + logits
        return total / len(self.members)


def one_pass_gradcam(classifier, variant: Variant, u8: np.ndarray):
    """Prediction (all members and test-time views) and Grad-CAM from the same forward pass.

    Blocks 1-3 and the last conv run without autograd; only the last pooling and the head are
    differentiated, so the backward pass is almost free. The map is taken on the unshifted view,
    like ``explain.gradcam``. Returns (P(classes) (K,), cam (h, w) unnormalised, explained class).
    """
    import torch.nn.functional as F

    from pneumo_desktop.core.preprocess import shift_views

    shifts = classifier.tta_shifts
    v0 = shifts.index((0, 0)) if (0, 0) in shifts else 0
    views = variant.layout(shift_views(classifier.to_input(u8[None]), shifts))
    activations, total = [], None
    with torch.inference_mode(False), torch.enable_grad():
        for m in variant.members:
            with torch.no_grad(), variant.autocast():
                h = views
                for block in m.blocks[:-1]:
                    h = block(h)
                last = m.blocks[-1]
                act = last.act(last.norm(last.conv(h)))
            act = act.float().requires_grad_(True)
            logits = m.head(torch.flatten(m.pool(last.pool(act)), 1)).mean(0)
            activations.append(act)
            total = logits if total is None else total + logits
        mean_logits = total / len(variant.members)
        probs = torch.softmax(mean_logits.detach() / classifier.temperature, 0)
        target = int(classifier.decide(probs[None].double().numpy())[0])
        grads = torch.autograd.grad(mean_logits[target], activations)
    cams = [F.relu((g[v0].mean(dim=(1, 2), keepdim=True) * a.detach()[v0]).sum(0)) for g, a in zip(grads, activations)]
    return probs, torch.stack(cams).mean(0), target


def _normalise_cam(cam: torch.Tensor, shape: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    cam = cam.numpy() / max(float(cam.max()), 1e-12)
    resized = Image.fromarray(cam.astype(np.float32), mode="F").resize(shape[::-1], Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized, dtype=np.float32), 0, 1)


def what_if(classifier, paths: list[Path], runs: int) -> tuple[list[list], list[list], dict]:
    from pneumo_desktop.core.explain import gradcam
    from pneumo_desktop.core.imageio import read_image
    from pneumo_desktop.core.preprocess import shift_views

    all_u8 = np.stack([classifier.prepare(read_image(p).pixels) for p in paths])
    u8 = all_u8[np.linspace(0, len(all_u8) - 1, min(64, len(all_u8))).astype(int)]
    n = len(u8)
    n_views, n_members = len(classifier.tta_shifts), len(classifier.members)
    variants = {name: Variant(classifier, *flags) for name, flags in VARIANTS.items()}
    x_base = classifier.to_input(u8)
    inputs = {name: v.layout(x_base) for name, v in variants.items()}
    views8 = {name: v.layout(shift_views(x_base[:8], classifier.tta_shifts)) for name, v in variants.items()}
    times = {(name, key): [] for name in variants for key in ("b32", "b8", "b1", "full8")}
    rows, out = [], {}
    cut = 1 - classifier.threshold  # P(normal) below this is abnormal
    with torch.inference_mode():
        for name, v in variants.items():  # warm-up every shape
            x = inputs[name]
            v.member0(x[:32]), v.member0(x[:8]), v.member0(x[:1]), v.ensemble(views8[name], n_views)
        # Round robin, so that background load hits every variant alike.
        for rep in range(max(6, runs // 4)):
            for name, v in variants.items():
                x = inputs[name]
                for key, b in (("b32", 32), ("b8", 8)):
                    start = (rep * b) % max(1, n - b + 1)
                    t0 = time.perf_counter()
                    v.member0(x[start:start + b])
                    times[(name, key)].append((time.perf_counter() - t0) / min(b, n))
                for k in range(4):
                    i = (rep * 4 + k) % n
                    t0 = time.perf_counter()
                    v.member0(x[i:i + 1])
                    times[(name, "b1")].append(time.perf_counter() - t0)
                if rep < 3:
                    t0 = time.perf_counter()
                    v.ensemble(views8[name], n_views)
                    times[(name, "full8")].append((time.perf_counter() - t0) / min(8, n))
        # Agreement: member 0 on every image of the folder, the whole model on the 64 timing images.
        x_all = classifier.to_input(all_u8)
        ref0 = torch.softmax(variants["shipped: channels_last fp32"].member0(x_all) / classifier.temperature,
                             1)[:, classifier.normal_index]
        ref_full = torch.from_numpy(classifier.predict_batch(u8)[0][:, classifier.normal_index]).float()
        for name, v in variants.items():
            p0 = torch.cat([torch.softmax(v.member0(v.layout(x_all[i:i + 64])) / classifier.temperature, 1)
                            for i in range(0, len(x_all), 64)])[:, classifier.normal_index]
            pf = torch.softmax(v.ensemble(v.layout(shift_views(x_base, classifier.tta_shifts)), n_views)
                               / classifier.temperature, 1)[:, classifier.normal_index]
            flips0 = int(((p0 < cut) != (ref0 < cut)).sum())
            flips_full = int(((pf < cut) != (ref_full < cut)).sum())
            diff = float((pf - ref_full).abs().max())
            med = {key: statistics.median(times[(name, key)]) * 1e3 for key in ("b32", "b8", "b1", "full8")}
            rows.append([name, med["b32"], med["b8"], med["b1"], med["full8"], diff,
                         f"{flips0}/{len(x_all)}", f"{flips_full}/{n}"])
            out[name] = {"member0_ms_per_image": {"b32": med["b32"], "b8": med["b8"], "b1": med["b1"]},
                         "full_model_ms_per_image_b8": med["full8"], "full_model_max_abs_diff_p_normal": diff,
                         "member0_decision_flips": flips0, "member0_n": len(x_all),
                         "full_model_decision_flips": flips_full, "full_model_n": n}

    # Single image predict + Grad-CAM: shipped calls vs one forward pass that gives both.
    fast = variants["channels_last bf16, BN folded"]
    exact = variants["shipped: channels_last fp32"]
    keys = ("shipped", "target_given", "one_pass", "one_pass_fast")
    samples = {k: [] for k in keys}
    prob_diff = {"one_pass": 0.0, "one_pass_fast": 0.0}
    cam_diff = {"one_pass": [], "one_pass_fast": []}
    for i in range(runs + 3):
        img = u8[i % n]
        t0 = time.perf_counter()
        probs, _ = classifier.predict_batch(img[None])
        cam_ref, cls_ref = gradcam(classifier, img)
        t1 = time.perf_counter()
        gradcam(classifier, img, target_class=int(classifier.decide(probs)[0]))
        t2 = time.perf_counter()
        p1, cam1, cls1 = one_pass_gradcam(classifier, exact, img)
        cam1 = _normalise_cam(cam1, img.shape)
        t3 = time.perf_counter()
        p2, cam2, cls2 = one_pass_gradcam(classifier, fast, img)
        cam2 = _normalise_cam(cam2, img.shape)
        t4 = time.perf_counter()
        if i < 3:
            continue
        for key, value in zip(keys, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            samples[key].append(value)
        for key, p, cam, cls in (("one_pass", p1, cam1, cls1), ("one_pass_fast", p2, cam2, cls2)):
            prob_diff[key] = max(prob_diff[key], float(np.abs(p.double().numpy() - probs[0]).max()))
            if cls == cls_ref:
                cam_diff[key].append(float(np.abs(cam - cam_ref).max()))
    probs_all, _ = classifier.predict_batch(u8)
    mismatch = int((classifier.decide(probs_all) != probs_all.argmax(1)).sum())
    labels = {"shipped": "shipped: predict_batch + gradcam",
              "target_given": "gradcam(target_class=...) alone",
              "one_pass": "one pass, fp32: prediction (all views) + Grad-CAM",
              "one_pass_fast": "one pass, bf16 + BN folded"}
    gc_rows = []
    out["gradcam"] = {"n_members": n_members, "n_views": n_views, "label_vs_argmax_mismatch": mismatch, "n": n}
    for key, label in labels.items():
        s = C.summarise_ms(samples[key])
        out["gradcam"][key] = s
        diffs = cam_diff.get(key)
        gc_rows.append([label, s["median_ms"], s["p95_ms"], s["min_ms"],
                        prob_diff.get(key), max(diffs) if diffs else None])
        if key in prob_diff:
            out["gradcam"][key].update(max_abs_diff_probs=prob_diff[key],
                                       max_abs_diff_cam=max(diffs) if diffs else None)
    return rows, gc_rows, out


# ----- (e) prototype fast path ---------------------------------------------------------------
def prototype_child(data: str, model: str, members: str, chunk: int, threads: int) -> int:
    """A whole-process prototype of the proposed CLI fast path (run as a subprocess).

    Pillow decodes straight to 8-bit gray (``convert("L")``) and measures colour on a 4x reduced
    copy; the image gate and ``Classifier.prepare`` are the product's; inference runs with BN
    folded into the convs, bf16 autocast, channels_last, in fixed chunks of ``chunk`` images
    (the last chunk padded) on ``threads - 1`` torch threads while one thread decodes ahead. ``members``: "1" (member 0 alone,
    standing in for a single distilled network, no test-time views) or "all" (the whole model).
    """
    t_start = time.perf_counter()
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    from pneumo_desktop.core.classifier import Classifier
    from pneumo_desktop.core.gate import check_image
    from pneumo_desktop.core.imageio import list_input_files
    from pneumo_desktop.core.preprocess import shift_views

    # One decode thread plus (threads - 1) torch threads: no more busy threads than cores. With
    # 2 torch threads and a decode thread on 2 cores the OpenMP team stalls behind the decoder.
    torch.set_num_threads(max(1, threads - 1))
    classifier = Classifier.load(model)
    variant = Variant(classifier, True, True, True)
    shifts = classifier.tta_shifts
    if members == "1":
        variant.members = variant.members[:1]
        shifts = [(0, 0)]
    files = [str(p) for p in list_input_files([data])]
    t_ready = time.perf_counter()

    def decode(path: str):
        with Image.open(path) as im:
            im.load()
            colour = 0.0
            if im.mode in ("RGB", "RGBA"):
                small = np.asarray(im.convert("RGB").reduce(4), dtype=np.int16)
                colour = float((small.max(2) - small.min(2)).mean() / 255.0)
            pixels = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
        if check_image(pixels, colour) is not None:
            return None
        return classifier.prepare(pixels)

    labels = {}
    with ThreadPoolExecutor(max_workers=1) as pool, torch.inference_mode():
        decoded = pool.map(decode, files)
        batch, names = [], []
        for path, u8 in zip(files, decoded):
            if u8 is None:
                labels[str(Path(path).resolve())] = None
                continue
            batch.append(u8)
            names.append(path)
            if len(batch) == chunk or len(names) + len(labels) == len(files):
                real = len(batch)
                while len(batch) < chunk:  # fixed shapes: no new oneDNN primitives for the tail
                    batch.append(batch[-1])
                x = classifier.to_input(np.stack(batch))
                logits = variant.ensemble(variant.layout(shift_views(x, shifts)), len(shifts))[:real]
                probs = torch.softmax(logits / classifier.temperature, 1).double().numpy()
                for name, decision in zip(names, classifier.decide(probs)):
                    labels[str(Path(name).resolve())] = classifier.classes[int(decision)]
                batch, names = [], []
    end = time.perf_counter()
    print(json.dumps({"images": len(files), "setup_s": t_ready - t_start, "loop_s": end - t_ready,
                      "labels": labels}))
    return 0


def prototype(data: Path, model: str, threads: int, repeats: int, chunk: int, shipped_labels: dict,
              plain_wall: list[float]) -> tuple[list[list], dict]:
    """Whole-process prototype runs, interleaved with the plain loop."""
    env = C.child_env(threads)
    me = str(Path(__file__).resolve())
    plain_cmd = [sys.executable, str(C.BENCH_DIR / "plain_loop.py"), str(data)]
    runs = {"1": [], "all": []}
    split = {"1": [], "all": []}  # (in-script set-up s, loop s) as the child measured them
    plain = list(plain_wall)
    agreement = {}
    for rep in range(repeats):
        for members in runs:
            cmd = [sys.executable, me, "--prototype-child", str(data), "--model", model, "--proto-members", members,
                   "--chunk", str(chunk if members == "1" else max(1, chunk // 4)), "--threads", str(threads)]
            wall, rc, err, usage = C.timed_run(cmd, env, stdout=subprocess.PIPE)
            if rc != 0:
                sys.exit(f"prototype failed (exit {rc}): {err}")
            runs[members].append(wall)
            report = json.loads(usage["stdout"].strip().splitlines()[-1])
            split[members].append((report["setup_s"], report["loop_s"]))
            if rep == 0 and shipped_labels:
                labels = report["labels"]
                same = sum(1 for k, v in labels.items() if shipped_labels.get(k) == v)
                agreement[members] = f"{same}/{len(labels)}"
        if not plain_wall:
            wall, rc, err, _ = C.timed_run(plain_cmd, C.child_env(None))
            plain.append(wall)
    plain_med = statistics.median(plain)
    def med(members, i):
        return statistics.median(v[i] for v in split[members])

    rows = [["prototype, member 0 only (single network), chunks of " + str(chunk), statistics.median(runs["1"]),
             min(runs["1"]), med("1", 0), med("1", 1), plain_med / statistics.median(runs["1"]), agreement.get("1")],
            [f"prototype, whole model, chunks of {max(1, chunk // 4)}", statistics.median(runs["all"]),
             min(runs["all"]), med("all", 0), med("all", 1), plain_med / statistics.median(runs["all"]),
             agreement.get("all")],
            ["plain loop (same run)", plain_med, min(plain), None, None, 1.0, None]]
    return rows, {"single_s": runs["1"], "whole_model_s": runs["all"], "plain_s": plain,
                  "setup_and_loop_s": split, "decisions_same_as_shipped": agreement}


# ----- main -------------------------------------------------------------------------------------
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
    parser.add_argument("--no-what-if", action="store_true", help="skip (d) and (e)")
    parser.add_argument("--chunk", type=int, default=8, help="(e) images per forward in the prototype (default 8)")
    parser.add_argument("--prototype-child", help=argparse.SUPPRESS)
    parser.add_argument("--proto-members", default="1", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prototype_child:
        return prototype_child(args.prototype_child, args.model, args.proto_members, args.chunk, args.threads)

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

    if not args.no_what_if:
        print("\n(d) what-if (not the product), ms per image, timed round robin. Member 0 alone at batch 32 / 8 / 1;"
              " the whole model\n(all members x test-time views, as predict_batch does) at batch 8. Agreement "
              "against the shipped path.")
        rows, gc_rows, results["what_if"] = what_if(classifier, paths, min(args.runs, 30))
        g = results["what_if"]["gradcam"]
        print(C.table(["variant", "m0 B=32", "m0 B=8", "m0 B=1", f"model B=8 ({g['n_members']}x{g['n_views']})",
                       "max |dP(normal)|", "flips m0", "flips model"], rows, 3))
        print()
        print(C.table(["single image predict + Grad-CAM (150 px cam)", "median ms", "p95 ms", "min ms",
                       "max |dP|", "max |d cam|"], gc_rows, 3))
        print(f"images whose thresholded label differs from the argmax class that gradcam() explains by default: "
              f"{g['label_vs_argmax_mismatch']}/{g['n']}")

        if not args.skip_process:
            print("\n(e) prototype of a fast CLI path (not the product), whole process, start-up included, "
                  f"{args.repeats} runs each:\nPillow gray decode + colour on a 4x reduced copy, the product's "
                  "gate and prepare, BN folded + bf16 + channels_last,\nfixed chunks, one decode thread ahead of "
                  f"{max(1, args.threads - 1)} torch thread(s). 'decisions same' compares with the shipped "
                  "predict_files labels.")
            wp = results.get("whole_process", {})
            rows, results["prototype"] = prototype(data, model, args.threads, args.repeats, args.chunk,
                                                   results["in_process"]["labels"], wp.get("plain_s", []))
            print(C.table(["command", "median s", "min s", "in-script setup s", "loop s", "speed-up vs plain",
                           "decisions same"], rows, 2))
            print("in-script setup = model load + BN folding, measured inside the child (interpreter start-up and "
                  "import torch come before it: wall - setup - loop)")

    for key in ("in_process",):
        results.get(key, {}).pop("labels", None)
    if args.json:
        C.emit_json(results)
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
