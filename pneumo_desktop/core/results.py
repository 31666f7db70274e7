"""Results tables: prediction records to pandas and CSV, written atomically."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .atomic import atomic_path

RESULT_COLUMNS = ["file", "path", "status", "label", "probability", "threshold", "message", "decode_ms", "inference_ms"]


def records_to_frame(records: Iterable, classes: list[str], threshold: float | None = None):
    """PredictionRecords -> pandas DataFrame (one row per file, a P(class) column per class)."""
    import pandas as pd

    rows = []
    for r in records:
        row = {
            "file": Path(r.path).name, "path": r.path, "status": r.status, "label": r.label,
            "probability": r.probability, "threshold": threshold, "message": r.message,
            "decode_ms": round(r.decode_ms, 2), "inference_ms": round(r.infer_ms, 2),
        }
        for c in classes:
            row[f"P({c})"] = None if r.probabilities is None else r.probabilities.get(c)
        rows.append(row)
    return pd.DataFrame(rows, columns=RESULT_COLUMNS + [f"P({c})" for c in classes])


def write_results_csv(records: Iterable, out_path: str | Path, classes: list[str], threshold: float | None = None) -> None:
    """Write records as CSV via a temporary file and a rename, so a crash leaves no half file."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    frame = records_to_frame(records, classes, threshold)
    with atomic_path(out_path) as tmp:
        frame.to_csv(tmp, index=False)
