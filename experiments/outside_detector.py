"""Train the chest X-ray detector on real films of several hospitals, measure it source by source.

    python experiments/outside_detector.py --loso [--outside DIR] [--data DIR] [--epochs 8] [--threads 2]
    python experiments/outside_detector.py --record MODEL [MODEL ...] [--outside DIR] [--data DIR]

The detector (``pneumo_desktop.core.detector``) learns "frontal chest film" from the home
training split (the default model's own patient-grouped training part, rebuilt from ``--data``),
plus, here, real frontal films of the outside sources built by ``scripts/build_outside_data.py``
(NIH adults, Hannover bedside films, OpenIST normal PA films), and lateral views as a class of
their own. The generated negatives are unchanged.

``--loso`` (sources held out) trains two detectors: one without NIH, measured on NIH, and one
without Hannover and OpenIST, measured on both; each with one half of the lateral views (split
by patient), measured on the other half. It prints, per held-out source, the share of real
frontal films the detector refuses (lateral or not), and the share of held-out laterals flagged
as lateral. These are the figures for the recipe; no source is both trained on and measured.

``--record`` trains the detector with every source and every lateral view (the same recipe,
seed 0) and stores it in each MODEL (atomically); the classifier's weights, threshold,
temperature and feature gate are not touched. It refuses a model whose preprocessing differs
from the default's. Measure the result with ``experiments/gate_outside.py`` and ``experiments/gate_check.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import _probe as C

SOURCES = ("nih", "hannover", "openist")


def lateral_folds(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """The lateral views in two halves with no patient in both (patients alternate, sorted)."""
    patients = sorted({r["patient"] for r in rows})
    half_a = set(patients[0::2])
    return [r for r in rows if r["patient"] in half_a], [r for r in rows if r["patient"] not in half_a]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--loso", action="store_true", help="leave-one-source-out measurement")
    mode.add_argument("--record", nargs="+", metavar="MODEL", help="train on all sources and store in MODEL")
    parser.add_argument("--outside", default=str(C.DEFAULT_OUTSIDE))
    parser.add_argument("--data", default=str(C.DEFAULT_TRAIN_FULL), help="the full home training split")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=SOURCES, help="with --loso: train only the detector that holds out this source")
    parser.add_argument("--devices", action="store_true",
                        help="draw tubes, lines, electrodes and markers on half of the positives (G4)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from pneumo_desktop.core.classifier import Classifier
    from pneumo_desktop.core.detector import LATERAL_MESSAGE, XrayDetector, train_detector
    from pneumo_desktop.core.errors import ModelFileError
    from pneumo_desktop.core.generators import drive
    from pneumo_desktop.core.batch_transforms import equalise_batch

    print(C.header("Chest X-ray detector trained on several hospitals' films", C.machine_info(args.threads),
                   {"outside": args.outside, "home": args.data, "epochs": args.epochs}))
    reference = Classifier.load(C.DEFAULT_MODEL)
    split = C.model_split(reference, args.data, "default.pneumo")
    if split is None:
        return 2
    decoded = C.decode_raw(reference, split["path"])
    kept = split[decoded.ok].reset_index(drop=True)
    home = torch.from_numpy(decoded.images[decoded.ok])
    home_train = home[torch.from_numpy((kept["split"] == "train").to_numpy().copy())]
    home_val = home[torch.from_numpy((kept["split"] == "val").to_numpy().copy())]

    outside_dir = Path(args.outside)
    rows = C.read_outside_manifest(outside_dir)

    def images_of(selected: list[dict]) -> torch.Tensor:
        result = C.decode_raw(reference, [str(outside_dir / r["path"]) for r in selected])
        return torch.from_numpy(result.images[result.ok])

    frontal = {s: images_of([r for r in rows if r["source"] == s]) for s in SOURCES}
    lateral_rows = [r for r in rows if r["source"] == "lateral"]
    fold_a, fold_b = lateral_folds(lateral_rows)
    laterals_a, laterals_b = images_of(fold_a), images_of(fold_b)
    print("films: home train " + str(len(home_train)) + ", " +
          ", ".join(f"{s} {len(v)}" for s, v in frontal.items())
          + f", laterals {len(laterals_a)} + {len(laterals_b)} (two halves by patient)\n")
    equalise = reference.preprocessing.equalise

    def train(outside: dict, laterals: torch.Tensor, label: str):
        started = time.perf_counter()
        tensors, meta = drive(train_detector(home_train, home_val, equalise, args.epochs, 0,
                                             outside_u8=outside, lateral_u8=laterals, devices=args.devices),
                              lambda step: print(f"{label}: {step}", file=sys.stderr, flush=True))
        print(f"{label}: trained in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        return tensors, meta, XrayDetector(tensors, meta)

    def refused(detector: XrayDetector, raw: torch.Tensor) -> tuple[int, int]:
        """(refused for any reason, refused as lateral) of uint8 raw films."""
        reasons = detector.reasons(equalise_batch(raw, equalise).numpy())
        return (sum(r is not None for r in reasons), sum(r is not None and r.startswith(LATERAL_MESSAGE)
                                                           for r in reasons))

    results: dict = {}
    if args.loso:
        table_rows, lateral_rows = [], []
        # Two detectors: one without NIH (measured on NIH), one without Hannover and OpenIST
        # (measured on both); each with one half of the laterals, measured on the other half.
        plan = [(("nih",), laterals_a, laterals_b, "b"), (("hannover", "openist"), laterals_b, laterals_a, "a")]
        for held_out, train_laterals, test_laterals, half in plan:
            if args.only and args.only not in held_out:
                continue
            outside = {s: v for s, v in frontal.items() if s not in held_out}
            label = f"without {' and '.join(held_out)}"
            _, meta, detector = train(outside, train_laterals, label)
            l_ref, l_lat = refused(detector, test_laterals)
            for source in held_out:
                n_ref, n_lat = refused(detector, frontal[source])
                n = len(frontal[source])
                p = detector.p_not_xray(equalise_batch(frontal[source], equalise).numpy())
                table_rows.append([source, f"home + {', '.join(outside)}", n, n_ref, f"{100 * n_ref / n:.2f}%",
                                   n_lat, f"{np.max(p):.3f}"])
                results[source] = {"trained_on": ["home", *outside], "n": n, "refused": n_ref,
                                   "refused_as_lateral": n_lat, "max_p_not_frontal": float(np.max(p)),
                                   "home_val_refused": meta["validation_refused"],
                                   "home_val_stress_refused": meta["validation_stress_refused"]}
                print(f"{label}: {source}: refused {n_ref} of {n}", file=sys.stderr, flush=True)
            lateral_rows.append([f"half {half}", len(test_laterals), l_lat,
                                 f"{100 * l_lat / max(1, len(test_laterals)):.1f}%", l_ref - l_lat,
                                 f"{100 * meta['validation_refused']:.2f}%"])
            results[f"laterals_{half}"] = {"n": len(test_laterals), "flagged_lateral": l_lat,
                                           "refused_otherwise": l_ref - l_lat}
            print(f"{label}: laterals half {half}: {l_lat} of {len(test_laterals)} flagged", file=sys.stderr, flush=True)
        print()
        print(C.table(["held-out source", "detector trained on", "films", "refused", "share", "as lateral",
                       "max P(not frontal)"], table_rows, digits=2))
        print()
        print(C.table(["held-out laterals", "films", "flagged lateral", "share", "refused otherwise",
                       "home val refused"], lateral_rows, digits=2))
    else:
        tensors, meta, detector = train(frontal, torch.cat([laterals_a, laterals_b]), "all sources")
        meta["provenance"] = ("retrained after training by experiments/outside_detector.py on the home training "
                              "split, outside frontal films (NIH, Hannover, OpenIST) and lateral views; the classifier's "
                              "weights, threshold, temperature and feature gate are unchanged")
        for path in args.record:
            try:
                classifier = Classifier.load(path)
            except ModelFileError as exc:
                print(f"{path}: cannot load the model: {exc}; skipped", file=sys.stderr)
                continue
            prep = classifier.preprocessing
            if (prep.input_size, prep.equalise) != (reference.preprocessing.input_size, equalise):
                print(f"{path}: its preprocessing differs from the default's; skipped", file=sys.stderr)
                continue
            classifier.detector = XrayDetector(tensors, meta, Path(path).name)
            classifier.metadata["detector"] = meta
            classifier.save(path)
            print(f"recorded the detector in {Path(path).name}", file=sys.stderr)
        results["meta"] = {k: v for k, v in meta.items() if k != "negative_kinds"}
        print(f"home validation refused: {100 * meta['validation_refused']:.2f}%; under stress at most "
              f"{100 * max(meta['validation_stress_refused'].values()):.2f}%")
    if args.json:
        C.emit_json(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
