"""Batch prediction over any mix of files and folders: the app's hot path.

``predict_files`` is a generator that yields one ``PredictionRecord`` per input file, in input
order, as soon as its batch is done. Decoding runs in a small thread pool (Pillow and numpy
release the GIL) while the calling thread runs the network on whole batches. Closing the
generator cancels the decodes still queued.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .classifier import Classifier
from .errors import ImageReadError
from .gate import check_features, check_image
from .imageio import list_input_files, read_image

STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_UNSUPPORTED = "unsupported"


@dataclass
class PredictionRecord:
    """The result for one input file.

    probabilities: class name -> calibrated probability (sums to 1), None unless status is ok.
    probability: P(not normal) in [0, 1], None unless ok. heatmap: float32 (H, W) in [0, 1] at
    the decoded image's size, only when requested. image_u8: the prepared model input, uint8
    (S, S), kept so that heatmaps can be computed later without decoding again.
    """

    path: str
    status: str
    label: str | None = None
    probability: float | None = None
    probabilities: dict[str, float] | None = None
    message: str | None = None
    decode_ms: float = 0.0
    infer_ms: float = 0.0
    image_size: tuple[int, int] | None = None
    heatmap: np.ndarray | None = field(default=None, repr=False)
    heatmap_class: str | None = None
    image_u8: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """JSON-ready dict with the keys the CLI documents."""
        return {
            "path": self.path,
            "status": self.status,
            "label": self.label,
            "probability": None if self.probability is None else round(self.probability, 6),
            "probabilities": None if self.probabilities is None else {k: round(v, 6) for k, v in self.probabilities.items()},
            "message": self.message,
            "timing_ms": {"decode": round(self.decode_ms, 2), "inference": round(self.infer_ms, 2)},
        }


@dataclass
class _Decoded:
    path: str
    image_u8: np.ndarray | None
    size: tuple[int, int] | None
    status: str
    message: str | None
    decode_ms: float


def _decode(path: str, classifier: Classifier) -> _Decoded:
    start = time.perf_counter()
    try:
        image = read_image(path)
        reason = check_image(image.pixels, image.colourfulness)
        if reason is not None:
            return _Decoded(path, None, image.pixels.shape, STATUS_UNSUPPORTED,
                            f"not a chest X-ray: {reason}", (time.perf_counter() - start) * 1e3)
        prepared = classifier.prepare(image.pixels)
        return _Decoded(path, prepared, image.pixels.shape, STATUS_OK, None, (time.perf_counter() - start) * 1e3)
    except ImageReadError as exc:
        return _Decoded(path, None, None, STATUS_ERROR, f"cannot read file: {exc}", (time.perf_counter() - start) * 1e3)
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop a batch
        return _Decoded(path, None, None, STATUS_ERROR, f"cannot read file: {Path(path).name}: {exc}",
                        (time.perf_counter() - start) * 1e3)


def predict_files(
    classifier: Classifier,
    inputs: Iterable[str | Path],
    threshold: float | None = None,
    heatmaps: bool = False,
    batch_size: int = 32,
    workers: int = 2,
    keep_images: bool = False,
) -> Generator[PredictionRecord, None, None]:
    """Yield a PredictionRecord for every file under ``inputs``, in order.

    A missing path or a broken file becomes an ``error`` record; an image the gate refuses an
    ``unsupported`` record. ``threshold`` overrides the model's stored operating threshold.
    """
    paths = [str(p) for p in list_input_files(inputs)]
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="pneumo-decode")
    try:
        # Keep two batches of decodes in flight: enough to overlap decode and inference,
        # bounded so that a folder of 10,000 files does not sit in memory at once.
        pending: list[Future] = []
        next_index = 0
        while next_index < len(paths) or pending:
            while next_index < len(paths) and len(pending) < 2 * batch_size:
                pending.append(pool.submit(_decode, paths[next_index], classifier))
                next_index += 1
            batch = [f.result() for f in pending[:batch_size]]
            pending = pending[batch_size:]
            yield from _infer_batch(classifier, batch, threshold, heatmaps, keep_images)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _infer_batch(classifier: Classifier, batch: list[_Decoded], threshold: float | None, heatmaps: bool,
                 keep_images: bool) -> Generator[PredictionRecord, None, None]:
    ok = [d for d in batch if d.status == STATUS_OK]
    results: dict[str, tuple] = {}
    infer_ms = 0.0
    if ok:
        start = time.perf_counter()
        stack = np.stack([d.image_u8 for d in ok])
        probs, feats = classifier.predict_batch(stack)
        reasons = check_features(feats, classifier.gate_tensors, classifier.metadata.get("gate"))
        decisions = classifier.decide(probs, threshold)
        infer_ms = (time.perf_counter() - start) * 1e3 / len(ok)
        for i, d in enumerate(ok):
            results[d.path + f"#{id(d)}"] = (probs[i], decisions[i], reasons[i])
    for d in batch:
        record = PredictionRecord(d.path, d.status, message=d.message, decode_ms=d.decode_ms,
                                  image_size=d.size)
        if d.status == STATUS_OK:
            prob_row, decision, reason = results[d.path + f"#{id(d)}"]
            record.infer_ms = infer_ms
            if reason is not None:
                record.status = STATUS_UNSUPPORTED
                record.message = f"not a chest X-ray: {reason}"
            else:
                record.probabilities = {c: float(p) for c, p in zip(classifier.classes, prob_row)}
                record.probability = float(1.0 - prob_row[classifier.normal_index])
                record.label = classifier.classes[int(decision)]
                if keep_images:
                    record.image_u8 = d.image_u8
                if heatmaps:
                    from .explain import gradcam

                    start = time.perf_counter()
                    # Explain the reported label (it follows the threshold), not the arg-max class.
                    record.heatmap, cls = gradcam(classifier, d.image_u8, target_class=int(decision),
                                                  output_size=d.size)
                    record.heatmap_class = classifier.classes[cls]
                    record.infer_ms += (time.perf_counter() - start) * 1e3
        yield record
