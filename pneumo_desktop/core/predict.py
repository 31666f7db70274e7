"""Batch prediction over any mix of files and folders: the app's hot path.

``predict_files`` is a generator that yields one ``PredictionRecord`` per input file, in input
order, as soon as its batch is done. Decoding runs in a small thread pool (``decode.DecodeQueue``;
Pillow and numpy release the GIL) while the calling thread runs the network on whole batches.
Closing the generator cancels the decodes still queued.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .classifier import Classifier
from .detector import LATERAL_MESSAGE
from .decode import STATUS_ERROR, STATUS_OK, STATUS_UNSUPPORTED, DecodedInput, DecodeQueue
from .imageio import list_input_files

__all__ = ["PredictionRecord", "predict_files", "predict_decoded", "STATUS_OK", "STATUS_ERROR", "STATUS_UNSUPPORTED"]


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


def predict_files(
    classifier: Classifier,
    inputs: Iterable[str | Path],
    threshold: float | None = None,
    heatmaps: bool = False,
    batch_size: int = 32,
    workers: int = 2,
    keep_images: bool = False,
    decoder: DecodeQueue | None = None,
) -> Generator[PredictionRecord, None, None]:
    """Yield a PredictionRecord for every file under ``inputs``, in order.

    A missing path or a broken file becomes an ``error`` record; an image the gate refuses an
    ``unsupported`` record. ``threshold`` overrides the model's stored operating threshold.
    ``decoder``: a DecodeQueue already started on the files (the CLI starts one before it imports
    torch); it must use this model's preprocessing, and ``inputs`` is then ignored.
    """
    if decoder is None:
        paths = [str(p) for p in list_input_files(inputs)]
        # Two batches in flight: enough to overlap decoding with inference, and bounded so that a
        # folder of 10,000 files does not sit in memory at once.
        decoder = DecodeQueue(paths, classifier.preprocessing, workers=workers, lookahead=2 * batch_size)
    elif decoder.prep != classifier.preprocessing:
        decoder.close()
        raise ValueError("the decoder was started with another model's preprocessing")
    try:
        for batch in decoder.batches(batch_size):
            yield from predict_decoded(classifier, batch, threshold, heatmaps, keep_images)
    finally:
        decoder.close()


def predict_decoded(classifier: Classifier, batch: list[DecodedInput], threshold: float | None = None,
                    heatmaps: bool = False, keep_images: bool = False) -> Generator[PredictionRecord, None, None]:
    """One record per already decoded input, in order: what ``predict_files`` does with each
    batch its decoder delivers (the Ray engine's actors call it on batches decoded elsewhere).
    ``batch``: ``DecodedInput`` items for this model's preprocessing, run through the network
    as one batch."""
    ok = [d for d in batch if d.status == STATUS_OK]
    results: dict[int, tuple] = {}
    heatmap_by_id: dict[int, np.ndarray] = {}
    infer_ms = 0.0
    if ok:
        start = time.perf_counter()
        stack = np.stack([d.image_u8 for d in ok])
        one_pass = heatmaps and classifier.single_view
        if one_pass:
            from .explain import predict_with_gradcam

            # One forward gives both the verdict and the Grad-CAM of the reported label.
            probs, feats, decisions, cams = predict_with_gradcam(classifier, stack, threshold,
                                                                 [d.size for d in ok])
            heatmap_by_id = {id(d): cam for d, cam in zip(ok, cams)}
        else:
            probs, feats = classifier.predict_batch(stack)
            decisions = classifier.decide(probs, threshold)
        reasons = classifier.unfamiliar_reasons(stack, feats)
        infer_ms = (time.perf_counter() - start) * 1e3 / len(ok)
        for i, d in enumerate(ok):
            results[id(d)] = (probs[i], decisions[i], reasons[i])
    for d in batch:
        record = PredictionRecord(d.path, d.status, message=d.message, decode_ms=d.decode_ms,
                                  image_size=d.size)
        if d.status == STATUS_OK:
            prob_row, decision, reason = results[id(d)]
            record.infer_ms = infer_ms
            if reason is not None:
                record.status = STATUS_UNSUPPORTED
                # A lateral view is a chest X-ray, just not one this model reads.
                record.message = reason if reason.startswith(LATERAL_MESSAGE) else f"not a chest X-ray: {reason}"
            else:
                record.probabilities = {c: float(p) for c, p in zip(classifier.classes, prob_row)}
                record.probability = float(1.0 - prob_row[classifier.normal_index])
                record.label = classifier.classes[int(decision)]
                if keep_images:
                    record.image_u8 = d.image_u8
                if heatmaps:
                    record.heatmap_class = record.label
                    if id(d) in heatmap_by_id:
                        record.heatmap = heatmap_by_id[id(d)]
                    else:
                        from .explain import gradcam

                        start = time.perf_counter()
                        # Explain the reported label (it follows the threshold), not the arg-max class.
                        record.heatmap, _ = gradcam(classifier, d.image_u8, target_class=int(decision),
                                                    output_size=d.size)
                        record.infer_ms += (time.perf_counter() - start) * 1e3
        yield record
