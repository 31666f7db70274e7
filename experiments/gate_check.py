"""What the unfamiliar-image gate lets through: real chest X-rays against images that are not.

    python experiments/gate_check.py [MODEL ...] [--test DIR] [--threads 2] [--no-test] [--without-detector]

Runs ``predict_files`` (the path the CLI and the GUI use: readers, image statistics, feature
distance and, where the model file has one, the chest X-ray detector) over three sets and
counts, per model, the images judged and the images refused, by the stage that refused them:

* the official test split (``--test``; real chest X-rays: every refusal is a miss, and the
  issue asks for fewer than 1%);
* matplotlib's six sample images in grayscale (a portrait, an MRI slice, two terrain maps, two
  logos; every one should be refused);
* the DICOM test files that ship with pydicom (CT, MR, secondary captures, …; none is a chest
  radiograph, so none should get a verdict).

Defaults to the three shipped models. Prints tables; uses the test split only to count refusals.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import _probe as C

MODELS_DIR = C.REPO_ROOT / "pneumo_desktop" / "resources" / "models"


def refusal_stage(record) -> str:
    """Which part of the pipeline turned a record away (or 'judged')."""
    if record.status == "ok":
        return "judged"
    message = record.message or ""
    if "frontal chest X-ray" in message:
        return "detector"
    if "does not resemble" in message:
        return "feature distance"
    if record.status == "unsupported":
        return "image statistics"
    return "unreadable"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=[str(MODELS_DIR / f"{n}.pneumo")
                                                      for n in ("default", "ensemble", "subtype")])
    parser.add_argument("--test", default=str(C.DEFAULT_TEST_DIR), help="a folder of real chest X-rays")
    parser.add_argument("--no-test", action="store_true", help="skip the real X-rays")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--without-detector", action="store_true",
                        help="drop each model's chest X-ray detector first: what the gate let through before it")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from _nonxray import pydicom_test_files, write_matplotlib_samples

    from pneumo_desktop.core.classifier import Classifier
    from pneumo_desktop.core.errors import ModelFileError
    from pneumo_desktop.core.predict import predict_files

    print(C.header("Unfamiliar-image gate: real chest X-rays and images that are not", C.machine_info(args.threads),
                   {"test": "skipped" if args.no_test else args.test}))
    test_dir = Path(args.test)
    if not args.no_test and not test_dir.is_dir():
        print(f"error: no folder {test_dir} (use --no-test to skip the real X-rays)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        sets = {"matplotlib samples": write_matplotlib_samples(Path(scratch) / "matplotlib"),
                "pydicom test files": pydicom_test_files()}
        if not args.no_test:
            sets = {"test split (real X-rays)": [test_dir], **sets}
        details = {}
        rows = []
        for path in args.models:
            try:
                classifier = Classifier.load(path)
            except ModelFileError as exc:
                print(f"{path}: cannot load the model: {exc}", file=sys.stderr)
                return 3
            if args.without_detector:
                classifier.detector = None
            name = Path(path).name
            has_detector = "yes" if classifier.detector is not None else "no"
            for set_name, inputs in sets.items():
                records = list(predict_files(classifier, inputs))
                stages = Counter(refusal_stage(r) for r in records)
                refused = len(records) - stages["judged"]
                rows.append([name, has_detector, set_name, len(records), stages["judged"], refused,
                             stages["image statistics"], stages["feature distance"], stages["detector"],
                             stages["unreadable"]])
                details[(name, set_name)] = records
    print(C.table(["model", "detector", "images", "n", "judged", "refused", "by image statistics",
                   "by feature distance", "by detector", "unreadable"], rows))
    for (name, set_name), records in details.items():
        if set_name == "test split (real X-rays)":
            refused = [r for r in records if r.status != "ok"]
            if refused:
                print(f"\n{name}, real X-rays refused:")
                for r in refused:
                    print(f"  {Path(r.path).name}: {r.message}")
            continue
        print(f"\n{name}, {set_name}:")
        print(C.table(["file", "status", "message / verdict"],
                      [[Path(r.path).name, r.status, (r.message or f"{r.label} {r.probability:.3f}")[:100]]
                       for r in records]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
