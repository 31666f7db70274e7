"""How much of a model's validation signal lies outside the lungs: occlusion of frame and centre.

    python experiments/border_signal.py MODEL [MODEL ...] [--data DIR] [--frames 0.1,0.15,0.2,0.25]
                                        [--threads 2] [--json]

Rebuilds each model's own patient-grouped validation split from ``--data`` (the training folder
it was trained on), prepares the images exactly as the model does, and scores them three ways:
as they are; with a frame of width ``f`` of each side set to the mean grey ("centre only"); and
with everything *but* that frame set to the mean grey ("frame only"). The lungs of a frontal
chest radiograph sit in the centre, so a high frame-only AUC means the model can tell the classes
from the shoulders, arms, neck, abdomen, collimation and labels, cues that depend on the child's
size and the framing as much as on the disease. Uses no test data.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import _probe as C


def occluded(prepared_u8, frame_px: int, keep_centre: bool):
    """A copy of prepared uint8 (B, S, S) images with the frame (``keep_centre``) or the centre
    (not ``keep_centre``) set to 128, the grey at the model's input mean."""
    out = prepared_u8.copy()
    f = frame_px
    if keep_centre:
        out[:, :f] = 128
        out[:, -f:] = 128
        out[:, :, :f] = 128
        out[:, :, -f:] = 128
    else:
        out[:, f:-f, f:-f] = 128
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--data", default=str(C.DEFAULT_TRAIN_FULL), help="the training folder the models used")
    parser.add_argument("--frames", default="0.1,0.15,0.2,0.25",
                        help="frame widths, as fractions of the side (comma-separated, each in (0, 0.5))")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    try:
        frames = [float(f) for f in args.frames.split(",")]
    except ValueError:
        parser.error("--frames takes numbers such as 0.1,0.2")
    if not all(0 < f < 0.5 for f in frames):
        parser.error("each frame width must be between 0 and 0.5 of the side")

    import torch

    torch.set_num_threads(args.threads)
    from pneumo_desktop.core.metrics import rank_auc
    from pneumo_desktop.core.batch_transforms import equalise_batch

    results = {}
    for path in args.models:
        loaded = C.load_validation(path, args.data)
        if loaded is None:
            continue
        classifier, raw_u8, is_abnormal = loaded
        prepared = equalise_batch(torch.from_numpy(raw_u8), classifier.preprocessing.equalise).numpy()

        def auc(images) -> float:
            probs, _ = classifier.predict_batch(images)
            return rank_auc(classifier.prob_abnormal(probs), is_abnormal)

        size = prepared.shape[1]
        rows = {"none": {"centre_only": auc(prepared), "frame_only": None}}
        for f in frames:
            px = max(1, round(f * size))
            rows[f"{f:g}"] = {"centre_only": auc(occluded(prepared, px, keep_centre=True)),
                              "frame_only": auc(occluded(prepared, px, keep_centre=False))}
        results[Path(path).name] = {"n": int(len(is_abnormal)), "n_abnormal": int(is_abnormal.sum()),
                                    "frames": rows}
    if not results:
        print("no model could be scored", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(C.header("Validation AUC with the frame or the centre occluded (grey at the input mean)",
                   C.machine_info(args.threads), {"data": args.data}))
    names = list(results)
    print("| frame width (fraction of the side) | " +
          " | ".join(f"{n} centre only / frame only" for n in names) + " |")
    print("|" + "---|" * (len(names) + 1))
    for key in results[names[0]]["frames"]:
        cells = []
        for n in names:
            row = results[n]["frames"][key]
            frame_only = "—" if row["frame_only"] is None else f"{row['frame_only']:.4f}"
            cells.append(f"{row['centre_only']:.4f} / {frame_only}")
        label = "none (the image as it is)" if key == "none" else key
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
