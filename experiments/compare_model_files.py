"""Are two model files the same model? Tensor by tensor, and the metadata that the weights decide.

    python experiments/compare_model_files.py A.pneumo B.pneumo

Prints a table: the tensors that are bit-for-bit equal (``torch.equal`` and the same dtype) out of
all of them, the tensors that differ or exist in one file only, and whether the threshold, the
temperature, the unfamiliar-image gate, the chest X-ray detector's settings and the resolved
training configuration agree. The creation time, the training seconds, the command line and the
recipe name may differ; they are listed, not judged. Exit status 1 when any tensor differs (or
is missing from one file), else 0. Used to check that moving training code changed no weight
(docs/runs/recipe_bit_identity.txt).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pneumo_desktop.core.modelfile import read_model_header  # noqa: E402

# Metadata that the weights and the recipe decide: equal for the same model.
JUDGED = ("threshold", "temperature", "gate", "architecture", "classes", "preprocessing", "tta_shifts",
          "training.config", "training.best_epochs", "training.history", "validation_metrics",
          "validation_shifted_metrics", "validation_stress_metrics")
# Metadata that differs between two runs of the same model (clock, wording of the command).
SHOWN = ("created", "training.seconds", "training.command", "training.recipe")
# Detector fields that are timings, not results.
DETECTOR_TIMINGS = ("seconds",)


def _get(meta: dict, dotted: str):
    value = meta
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return "(absent)"
        value = value[part]
    return value


def compare(a: Path, b: Path) -> tuple[list[str], bool]:
    """(report lines, True when every tensor is equal)."""
    import torch

    ta, tb = load_file(str(a)), load_file(str(b))
    ma, mb = read_model_header(a), read_model_header(b)
    keys = sorted(set(ta) | set(tb))
    equal = [k for k in keys if k in ta and k in tb and ta[k].dtype == tb[k].dtype and torch.equal(ta[k], tb[k])]
    differing = [k for k in keys if k not in equal]
    lines = [f"A: {a.name}", f"B: {b.name}", "",
             f"{'check':<34} result",
             f"{'tensors equal (torch.equal, dtype)':<34} {len(equal)}/{len(keys)}"]
    for key in differing:
        where = ("only in A" if key not in tb else "only in B" if key not in ta
                 else f"dtype {ta[key].dtype} vs {tb[key].dtype}" if ta[key].dtype != tb[key].dtype
                 else f"shape {tuple(ta[key].shape)} vs {tuple(tb[key].shape)}" if ta[key].shape != tb[key].shape
                 else f"max |A-B| {float((ta[key].double() - tb[key].double()).abs().max()):.3g}")
        lines.append(f"  differs: {key} ({where})")
    for dotted in JUDGED:
        same = json.dumps(_get(ma, dotted), sort_keys=True) == json.dumps(_get(mb, dotted), sort_keys=True)
        lines.append(f"{dotted:<34} {'equal' if same else 'DIFFERS'}")
    da, db = (({k: v for k, v in m["detector"].items() if k not in DETECTOR_TIMINGS} if m.get("detector") else None)
              for m in (ma, mb))
    lines.append(f"{'detector (timings aside)':<34} {'equal' if json.dumps(da, sort_keys=True) == json.dumps(db, sort_keys=True) else 'DIFFERS'}")
    lines.append("")
    for dotted in SHOWN:
        lines.append(f"{dotted:<34} A: {_get(ma, dotted)}")
        lines.append(f"{'':<34} B: {_get(mb, dotted)}")
    return lines, not differing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    lines, same = compare(args.a, args.b)
    print("\n".join(lines))
    print("\nRESULT: " + ("every tensor is bit-for-bit equal" if same else "TENSORS DIFFER"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
