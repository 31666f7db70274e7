"""Learning curve of fine-tuning: how many labelled local films bring an outside hospital's AUC up.

    python experiments/finetune_curve.py [--outside DIR] [--source nih] [--model FILE] [--sizes 40,100,200]
                                         [--draws 3] [--home-test DIR] [--figure PNG] [--threads 2] [--json]

The labelled outside source (NIH by default, from ``scripts/build_outside_data.py``) is split by
patient into a fixed test part (a third of its patients, seed 0) and a pool. For each size n and
draw d, n films are drawn from the pool (half per class, seed d) and the model is fine-tuned on
them exactly as ``pneumo-desktop train DRAW --init MODEL`` does (``core.finetune``, default
schedule, seed d). Each adapted model is measured on the fixed test part and on the home test
split, gate ignored (every film scored; refusals are counted apart), against n = 0, the model
itself. Prints a table per draw and a summary per n; ``--figure`` draws the curve.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import _probe as C

KEYS = ("auc", "accuracy", "recall", "specificity")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outside", default=str(C.DEFAULT_OUTSIDE))
    parser.add_argument("--source", default="nih")
    parser.add_argument("--model", default=str(C.DEFAULT_MODEL))
    parser.add_argument("--sizes", default="40,100,200")
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--home-test", default=str(C.DEFAULT_TEST_DIR))
    parser.add_argument("--figure", help="write the learning curve as a PNG")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--replot", metavar="OUTPUT",
                        help="only redraw --figure from a saved output of this script (its JSON at the end)")
    args = parser.parse_args()
    if args.replot:
        text = Path(args.replot).read_text(encoding="utf-8")
        results = json.loads(text[text.index("{\n"):])["results"]
        draw_curve(results, sorted({r["n"] for r in results if r["n"]}), args.figure or "finetune_curve.png",
                   args.source)
        return 0

    import numpy as np
    import pandas as pd
    import torch

    torch.set_num_threads(args.threads)
    from pneumo_desktop.core.classifier import Classifier
    from pneumo_desktop.core.dataset import decode_images, grouped_split, scan_labelled_folder
    from pneumo_desktop.core.errors import ModelFileError
    from pneumo_desktop.core.metrics import evaluate_arrays
    from pneumo_desktop.core.finetune import FineTuneConfig, finetune_model
    from pneumo_desktop.core.gate import check_features
    from pneumo_desktop.core.training import TrainingFinished
    from pneumo_desktop.paths import user_cache_dir

    try:
        parent = Classifier.load(args.model)
    except ModelFileError as exc:
        print(f"error: cannot load the model: {exc}", file=sys.stderr)
        return 3
    rows = C.read_outside_manifest(args.outside, args.source)
    table = pd.DataFrame({"path": [str(Path(args.outside) / r["path"]) for r in rows],
                          "label": [r["label"] for r in rows], "patient": [r["patient"] for r in rows],
                          "sha256": [r["sha256"] for r in rows], "split": "train"})
    split = grouped_split(table, 1 / 3, seed=0)
    test = split[split["split"] == "val"].reset_index(drop=True)
    pool = split[split["split"] == "train"].reset_index(drop=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(C.header("Fine-tuning learning curve on an outside source", C.machine_info(args.threads),
                   {"model": Path(args.model).name, "source": args.source, "test part": f"{len(test)} films",
                    "pool": f"{len(pool)} films", "sizes": sizes, "draws": args.draws}))

    def decoded(paths):
        result = decode_images(paths, parent.preprocessing, cache_dir=user_cache_dir() / "decoded")
        return result.images[result.ok], result.ok

    classes = parent.classes
    test_u8, ok = decoded(test["path"])
    test_y = np.array([classes.index(v) for v in test["label"][ok]])
    home_u8 = home_y = None
    if Path(args.home_test).is_dir():
        home = scan_labelled_folder(args.home_test)
        home_u8, ok = decoded(home["path"])
        home_y = np.array([classes.index(v) for v in home["label"][ok]])

    def measure(classifier, images, truth) -> dict:
        probs, feats = classifier.predict_batch(images)
        prob_abnormal = classifier.prob_abnormal(probs)
        report = evaluate_arrays(truth, classifier.decide(probs), prob_abnormal, classes, classifier.threshold,
                                 classifier.normal_index, n_bootstrap=500, seed=0)
        # The feature distance is the adapted model's own (refitted on its local films); the
        # detector is the parent's, unchanged by adapting, and is measured in experiments/gate_outside.py.
        by_features = check_features(feats, classifier.gate_tensors, classifier.metadata.get("gate"))
        out = {k: report[k] for k in KEYS}
        out.update({f"{k}_ci": report["ci"].get(k) for k in KEYS}, n=len(truth),
                   refused=int(sum(r is not None for r in by_features)))
        return out

    results = [{"n": 0, "draw": 0, "seconds": 0.0, "outside": measure(parent, test_u8, test_y),
                "home": measure(parent, home_u8, home_y) if home_u8 is not None else None}]
    for n in sizes:
        for draw in range(args.draws):
            picked = pd.concat([pool[pool["label"] == label].sample(n // 2, random_state=draw)
                                for label in sorted(pool["label"].unique())], ignore_index=True)
            started = time.perf_counter()
            adapted = None
            for event in finetune_model(picked, parent, FineTuneConfig(seed=draw)):
                if isinstance(event, TrainingFinished):
                    adapted = event.classifier
            seconds = time.perf_counter() - started
            results.append({"n": n, "draw": draw, "seconds": round(seconds, 1),
                            "outside": measure(adapted, test_u8, test_y),
                            "home": measure(adapted, home_u8, home_y) if home_u8 is not None else None})
            r = results[-1]
            print(f"n={n} draw={draw}: outside AUC {r['outside']['auc']:.3f}, home AUC "
                  f"{r['home']['auc'] if r['home'] else float('nan'):.3f} ({seconds:.0f} s)", file=sys.stderr, flush=True)

    def cell(m: dict | None, key: str) -> str:
        if not m or m[key] is None:
            return "n/a"
        ci = m.get(f"{key}_ci")
        return f"{m[key]:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")

    print(C.table(["n", "draw", "outside AUC", "accuracy", "sensitivity", "specificity", "feature gate refused",
                   "home AUC", "home accuracy", "home sens", "home spec", "s"],
                  [[r["n"], r["draw"], cell(r["outside"], "auc"), cell(r["outside"], "accuracy"),
                    cell(r["outside"], "recall"), cell(r["outside"], "specificity"),
                    f"{r['outside']['refused']}/{r['outside']['n']}",
                    cell(r["home"], "auc"), cell(r["home"], "accuracy"), cell(r["home"], "recall"),
                    cell(r["home"], "specificity"), r["seconds"]] for r in results]))
    print()
    summary = []
    for n in [0] + sizes:
        group = [r for r in results if r["n"] == n]
        line = [n, len(group)]
        for where in ("outside", "home"):
            for key in KEYS:
                values = [r[where][key] for r in group if r[where] and r[where][key] is not None]
                line.append(f"{np.mean(values):.3f} ({min(values):.3f}-{max(values):.3f})" if values else "n/a")
        summary.append(line)
    print(C.table(["n", "draws", "outside AUC", "acc", "sens", "spec", "home AUC", "acc", "sens", "spec"],
                  summary))
    print("\n(mean over draws, with the lowest and highest draw; 95% CIs per draw above)")
    if args.figure:
        draw_curve(results, sizes, args.figure, args.source)
    if args.json:
        C.emit_json({"results": results})
    return 0


def draw_curve(results: list[dict], sizes: list[int], path: str, source: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.0), dpi=120)
    axes = figure.add_subplot(1, 1, 1)
    for where, colour, label in (("outside", "#1f6fb2", f"{source.upper()} held-out films"),
                                 ("home", "#c0392b", "home test split (forgetting)")):
        xs, means = [], []
        for n in [0] + sizes:
            values = [r[where]["auc"] for r in results if r["n"] == n and r[where]]
            if not values:
                continue
            axes.scatter([n] * len(values), values, color=colour, alpha=0.4, s=18)
            xs.append(n)
            means.append(sum(values) / len(values))
        axes.plot(xs, means, color=colour, marker="o", label=label)
    axes.axhline(0.90, color="grey", linestyle="--", linewidth=1, label="goal: AUC 0.90")
    axes.set_xlabel("local labelled films used to adapt the shipped default")
    axes.set_ylabel("ROC AUC")
    axes.set_xticks([0] + sizes)
    axes.set_ylim(0.45, 1.0)
    axes.axhline(0.5, color="grey", linestyle=":", linewidth=1, label="chance")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right", fontsize=8)
    axes.set_title("Adapting to another hospital: AUC against local films (3 draws each)", fontsize=9)
    figure.tight_layout()
    figure.savefig(path)


if __name__ == "__main__":
    raise SystemExit(main())
