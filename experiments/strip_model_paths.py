"""Re-save model files without the folders and absolute paths of the machine that made them.

    python experiments/strip_model_paths.py FILE [FILE ...]

For each file: read it with ``core.modelfile.read_model_file``, scrub its metadata with
``core.provenance.scrub_metadata`` (the training command keeps its options but names no folder;
``test_metrics.data_dir`` goes), write it back atomically, then read it again and check that

* every tensor is bit-for-bit what it was (same names, dtype, shape and bytes), and
* ``core.provenance.find_paths`` finds nothing in the new metadata.

A file that fails a check gets its old bytes back (atomically). A file with nothing to remove is
left untouched. One line per file on stdout; exit status 1 if any file failed, 2 for a file that
cannot be read.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path


def _short_sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def tensors_identical(before: dict, after: dict) -> str | None:
    """None when both dicts hold the same tensors bit for bit, else the first difference.

    The raw bytes are compared (``torch.equal`` on uint8 views), so a NaN weight, which is
    unequal to itself as a number, still counts as unchanged.
    """
    import torch

    if set(before) != set(after):
        return f"tensor names differ ({sorted(set(before) ^ set(after))[:3]})"
    for name in sorted(before):
        a, b = before[name], after[name]
        if a.dtype != b.dtype or a.shape != b.shape:
            return f"{name}: {a.dtype} {tuple(a.shape)} became {b.dtype} {tuple(b.shape)}"
        if not torch.equal(a.contiguous().reshape(-1).view(torch.uint8), b.contiguous().reshape(-1).view(torch.uint8)):
            return f"{name}: values changed"
    return None


def strip_file(path: Path) -> tuple[bool, str]:
    """Scrub one model file in place. Returns (ok, the line to print)."""
    from pneumo_desktop.core.atomic import write_bytes_atomic
    from pneumo_desktop.core.modelfile import read_model_file, save_model_file
    from pneumo_desktop.core.provenance import find_paths, scrub_metadata

    original = path.read_bytes()
    tensors, metadata = read_model_file(path)
    found = find_paths(metadata)
    if not found and scrub_metadata(metadata) == metadata:
        return True, f"{path.name}: no paths, left as it was (sha256 {_short_sha(original)})"
    save_model_file(path, tensors, metadata)
    new_tensors, new_metadata = read_model_file(path)
    problem = tensors_identical(tensors, new_tensors)
    left = find_paths(new_metadata)
    if problem is None and left:
        problem = f"paths left: {left[:3]}"
    if problem is not None:
        write_bytes_atomic(path, original)
        return False, f"{path.name}: FAILED ({problem}); the old file was put back"
    return True, (f"{path.name}: removed {len(found)} path string(s); {len(new_tensors)} tensors bit-identical; "
                  f"sha256 {_short_sha(original)} -> {_short_sha(path.read_bytes())}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    from pneumo_desktop.core.errors import ModelFileError

    status = 0
    for path in args.files:
        try:
            ok, line = strip_file(path)
        except (ModelFileError, OSError) as exc:
            print(f"{path.name}: cannot read it: {exc}", file=sys.stderr)
            status = max(status, 2)
            continue
        print(line, flush=True)
        if not ok:
            status = max(status, 1)
    return status


if __name__ == "__main__":
    sys.exit(main())
