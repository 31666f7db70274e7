"""How often each stage of the unfamiliar-image gate refuses real films, per source.

    python experiments/gate_outside.py MODEL [MODEL ...] [--outside DIR] [--test DIR] [--limit N]
                                       [--threads 2] [--json]

For each model and each set of images, every stage of the gate is evaluated on its own over
every image that can be read, so that each stage is measured even where another would refuse
the image first:

* **stage 1, image statistics**: ``gate.check_image`` on the decoded image, what decoding
  refuses before the model sees anything (colour, blank, shape, page, noise);
* **stage 2a, the chest X-ray detector** (``classifier.detector.reasons`` on the prepared
  image): refusals whose message starts with "lateral view" are counted apart from the other
  "not a frontal chest X-ray" ones; models without a detector show "-";
* **stage 2b, the feature distance** (``gate.check_features`` on the network's pooled
  features, against the training images' statistics stored in the model file);
* **refused by any stage**: what ``predict_files`` does with the image; **judged**: the images
  that get a verdict (read and refused by no stage).

Sets: the home test split (``--test``, real chest X-rays from the training hospital); each
source folder of the outside-hospital sets (``--outside``, built by
``scripts/build_outside_data.py``: nih, hannover, openist, lateral); and the 84 images that are
not chest X-rays which ``gate_check.py`` uses (matplotlib's six samples and pydicom's 78 test
files, from ``_nonxray.py``). Percentages are of the images that could be read. Each file is
decoded once per model preprocessing; the network and the detector run on whole batches.
Then, per set, the margins: the highest detector P(not a frontal chest X-ray) and the highest
feature distance among the images that stage lets through, next to its limit.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import _probe as C

OUTSIDE_SOURCES = ("nih", "hannover", "openist", "lateral")
NONXRAY = "non-x-rays"
LATERAL_PREFIX = "lateral view"
NETWORK_BATCH = 256  # rows per predict_batch call: bounds the float input tensor's memory


@dataclass
class ImageSet:
    """One row of the table: a name, its files and a group label per file (sub-rows)."""

    name: str
    paths: list[str]
    groups: list[str]
    real: bool = True  # real chest films (refusals are misses) or images that are not


@dataclass
class Decoded:
    path: str
    stage1: str | None = None          # check_image's reason
    image_u8: np.ndarray | None = field(default=None, repr=False)
    error: str | None = None           # unreadable


# ----- sets -----------------------------------------------------------------------------------
def test_set(folder: Path) -> ImageSet | None:
    if not folder.is_dir():
        return None
    paths = C.list_images(folder)
    return ImageSet("home test", [str(p) for p in paths], [p.relative_to(folder).parts[0] for p in paths])


def outside_sets(folder: Path) -> tuple[list[ImageSet], str | None]:
    rows = C.read_outside_manifest(folder, missing_ok=True)
    if rows is None:
        return [], (f"no {folder / 'manifest.csv'} (build it: python scripts/build_outside_data.py); "
                    "outside sources skipped")
    by_source: dict[str, ImageSet] = {}
    for row in rows:
        s = by_source.setdefault(row["source"], ImageSet(row["source"], [], []))
        s.paths.append(str(folder / row["path"]))
        s.groups.append(row["label"])
    order = [s for s in OUTSIDE_SOURCES if s in by_source] + [s for s in by_source if s not in OUTSIDE_SOURCES]
    return [by_source[s] for s in order], None


def nonxray_set(scratch: Path) -> ImageSet:
    from _nonxray import pydicom_test_files, write_matplotlib_samples

    matplotlib_files = write_matplotlib_samples(scratch / "matplotlib")
    dicom_files = pydicom_test_files()
    return ImageSet(NONXRAY, [str(p) for p in [*matplotlib_files, *dicom_files]],
                    ["matplotlib"] * len(matplotlib_files) + ["pydicom"] * len(dicom_files), real=False)


def limited(image_set: ImageSet, n: int | None) -> ImageSet:
    if n is None or len(image_set.paths) <= n:
        return image_set
    keep = C.spread(list(range(len(image_set.paths))), n)
    return ImageSet(image_set.name, [image_set.paths[i] for i in keep], [image_set.groups[i] for i in keep],
                    image_set.real)


# ----- the stages -----------------------------------------------------------------------------
def decode(path: str, prep) -> Decoded:
    """What ``decode.decode_for_model`` does, except that an image the statistics refuse is
    still prepared, so that the later stages can be measured on it too. Never raises."""
    from pneumo_desktop.core.errors import ImageReadError
    from pneumo_desktop.core.gate import check_image
    from pneumo_desktop.core.imageio import read_image
    from pneumo_desktop.core.image_preparation import prepare_image

    try:
        image = read_image(path)
        return Decoded(path, check_image(image.pixels, image.colourfulness), prepare_image(image.pixels, prep))
    except ImageReadError as exc:
        return Decoded(path, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - as decode_for_model: one bad file never stops a run
        return Decoded(path, error=f"{Path(path).name}: {exc}")


def detector_kind(classifier) -> str:
    detector = classifier.detector
    if detector is None:
        return "none"
    classes = getattr(detector, "classes", None) or ["frontal chest X-ray", "not a chest X-ray"]
    return f"{len(classes)}-class ({' / '.join(classes)}), refuses at P(not frontal) >= {detector.refuse_at:g}"


def evaluate(classifier, decoded: list[Decoded]) -> dict:
    """Every stage on every readable image; returns per-image lists (None = passes)."""
    from pneumo_desktop.core.gate import check_features, mahalanobis

    ok = [d for d in decoded if d.error is None]
    stack = np.stack([d.image_u8 for d in ok]) if ok else np.zeros((0, 1, 1), np.uint8)
    feats = [classifier.predict_batch(stack[i:i + NETWORK_BATCH])[1] for i in range(0, len(stack), NETWORK_BATCH)]
    features = np.concatenate(feats) if feats else np.zeros((0, 1), np.float32)
    gate_meta = classifier.metadata.get("gate")
    by_features = check_features(features, classifier.gate_tensors, gate_meta) if ok else []
    distances = mahalanobis(features, classifier.gate_tensors) if ok and classifier.gate_tensors and gate_meta \
        else np.full(len(ok), np.nan)
    if classifier.detector is not None and ok:
        by_detector = classifier.detector.reasons(stack)
        # P(not a frontal chest X-ray): 1 - P(frontal) for every detector, lateral class or not.
        p_detector = np.asarray(classifier.detector.p_not_xray(stack), dtype=np.float64)
    else:
        by_detector, p_detector = [None] * len(ok), np.full(len(ok), np.nan)
    return {"stage1": [d.stage1 for d in ok], "detector": list(by_detector), "p_detector": p_detector,
            "features": list(by_features), "distance": np.asarray(distances, dtype=np.float64)}


def stage1_kind(reason: str) -> str:
    for key, words in (("colour", "colour"), ("blank", "blank"), ("shape", "shape"), ("page", "page"),
                       ("noise", "noise")):
        if words in reason:
            return key
    return "other"


def count(ev: dict, idx: list[int], n_files: int, has_detector: bool) -> dict:
    """Counts over the readable images ``idx`` (positions in ``ev``) of a set of ``n_files``."""
    s1 = [ev["stage1"][i] is not None for i in idx]
    det = [ev["detector"][i] for i in idx]
    lateral = [r is not None and r.startswith(LATERAL_PREFIX) for r in det]
    frontal = [r is not None and not r.startswith(LATERAL_PREFIX) for r in det]
    feat = [ev["features"][i] is not None for i in idx]
    refused = [a or b or c for a, b, c in zip(s1, [r is not None for r in det], feat)]
    read = len(idx)
    out = {"n": n_files, "read": read, "unreadable": n_files - read, "stage1_image_statistics": sum(s1),
           "stage2a_detector_not_frontal": sum(frontal) if has_detector else None,
           "stage2a_detector_lateral": sum(lateral) if has_detector else None,
           "stage2b_feature_distance": sum(feat), "refused_any": sum(refused), "judged": read - sum(refused),
           "stage1_reasons": dict(Counter(stage1_kind(ev["stage1"][i]) for i in idx if ev["stage1"][i]))}
    passed_det = [ev["p_detector"][i] for i in idx if ev["detector"][i] is None]
    passed_feat = [ev["distance"][i] for i in idx if ev["features"][i] is None]
    out["max_p_not_frontal_passing"] = float(np.max(passed_det)) if has_detector and passed_det else None
    out["max_distance_passing"] = float(np.nanmax(passed_feat)) if passed_feat and not np.all(np.isnan(passed_feat)) \
        else None
    return out


def cell(k: int | None, read: int) -> str:
    if k is None:
        return "-"
    return f"{k} ({100.0 * k / read:.1f}%)" if read else str(k)


# ----- main -----------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="model files (.pneumo)")
    parser.add_argument("--outside", default=str(C.DEFAULT_OUTSIDE),
                        help=f"the outside-hospital sets with their manifest.csv (default {C.DEFAULT_OUTSIDE})")
    parser.add_argument("--test", default=str(C.DEFAULT_TEST_DIR), help="the home test split (skipped if absent)")
    parser.add_argument("--limit", type=int, default=None, help="at most N images per set, spread over it")
    C.add_common_args(parser, model=False)
    args = parser.parse_args()

    C.pin_threads(args.threads)
    from pneumo_desktop.core.classifier import Classifier
    from pneumo_desktop.core.errors import ModelFileError

    classifiers = []
    for path in args.models:
        try:
            classifiers.append(Classifier.load(path))
        except (ModelFileError, OSError, KeyError, TypeError, ValueError) as exc:
            print(f"{path}: cannot load the model: {exc}", file=sys.stderr)
            return 3

    notes = []
    sets: list[ImageSet] = []
    home = test_set(Path(args.test))
    if home is None:
        notes.append(f"no home test split at {args.test}; skipped")
    else:
        sets.append(home)
    outside, note = outside_sets(Path(args.outside))
    sets.extend(outside)
    if note:
        notes.append(note)
    print(C.header("Unfamiliar-image gate on real films from other hospitals: refusals per stage",
                   C.machine_info(args.threads),
                   {"home test": args.test if home else "skipped", "outside": args.outside,
                    "limit": args.limit or "none"}))
    for line in notes:
        print(f"note: {line}")

    results = {"models": {}, "notes": notes}
    with tempfile.TemporaryDirectory() as scratch:
        sets.append(nonxray_set(Path(scratch)))
        sets = [limited(s, args.limit) for s in sets]
        decoded_by_prep: dict = {}
        for classifier in classifiers:
            prep = classifier.preprocessing
            if prep not in decoded_by_prep:  # decode each file once per preprocessing
                with ThreadPoolExecutor(max_workers=max(1, args.threads)) as pool:
                    decoded_by_prep[prep] = {s.name: list(pool.map(lambda p: decode(p, prep), s.paths)) for s in sets}
            report_model(classifier, sets, decoded_by_prep[prep], results)
    if args.json:
        C.emit_json(results)
    return 0


def report_model(classifier, sets: list[ImageSet], decoded: dict[str, list[Decoded]], results: dict) -> None:
    has_detector = classifier.detector is not None
    gate = classifier.metadata.get("gate") or {}
    limit = gate.get("distance_threshold")
    print(f"\nmodel: {C.model_summary(classifier)}")
    print(f"detector: {detector_kind(classifier)}; feature distance limit: "
          f"{'none' if limit is None or not classifier.gate_tensors else f'{limit:.1f}'}")
    rows, margins, per_set = [], [], {}
    for image_set in sets:
        ds = decoded[image_set.name]
        ev = evaluate(classifier, ds)
        readable = [i for i, d in enumerate(ds) if d.error is None]  # file index -> position in ev
        position = {file_i: k for k, file_i in enumerate(readable)}
        groups = sorted(set(image_set.groups))
        entries = [(image_set.name, list(range(len(ds))))]
        if len(groups) > 1:
            entries += [(f"  {g}", [i for i, x in enumerate(image_set.groups) if x == g]) for g in groups]
        for label, files in entries:
            idx = [position[i] for i in files if i in position]
            c = count(ev, idx, len(files), has_detector)
            per_set[label.strip() if label == image_set.name else f"{image_set.name}/{label.strip()}"] = c
            r = c["read"]
            rows.append([label, c["n"], r, cell(c["stage1_image_statistics"], r),
                         cell(c["stage2a_detector_not_frontal"], r), cell(c["stage2a_detector_lateral"], r),
                         cell(c["stage2b_feature_distance"], r), cell(c["refused_any"], r), cell(c["judged"], r)])
            if label == image_set.name:
                margins.append([label, "-" if c["max_p_not_frontal_passing"] is None
                                else f"{c['max_p_not_frontal_passing']:.4f}",
                                "-" if not has_detector else f"{classifier.detector.refuse_at:g}",
                                "-" if c["max_distance_passing"] is None else f"{c['max_distance_passing']:.1f}",
                                "-" if limit is None else f"{limit:.1f}",
                                ", ".join(f"{k} {v}" for k, v in sorted(c["stage1_reasons"].items())) or "-"])
    print("Refusals per stage (each stage on every readable image; % of the images read)")
    print(C.table(["set", "n", "read", "1 image statistics", "2a detector: not frontal", "2a detector: lateral",
                   "2b feature distance", "refused (any stage)", "judged"], rows))
    print("\nMargins among the images a stage lets through, and stage-1 reasons")
    print(C.table(["set", "max detector P(not frontal)", "refuse at", "max feature distance", "limit",
                   "stage-1 reasons"], margins))
    lateral = per_set.get("lateral")
    if lateral is not None:
        flagged = lateral["stage2a_detector_lateral"]
        print(f"\nlateral films flagged as lateral: "
              f"{'- (this model has no detector)' if flagged is None else cell(flagged, lateral['read'])}"
              f" of {lateral['read']} read")
    nonx = per_set.get(NONXRAY)
    if nonx is not None:
        print(f"non-X-rays judged (given a verdict): {nonx['judged']} of {nonx['n']} "
              f"({nonx['unreadable']} unreadable)")
    results["models"][classifier.source_path] = {
        "name": classifier.name, "detector": detector_kind(classifier), "feature_distance_limit": limit,
        "sets": per_set}


if __name__ == "__main__":
    raise SystemExit(main())
