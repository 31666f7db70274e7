"""A loaded model: ensemble members plus everything the model file says about applying them.

Prediction, evaluation, the GUI and Grad-CAM all go through ``Classifier`` so that the
preprocessing, test-time views, temperature and threshold are exactly those stored in the
file, never a setting that can drift.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from .detector import XrayDetector
from .errors import ModelFileError
from .gate import check_features
from .model import ChestCNN, cpu_has_fast_bf16, fold_batchnorm
from .modelfile import read_model_file, save_model_file
from .batch_transforms import Preprocessing, prepare_image, shift_views, to_model_input


# Rows per forward call. Small chunks keep each layer's activations in cache; on the 2-core
# reference machine 16 rows ran faster per image than 32 or 160 (bench/bench_predict.py).
INFER_CHUNK = 16


class Classifier:
    """Ensemble of ChestCNN members with stored preprocessing, calibration and threshold.

    ``members`` are in eval mode (the trained weights, used for activation maps and filters).
    Inference runs on copies with BatchNorm folded into the convolutions, in bfloat16 where the
    CPU has bf16 units (``precision`` "bf16") and float32 elsewhere ("fp32"); set
    ``PNEUMO_DESKTOP_PRECISION=fp32`` to force float32. The two agree to about 0.01 in
    probability. ``metadata`` is the model file's JSON metadata (a dict). ``gate_tensors`` and
    ``detector`` are the unfamiliar-image gate's feature statistics and chest X-ray detector
    (either may be absent in older or hand-made files).
    """

    def __init__(self, members: list[ChestCNN], metadata: dict, gate_tensors: dict[str, torch.Tensor] | None = None,
                 source_path: str | None = None, detector: XrayDetector | None = None):
        self.members = [m.eval() for m in members]
        for member in self.members:
            member.to(memory_format=torch.channels_last)
        self.metadata = metadata
        self.gate_tensors = gate_tensors or {}
        self.detector = detector
        self.source_path = source_path
        self.preprocessing = Preprocessing.from_dict(metadata["preprocessing"])
        self.classes: list[str] = list(metadata["classes"])
        self.normal_index = self.classes.index(metadata["normal_class"])
        self.threshold = float(metadata["threshold"])
        self.temperature = float(metadata["temperature"])
        self.tta_shifts = [tuple(s) for s in metadata["tta_shifts"]]
        self.inference_members = [fold_batchnorm(m).to(memory_format=torch.channels_last) for m in self.members]
        forced = os.environ.get("PNEUMO_DESKTOP_PRECISION", "").lower()
        self.precision = "fp32" if forced == "fp32" or not cpu_has_fast_bf16() else "bf16"

    @property
    def single_view(self) -> bool:
        """True when the model has one unshifted test-time view: a forward pass of the members
        on the image itself is then the whole prediction (what one-pass Grad-CAM relies on)."""
        return len(self.tta_shifts) == 1 and not any(self.tta_shifts[0])

    def autocast(self):
        """The autocast context every inference forward runs under (see ``precision``)."""
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16")

    # ----- identity -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return str(self.metadata.get("name", "model"))

    @property
    def version(self) -> str:
        """A short content id: the first 12 hex digits of the weights' and metadata's digest."""
        digest = hashlib.sha256(json.dumps(self.metadata, sort_keys=True).encode())
        for member in self.members:
            for tensor in member.state_dict().values():
                digest.update(tensor.detach().cpu().numpy().tobytes())
        return digest.hexdigest()[:12]

    # ----- input ----------------------------------------------------------------------------
    def prepare(self, pixels: np.ndarray) -> np.ndarray:
        """float32 (H, W) in [0, 1] -> uint8 (S, S) as the model was trained."""
        return prepare_image(pixels, self.preprocessing)

    def to_input(self, batch_u8: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 (B, S, S) -> float32 (B, 1, S, S) normalised, channels_last."""
        return to_model_input(batch_u8, self.preprocessing).contiguous(memory_format=torch.channels_last)

    # ----- inference ------------------------------------------------------------------------
    def logits_and_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ensemble logits float32 (B, K) averaged over members and test-time views (before
        temperature), and pooled features float32 (B, F) averaged the same way. Runs in chunks
        of ``INFER_CHUNK`` images."""
        if x.shape[0] > INFER_CHUNK:
            parts = [self.logits_and_features(x[i:i + INFER_CHUNK]) for i in range(0, x.shape[0], INFER_CHUNK)]
            return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
        b = x.shape[0]
        views = shift_views(x, self.tta_shifts).contiguous(memory_format=torch.channels_last)
        n_views = views.shape[0] // b
        logit_sum = None
        feat_sum = None
        with self.autocast():
            for member in self.inference_members:
                logits, feats = member.forward_with_features(views)
                logits = logits.float().view(n_views, b, -1).mean(0)
                feats = feats.float().view(n_views, b, -1).mean(0)
                logit_sum = logits if logit_sum is None else logit_sum + logits
                feat_sum = feats if feat_sum is None else feat_sum + feats
        n = len(self.inference_members)
        return logit_sum / n, feat_sum / n

    @torch.inference_mode()
    def predict_batch(self, batch_u8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 (B, S, S) -> (calibrated probabilities float64 (B, K), features float32 (B, F))."""
        logits, feats = self.logits_and_features(self.to_input(batch_u8))
        probs = torch.softmax(logits / self.temperature, dim=1)
        return probs.double().numpy(), feats.numpy()

    @torch.inference_mode()
    def raw_logits_and_features(self, batch_u8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 (B, S, S) -> (uncalibrated ensemble logits float32 (B, K), features float32 (B, F))."""
        logits, feats = self.logits_and_features(self.to_input(batch_u8))
        return logits.numpy(), feats.numpy()

    def raw_logits(self, batch_u8: np.ndarray) -> np.ndarray:
        """Uncalibrated ensemble logits float32 (B, K), used to fit the temperature."""
        return self.raw_logits_and_features(batch_u8)[0]

    def unfamiliar_reasons(self, prepared_u8: np.ndarray, features: np.ndarray) -> list[str | None]:
        """Per image, None when it may be judged, else why it is refused: the chest X-ray
        detector's verdict first (it says what the image is not), then the feature distance.

        prepared_u8: uint8 (B, S, S) as ``prepare`` makes them; features: float32 (B, F) from
        ``predict_batch``.
        """
        by_features = check_features(features, self.gate_tensors, self.metadata.get("gate"))
        if self.detector is None:
            return by_features
        by_detector = self.detector.reasons(prepared_u8)  # float32: bf16 bought nothing for this small network
        return [d if d is not None else f for d, f in zip(by_detector, by_features)]

    def prob_abnormal(self, probs: np.ndarray) -> np.ndarray:
        """P(not normal) float64 (B,) from class probabilities (B, K)."""
        return 1.0 - probs[:, self.normal_index]

    def decide(self, probs: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """Predicted class index int64 (B,).

        Two classes: abnormal when P(abnormal) >= threshold. More classes: normal below the
        threshold, else the most probable abnormal class.
        """
        t = self.threshold if threshold is None else float(threshold)
        abnormal = self.prob_abnormal(probs) >= t
        masked = probs.copy()
        masked[:, self.normal_index] = -1.0
        best_abnormal = masked.argmax(1)
        return np.where(abnormal, best_abnormal, self.normal_index).astype(np.int64)

    # ----- files ----------------------------------------------------------------------------
    def tensors(self) -> dict[str, torch.Tensor]:
        out = {}
        for i, member in enumerate(self.members):
            for key, value in member.state_dict().items():
                out[f"member{i}.{key}"] = value.contiguous()
        for key, value in self.gate_tensors.items():
            out[f"gate.{key}"] = value
        if self.detector is not None:
            for key, value in self.detector.network.state_dict().items():
                out[f"detector.{key}"] = value.contiguous()
        return out

    def save(self, path: str | Path) -> None:
        """Atomically write this classifier as a model file.

        Afterwards ``metadata`` is what the file holds (machine paths scrubbed, see
        ``core/provenance.py``), so ``version`` matches the file's when it is loaded again.
        """
        self.metadata = save_model_file(path, self.tensors(), self.metadata)

    @classmethod
    def load(cls, path: str | Path) -> "Classifier":
        """Load and check a model file; raises ModelFileError with a reason."""
        tensors, metadata = read_model_file(path)
        return cls.from_parts(tensors, metadata, str(path))

    @classmethod
    def from_parts(cls, tensors: dict[str, torch.Tensor], metadata: dict, source: str = "model") -> "Classifier":
        arch = metadata["architecture"]
        name = Path(source).name
        members = []
        try:
            preprocessing_ok = Preprocessing.from_dict(metadata["preprocessing"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{name}: bad preprocessing metadata ({exc})") from None
        del preprocessing_ok
        for i in range(arch["n_members"]):
            prefix = f"member{i}."
            state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            member = ChestCNN(len(metadata["classes"]), arch["widths"], float(arch.get("dropout", 0.0)))
            try:
                member.load_state_dict(state, strict=True)
            except RuntimeError as exc:
                first = str(exc).splitlines()[0]
                raise ModelFileError(f"{name}: weights do not match the architecture ({first})") from None
            members.append(member)
        expected = {f"member{i}." for i in range(arch["n_members"])}
        stray = [k for k in tensors if not k.startswith(("gate.", "detector."))
                 and k.split(".", 1)[0] + "." not in expected]
        if stray:
            raise ModelFileError(f"{name}: unexpected tensors in the file ({stray[0]} …)")
        gate = {k[len("gate."):]: v for k, v in tensors.items() if k.startswith("gate.")}
        detector_tensors = {k[len("detector."):]: v for k, v in tensors.items() if k.startswith("detector.")}
        detector_meta = metadata.get("detector")
        if bool(detector_tensors) != (detector_meta is not None):
            raise ModelFileError(f"{name}: the chest X-ray detector's weights and description do not match")
        detector = XrayDetector(detector_tensors, detector_meta, name) if detector_tensors else None
        return cls(members, metadata, gate, source, detector)
