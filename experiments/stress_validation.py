"""Stress validation of model files: one-sided acquisition changes on the validation normals.

    python experiments/stress_validation.py MODEL [MODEL ...] [--data DIR] [--threads 2] [--json] [--record]

Rebuilds each model's own patient-grouped validation split from ``--data`` (the training folder
it was trained on) with the seed and validation fraction stored in the model file, applies each
change of ``pneumo_desktop.core.stress.STRESSES`` to the normal images only, and prints AUC and
specificity at the stored threshold per change, with the means. Training stores the same
figures as ``validation_stress_metrics`` from the day this script was added (session 8); this
script gives them for models trained before that, and ``--record`` writes them into such a
model file (atomically; nothing else in the file changes). Uses no test data.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import _probe as C


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--data", default=str(C.DEFAULT_TRAIN_FULL), help="the training folder the models used")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--record", action="store_true",
                        help="store the figures in each model file as validation_stress_metrics")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from pneumo_desktop.core.stress import STRESSES, stress_metrics

    results = {}
    for path in args.models:
        loaded = C.load_validation(path, args.data)
        if loaded is None:
            continue
        classifier, raw_u8, is_abnormal = loaded
        results[Path(path).name] = stress_metrics(classifier, raw_u8, is_abnormal)
        if args.record:
            classifier.metadata["validation_stress_metrics"] = results[Path(path).name]
            classifier.save(path)
            print(f"recorded the stress figures in {path}", file=sys.stderr)
    if not results:
        print("no model could be stress-tested", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(C.header("Stress validation (validation normals changed, abnormal images as they are)",
                   C.machine_info(args.threads), {"data": args.data}))
    names = list(results)
    header = "| change to validation normals | " + " | ".join(f"{n} AUC / spec" for n in names) + " |"
    print(header)
    print("|" + "---|" * (len(names) + 1))
    for change in STRESSES:
        cells = [f"{results[n]['changes'][change]['auc']:.4f} / {results[n]['changes'][change]['specificity']:.3f}"
                 for n in names]
        print(f"| {change} | " + " | ".join(cells) + " |")
    cells = [f"**{results[n]['mean_auc']:.4f} / {results[n]['mean_specificity']:.3f}**" for n in names]
    print("| **mean** | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
