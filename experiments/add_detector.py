"""Give model files trained before the chest X-ray detector existed their detector.

    python experiments/add_detector.py MODEL [MODEL ...] [--data DIR] [--epochs 8] [--threads 2] [--record]

For each model: rebuilds its own patient-grouped split from ``--data`` (the training folder it
was trained on, checked against the image digest stored in the file) with the seed, validation
fraction and class scheme stored in the file; trains the detector exactly as ``train`` does
(``pneumo_desktop.core.detector.train_detector``, seeded); and checks it against the rule in
docs/experiments.md (G1):

(a) no plain validation X-ray refused, and at most 0.5% under each stress change;
(b) every one of matplotlib's six sample images (a portrait, an MRI slice, two terrain maps,
    two logos, in grayscale) refused when run through ``predict_files`` with the detector.

``--record`` stores the detector in the model file (atomically) when both hold; the network's
weights, threshold and temperature are not touched. Uses no test data.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import _probe as C

MAX_STRESS_REFUSED = 0.005


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--data", default=str(C.DEFAULT_TRAIN_FULL), help="the training folder the models used")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--record", action="store_true", help="store the detector in each model that meets the rule")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from _nonxray import write_matplotlib_samples

    from pneumo_desktop.core.classifier import Classifier
    from pneumo_desktop.core.detector import XrayDetector, train_detector
    from pneumo_desktop.core.errors import ModelFileError
    from pneumo_desktop.core.generators import drive
    from pneumo_desktop.core.predict import predict_files

    print(C.header("Chest X-ray detector for existing model files", C.machine_info(args.threads),
                   {"data": args.data, "epochs": args.epochs}))
    all_met = True
    with tempfile.TemporaryDirectory() as scratch:
        samples = write_matplotlib_samples(Path(scratch) / "matplotlib")
        for path in args.models:
            try:
                classifier = Classifier.load(path)
            except ModelFileError as exc:
                print(f"{path}: cannot load the model: {exc}; skipped", file=sys.stderr)
                all_met = False
                continue
            split = C.model_split(classifier, args.data, path)
            if split is None:
                all_met = False
                continue
            seed = int(classifier.metadata["training"]["config"]["seed"])
            decoded = C.decode_raw(classifier, split["path"])
            kept = split[decoded.ok].reset_index(drop=True)
            images = torch.from_numpy(decoded.images[decoded.ok])
            train = images[torch.from_numpy((kept["split"] == "train").to_numpy().copy())]
            val = images[torch.from_numpy((kept["split"] == "val").to_numpy().copy())]
            name = Path(path).name
            tensors, meta = drive(
                train_detector(train, val, classifier.preprocessing.equalise, args.epochs, seed),
                lambda step, name=name: print(f"{name}: {step}", file=sys.stderr))
            meta["provenance"] = ("added after training by experiments/add_detector.py; the classifier's weights, "
                                  "threshold and temperature are unchanged")
            classifier.detector = XrayDetector(tensors, meta, name)
            classifier.metadata["detector"] = meta
            records = list(predict_files(classifier, samples))

            stress = meta["validation_stress_refused"]
            rule_a = meta["validation_refused"] == 0 and max(stress.values()) <= MAX_STRESS_REFUSED
            rule_b = all(r.status != "ok" for r in records)
            print(f"\n{name}: detector trained in {meta['seconds']} s on {meta['n_positive']} X-rays")
            print(C.table(["validation X-rays", "refused"],
                          [["as they are", f"{100 * meta['validation_refused']:.2f}%"]]
                          + [[change, f"{100 * value:.2f}%"] for change, value in stress.items()], digits=2))
            print()
            print(C.table(["matplotlib sample", "status", "message / verdict"],
                          [[Path(r.path).stem, r.status, r.message or f"{r.label} {r.probability:.3f}"]
                           for r in records]))
            met = rule_a and rule_b
            all_met &= met
            print(f"rule (a) validation: {'met' if rule_a else 'NOT met'}; (b) all six refused: "
                  f"{'met' if rule_b else 'NOT met'}")
            if args.record and met:
                classifier.save(path)
                print(f"recorded the detector in {path}", file=sys.stderr)
            elif args.record:
                print(f"{path}: the rule is not met, so the file was left as it was", file=sys.stderr)
    return 0 if all_met else 1


if __name__ == "__main__":
    raise SystemExit(main())
