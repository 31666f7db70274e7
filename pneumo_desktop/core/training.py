"""Training as a generator of progress events.

``train_model`` yields events (data ready, each batch, each epoch) and finally a
``TrainingFinished`` carrying the new ``Classifier``. Closing the generator (``gen.close()``)
stops training at the next batch boundary and writes nothing. The caller decides where the
model is saved, so a cancelled or crashed run can never damage an existing model file.

Every choice is made on the patient-grouped validation split: the best epoch (lowest
validation loss), the temperature, the operating threshold and the unfamiliar-image gate.

``train_model`` is a pipeline of stages, each a function below it: ``read_data``,
``fit_members`` (one ``run_epoch`` per epoch; fine-tuning shares it), ``calibrate``, the stress
check (core/stress.py), ``fit_gate``, ``fit_detector`` and ``write_metadata``. ``TrainingConfig``
holds every knob; the named recipes of the shipped models are in core/recipes.py.
"""

from __future__ import annotations

import copy
import datetime as _dt
import math
import time
from collections.abc import Generator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from .. import __version__
from . import distributed
from .classifier import Classifier
from .dataset import (
    CLASS_SCHEMES, DecodedImages, check_trainable, class_counts, grouped_split, iter_decode_images, manifest_sha256,
    scan_labelled_folder,
)
from .detector import DetectorStep, XrayDetector, train_detector
from .errors import DatasetError
from .metrics import choose_threshold, evaluate_arrays, fit_temperature, rank_auc
from .gate import fit_feature_gate
from .generators import relay
from .model import DEFAULT_WIDTHS, ChestCNN
from .modelfile import FORMAT_NAME, FORMAT_VERSION
from .batch_transforms import (
    EQUALISE_MODES, MAX_BORDER_MASK, AugmentConfig, Preprocessing, acquire_batch, augment_batch, equalise_batch, to_model_input,
    unit_to_model_input,
)
from .stress import iter_stress_metrics

NORMAL_CLASS_NAMES = ("NORMAL", "normal", "Normal")


@dataclass
class TrainingConfig:
    """Every knob of a training run; stored verbatim in the model file."""

    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.1
    seed: int = 0
    augment: bool = True
    input_size: int = 150
    equalise: str = "hist"
    widths: tuple[int, int, int, int] = DEFAULT_WIDTHS
    dropout: float = 0.3
    label_smoothing: float = 0.1
    warmup_epochs: int = 1
    members: int = 1
    snapshots: int = 1
    tta_shifts: list[tuple[int, int]] = field(default_factory=lambda: [(0, 0)])
    min_sensitivity: float = 0.95
    class_scheme: str = "folders"
    bf16: bool = True
    augment_after_equalise: bool = False
    augmentation: AugmentConfig = field(default_factory=AugmentConfig)
    # Mixup: each batch is blended with a shuffled copy of itself, weight ~ Beta(alpha, alpha),
    # and so are the targets. 0 turns it off.
    mixup_alpha: float = 0.0
    # Epochs of the chest X-ray detector (core/detector.py), the gate's third stage; 0 leaves it
    # out (the model then refuses unfamiliar images by image statistics and feature distance only).
    detector_epochs: int = 8
    # Fraction of each side of the input hidden from the network, in training and ever after
    # (``Preprocessing.border_mask``); 0 hides nothing.
    border_mask: float = 0.0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["widths"] = list(self.widths)
        data["tta_shifts"] = [list(s) for s in self.tta_shifts]
        return data

    def validate(self) -> None:
        """Raise DatasetError, in one line, for a setting out of its range."""
        if not 1 <= self.epochs <= 500:
            raise DatasetError("epochs must be between 1 and 500")
        if not 2 <= self.batch_size <= 1024:
            raise DatasetError("batch size must be between 2 and 1024")
        if not 0 < self.learning_rate < 1:
            raise DatasetError("learning rate must be between 0 and 1")
        if self.snapshots < 1 or self.snapshots > self.epochs or self.members < 1:
            raise DatasetError("snapshots must be between 1 and the number of epochs, members at least 1")
        if not 1.0 <= self.augmentation.aspect_max <= 2.0:
            raise DatasetError("aspect jitter must be between 1 (off) and 2")
        if not 0.5 <= self.augmentation.scale_min <= 1.0 <= self.augmentation.scale_max <= 2.0:
            raise DatasetError("the zoom range must run from between 0.5 and 1 to between 1 and 2")
        if not 0.0 <= self.augmentation.shift_frac <= 0.25:
            raise DatasetError("shifts must be between 0 and 0.25 of the side")
        if not 0.0 <= self.mixup_alpha <= 10.0:
            raise DatasetError("mixup alpha must be between 0 (off) and 10")
        if not 0 <= self.detector_epochs <= 100:
            raise DatasetError("detector epochs must be between 0 (no detector) and 100")
        if not 0.0 <= self.border_mask <= MAX_BORDER_MASK:
            raise DatasetError(f"the hidden border must be between 0 (off) and {MAX_BORDER_MASK} of the side")
        if len(self.widths) != 4 or min(self.widths) < 1:
            raise DatasetError("widths must be four positive whole numbers, e.g. 16,32,64,128")
        if not 16 <= self.input_size <= 1024:
            raise DatasetError("the input size must be between 16 and 1024 pixels")
        if not 0.0 < self.val_fraction < 1.0:
            raise DatasetError("the validation fraction must lie strictly between 0 and 1")
        if not 0.0 < self.min_sensitivity < 1.0:
            raise DatasetError("the minimum sensitivity must lie strictly between 0 and 1")
        if not 0.0 <= self.label_smoothing < 1.0 or not 0.0 <= self.dropout < 1.0:
            raise DatasetError("label smoothing and dropout must be at least 0 and below 1")
        if self.warmup_epochs < 0 or self.weight_decay < 0:
            raise DatasetError("warm-up epochs and weight decay cannot be negative")
        if self.equalise not in EQUALISE_MODES:
            raise DatasetError(f"equalise must be one of {', '.join(EQUALISE_MODES)}")
        if self.class_scheme not in CLASS_SCHEMES:
            raise DatasetError(f"class_scheme must be one of {', '.join(CLASS_SCHEMES)}")
        if not self.tta_shifts:
            raise DatasetError("tta_shifts needs at least one view, e.g. [[0, 0]]")


# ----- events --------------------------------------------------------------------------------
@dataclass
class DataReady:
    n_train: int
    n_val: int
    train_counts: dict[str, int]
    val_counts: dict[str, int]
    unreadable: dict[str, str]
    decode_seconds: float


@dataclass
class BatchDone:
    member: int
    epoch: int
    batch: int
    n_batches: int
    loss: float
    learning_rate: float
    elapsed_s: float
    eta_s: float


@dataclass
class EpochDone:
    member: int
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    val_auc: float | None
    learning_rate: float
    elapsed_s: float
    eta_s: float
    is_best: bool


# The steps of a training run other than its epochs, as ``StatusMessage.stage``.
STAGE_DECODE = "decode"
STAGE_CALIBRATE = "calibrate"
STAGE_STRESS = "stress"
STAGE_GATE = "gate"
STAGE_DETECTOR = "detector"
STAGE_DETECTOR_CHECK = "detector_check"


@dataclass
class StatusMessage:
    """A step of training other than an epoch.

    text: an English line for the CLI and logs. stage: which step (a ``STAGE_*`` value), for
    views that word it themselves. detail: the stress change being scored (stage
    ``STAGE_STRESS``), else "". step, steps: the detector's epoch (1-based) and its number of
    epochs (stage ``STAGE_DETECTOR`` once it trains), else 0.
    """

    text: str
    stage: str = ""
    detail: str = ""
    step: int = 0
    steps: int = 0


def stress_status(change: str) -> StatusMessage:
    """The event announcing that the stress change ``change`` is being scored."""
    return StatusMessage(f"Stress-testing on the validation split: {change}…", STAGE_STRESS, detail=change)


def detector_status(step: DetectorStep) -> StatusMessage:
    """The event for a progress step of the chest X-ray detector's training."""
    stage = STAGE_DETECTOR_CHECK if step.is_check else STAGE_DETECTOR
    return StatusMessage(f"Training the chest X-ray detector: {step}…", stage, step=step.epoch, steps=step.epochs)


@dataclass
class DecodeProgress:
    """Images decoded so far while the data is read (every 64 images); ``done`` <= ``total``."""

    done: int
    total: int


@dataclass
class TrainingFinished:
    """The end of a run. comparison: for a fine-tune (core/finetune.py), the parent and the
    adapted model on the same held-out local films (a ``LocalComparison``); else None."""

    classifier: Classifier
    history: list[dict]
    validation_metrics: dict
    seconds: float
    comparison: object | None = None


TrainingEvent = DataReady | BatchDone | EpochDone | StatusMessage | DecodeProgress | TrainingFinished


def _lr_at(step: int, total: int, warmup: int, base: float) -> float:
    """Linear warm-up then cosine decay to 1% of ``base``."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))


def _normal_class(classes: list[str]) -> str:
    for name in classes:
        if name in NORMAL_CLASS_NAMES:
            return name
    return classes[0]


def prepare_tables(data_dir: str | Path, config: TrainingConfig) -> pd.DataFrame:
    """Scan a labelled folder and carve the patient-grouped validation split."""
    table = scan_labelled_folder(data_dir, class_scheme=config.class_scheme)
    check_trainable(table)
    return grouped_split(table, config.val_fraction, config.seed)


def train_model(
    table: pd.DataFrame,
    config: TrainingConfig,
    cache_dir: str | Path | None = None,
    command: str = "",
    name: str = "model",
    recipe: str = "",
) -> Generator[TrainingEvent, None, None]:
    """Train on ``table`` (columns path, label, patient, sha256, split ∈ {train, val}).

    Yields DataReady, then BatchDone / EpochDone per member and epoch, StatusMessage for
    phases, and finally TrainingFinished. Stops cleanly when the generator is closed. Under
    torchrun (core/distributed.py) every rank trains its share of each batch; the generator of a
    rank other than 0 ends after the last epoch, without TrainingFinished.
    ``command`` and ``recipe`` (the recipe's name, "" for none) are recorded in the model file.

    The stages, in order: read the data, fit the members, calibrate, stress-check, fit the gate,
    fit the detector, write the metadata.
    """
    config.validate()
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    data: RunData = yield from read_data(table, config, cache_dir, started)
    fitted: FittedMembers = yield from fit_members(data, config, started)
    if not distributed.is_main():
        return  # under torchrun, rank 0 alone calibrates, checks and makes the classifier
    distributed.claim_idle_threads()
    yield StatusMessage("Calibrating on the validation split…", STAGE_CALIBRATE)
    calibration = calibrate(data, fitted.models, config, name)
    classifier = calibration.classifier
    # One-sided acquisition stresses on the validation normals (core/stress.py): how the model
    # reacts when the normals' acquisition changes (its known weaknesses). Reported, never used
    # to choose anything inside this run.
    stress = yield from relay(iter_stress_metrics(classifier, data.images[data.val_idx],
                                                  data.val_y.numpy() != data.normal_index), stress_status)
    yield StatusMessage("Fitting the unfamiliar-image gate…", STAGE_GATE)
    classifier.gate_tensors, gate_meta = fit_gate(classifier, data, calibration.val_features, config.seed)
    detector_meta = None
    if config.detector_epochs > 0:
        yield StatusMessage("Training the chest X-ray detector…", STAGE_DETECTOR)
        classifier.detector, detector_meta = yield from fit_detector(data, config)
    seconds = time.perf_counter() - started
    write_metadata(classifier.metadata, data, fitted, calibration, config, stress=stress, gate=gate_meta,
                   detector=detector_meta, seconds=seconds, command=command, recipe=recipe)
    yield TrainingFinished(classifier, fitted.history, calibration.metrics, seconds)


# ----- the stages of train_model ------------------------------------------------------------------
@dataclass
class RunData:
    """A run's decoded data. images: uint8 (N, S, S) raw (un-equalised), every readable row of
    ``table``; labels: int64 (N,) class indices; train_idx, val_idx: int64 row indices; val_x:
    uint8 (V, S, S) the validation images equalised; val_y: int64 (V,); class_weights: float32 (K,)
    so that each class weighs the same in the loss."""

    table: pd.DataFrame
    classes: list[str]
    normal: str
    prep: Preprocessing
    images: torch.Tensor
    labels: torch.Tensor
    train_idx: torch.Tensor
    val_idx: torch.Tensor
    train_counts: dict[str, int]
    val_counts: dict[str, int]
    errors: dict[str, str]
    class_weights: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor

    @property
    def normal_index(self) -> int:
        return self.classes.index(self.normal)


def read_data(table: pd.DataFrame, config: TrainingConfig, cache_dir, started: float,
              ) -> Generator[TrainingEvent, None, RunData]:
    """Decode ``table``'s images (yielding the decode status and DecodeProgress, then DataReady)
    and return them as a ``RunData``; DatasetError when a class loses all its training or
    validation images to unreadable files."""
    classes = sorted(table["label"].unique().tolist())
    normal = _normal_class(classes)
    prep = Preprocessing(input_size=config.input_size, equalise=config.equalise, border_mask=config.border_mask)

    yield StatusMessage("Decoding images…", STAGE_DECODE)
    # The cache holds resized, un-equalised images; equalisation follows augmentation.
    raw_prep = replace(prep, equalise="none")
    # Progress during decoding is also where a cancel (closing this generator) takes effect.
    # Under torchrun rank 0 decodes first and fills the cache, which the other ranks then read.
    if not distributed.is_main():
        distributed.barrier()
    decoded: DecodedImages = yield from _decode_with_progress(table["path"], raw_prep, cache_dir)
    if distributed.is_main():
        distributed.barrier()
    keep = decoded.ok
    table = table.loc[keep].reset_index(drop=True)
    images = torch.from_numpy(decoded.images[keep])
    labels = torch.tensor([classes.index(v) for v in table["label"]], dtype=torch.long)
    is_train = torch.from_numpy((table["split"] == "train").to_numpy().copy())
    is_val = torch.from_numpy((table["split"] == "val").to_numpy().copy())
    train_idx = torch.nonzero(is_train).flatten()
    val_idx = torch.nonzero(is_val).flatten()
    train_counts = class_counts(table[table["split"] == "train"])
    val_counts = class_counts(table[table["split"] == "val"])
    if len(train_counts) != len(classes) or len(val_counts) != len(classes):
        raise DatasetError("after removing unreadable files, a class has no training or validation images")
    yield DataReady(len(train_idx), len(val_idx), train_counts, val_counts, decoded.errors,
                    time.perf_counter() - started)

    # Class-weighted loss: each class contributes equally however imbalanced the folder is.
    counts = torch.bincount(labels[train_idx], minlength=len(classes)).to(torch.float32)
    class_weights = counts.sum() / (len(classes) * counts.clamp(min=1))
    return RunData(table, classes, normal, prep, images, labels, train_idx, val_idx, train_counts, val_counts,
                   decoded.errors, class_weights, equalise_batch(images[val_idx], prep.equalise), labels[val_idx])


@dataclass
class FittedMembers:
    """The networks ``fit_members`` chose (eval mode, one per chosen epoch of each member), the
    history of every epoch (dicts) and the chosen epochs of each member (1-based)."""

    models: list[ChestCNN]
    history: list[dict]
    best_epochs: list[list[int]]


def fit_members(data: RunData, config: TrainingConfig, started: float,
                ) -> Generator[TrainingEvent, None, FittedMembers]:
    """Train ``config.members`` networks from seeds ``seed + 1000 * member``; yields BatchDone /
    EpochDone. Each member keeps its best epoch by validation loss (``snapshots == 1``) or its last
    ``snapshots`` epochs."""
    n_batches = max(1, len(data.train_idx) // config.batch_size)
    if config.batch_size < distributed.world_size():
        raise DatasetError(f"the batch size ({config.batch_size}) is smaller than the number of processes")
    progress = _Progress(started, n_batches * config.epochs * config.members)
    fitted = FittedMembers([], [], [])
    for member_index in range(config.members):
        chosen = yield from _fit_member(data, config, member_index, n_batches, progress, fitted.history)
        fitted.best_epochs.append([e + 1 for e, _ in chosen])
        for _, state in chosen:
            member = ChestCNN(len(data.classes), config.widths, config.dropout)
            member.load_state_dict(state)
            fitted.models.append(member.eval())
    return fitted


@dataclass
class _Progress:
    """Elapsed time and ETA over every batch of ``fit_members``."""

    started: float
    total_batches: int
    done: int = 0
    train_started: float = field(default_factory=time.perf_counter)

    def eta(self) -> float:
        return (time.perf_counter() - self.train_started) / self.done * (self.total_batches - self.done)


def _fit_member(data: RunData, config: TrainingConfig, member_index: int, n_batches: int, progress: _Progress,
                history: list[dict]) -> Generator[TrainingEvent, None, list[tuple[int, dict]]]:
    """Train one member for ``config.epochs`` epochs; appends each epoch's record to ``history``
    and returns the chosen (epoch index, state dict) pairs."""
    seed = config.seed + 1000 * member_index
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    mix_rng = np.random.default_rng(distributed.rank_seed(seed) + 7)  # mixup weights; torch has no seeded Beta sampler
    model = ChestCNN(len(data.classes), config.widths, config.dropout).to(memory_format=torch.channels_last)
    # Under torchrun every rank draws the same batch order from ``gen`` and its own augmentation,
    # mixup partners and dropout from ``aug_gen`` and the global generator.
    aug_gen = gen
    if distributed.world_size() > 1:
        aug_gen = torch.Generator().manual_seed(distributed.rank_seed(seed))
        torch.manual_seed(distributed.rank_seed(seed))
    net = distributed.wrap_model(model)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16)
    warmup, total_steps = config.warmup_epochs * n_batches, config.epochs * n_batches
    snapshots: list[tuple[int, dict]] = []
    best = (math.inf, -1, None)

    def mixup(x: torch.Tensor) -> tuple[torch.Tensor, tuple[float, torch.Tensor] | None]:
        if config.mixup_alpha <= 0:
            return x, None
        weight = float(mix_rng.beta(config.mixup_alpha, config.mixup_alpha))
        partner = torch.randperm(len(x), generator=aug_gen)
        return weight * x + (1.0 - weight) * x[partner], (weight, partner)

    for epoch in range(config.epochs):
        model.train()
        order = data.train_idx[torch.randperm(len(data.train_idx), generator=gen)]
        batches = [distributed.shard(order[b * config.batch_size:(b + 1) * config.batch_size])
                   for b in range(n_batches)]
        epoch_run = run_epoch(
            net, optimiser, batches, data.labels,
            lambda idx: training_input(data.images[idx], config, data.prep, aug_gen),
            lambda b: _lr_at(epoch * n_batches + b, total_steps, warmup, config.learning_rate),
            data.class_weights, config.label_smoothing, autocast, mixup)

        def batch_done(update: tuple[int, float, float]) -> BatchDone:
            b, loss_value, lr = update
            progress.done += 1
            return BatchDone(member_index, epoch + 1, b, n_batches, loss_value, lr,
                             time.perf_counter() - progress.started, progress.eta())

        train_loss, train_accuracy, lr = yield from relay(epoch_run, batch_done)
        train_loss, train_accuracy = distributed.mean_over_ranks([train_loss, train_accuracy],
                                                                 sum(len(idx) for idx in batches))
        # Rank 0 validates and tells the others, so every rank keeps the same best epoch.
        val_loss, val_acc, val_auc = distributed.broadcast(
            _validate(model, data.val_x, data.val_y, data.class_weights, data.prep, data.classes, data.normal,
                      config.bf16) if distributed.is_main() else None)
        is_best = val_loss < best[0]
        if is_best:
            best = (val_loss, epoch, copy.deepcopy(model.state_dict()))
        if epoch >= config.epochs - config.snapshots:
            snapshots.append((epoch, copy.deepcopy(model.state_dict())))
        record = dict(member=member_index, epoch=epoch + 1, train_loss=train_loss, train_accuracy=train_accuracy,
                      val_loss=val_loss, val_accuracy=val_acc, val_auc=val_auc, learning_rate=lr)
        history.append(record)
        yield EpochDone(member_index, epoch + 1, config.epochs, train_loss, train_accuracy, val_loss, val_acc,
                        val_auc, lr, time.perf_counter() - progress.started, progress.eta(), is_best)
    return [(best[1], best[2])] if config.snapshots == 1 else snapshots


def run_epoch(model: torch.nn.Module, optimiser: torch.optim.Optimizer, batches: list[torch.Tensor],
              labels: torch.Tensor, make_input, learning_rate_at, class_weights: torch.Tensor,
              label_smoothing: float, autocast, mixup=None,
              ) -> Generator[tuple[int, float, float], None, tuple[float, float, float]]:
    """One epoch of updates, shared by training and fine-tuning (core/finetune.py).

    batches: int64 index tensors, one per update. make_input(idx): the network input of those
    rows (float32 (B, 1, S, S)). learning_rate_at(b): the learning rate of update ``b`` (0-based)
    of this epoch. mixup(x), when given: (x blended with a partner, (weight, partner)) or (x, None).
    Yields (update number from 1, loss, learning rate) after each update; returns (mean loss,
    accuracy) over the epoch's images and the last update's learning rate.
    """
    loss_sum = correct = seen = 0.0
    for b, idx in enumerate(batches):
        lr = learning_rate_at(b)
        for group in optimiser.param_groups:
            group["lr"] = lr
        x = make_input(idx)
        y = labels[idx]
        x, mix = mixup(x) if mixup is not None else (x, None)
        with autocast:
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y, weight=class_weights, label_smoothing=label_smoothing)
        if mix is not None:
            weight, partner = mix
            loss = weight * loss + (1.0 - weight) * F.cross_entropy(
                logits.float(), y[partner], weight=class_weights, label_smoothing=label_smoothing)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        loss_value = loss.item()
        loss_sum += loss_value * len(idx)
        correct += float((logits.argmax(1) == y).sum())
        seen += len(idx)
        yield b + 1, loss_value, lr
    return loss_sum / seen, correct / seen, lr


@dataclass
class Calibration:
    """What ``calibrate`` fitted and measured: the classifier (temperature and threshold set, its
    metadata begun), the validation features (float32 (V, F), for the gate), and the
    ``evaluate_arrays`` reports on the validation split and on its acquisition-shifted copy."""

    classifier: Classifier
    val_features: np.ndarray
    metrics: dict
    shifted_metrics: dict


def calibrate(data: RunData, models: list[ChestCNN], config: TrainingConfig, name: str) -> Calibration:
    """Make the classifier of ``models``, fit its temperature and operating threshold on the
    validation split, and measure it there and on an acquisition-shifted copy."""
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "name": name,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "app_version": __version__,
        "architecture": {"type": "ChestCNN", "widths": list(config.widths), "dropout": config.dropout,
                         "n_members": len(models)},
        "classes": data.classes,
        "normal_class": data.normal,
        "preprocessing": data.prep.to_dict(),
        "tta_shifts": [list(s) for s in config.tta_shifts],
        "threshold": 0.5,
        "temperature": 1.0,
        "training": {},
    }
    classifier = Classifier(models, metadata)
    val_u8 = data.val_x.numpy()
    val_y = data.val_y.numpy()
    # One pass gives the logits for calibration and the features for the gate (an ensemble with
    # many test-time views spends most of a minute on each pass over validation).
    val_logits, val_feats = _batched(classifier.raw_logits_and_features, val_u8)

    temperature = fit_temperature(val_logits, val_y)
    probs = _softmax(val_logits / temperature)
    normal_index = data.normal_index
    prob_abnormal = 1.0 - probs[:, normal_index]
    threshold = choose_threshold(val_y != normal_index, prob_abnormal, config.min_sensitivity)
    classifier.temperature = metadata["temperature"] = float(temperature)
    classifier.threshold = metadata["threshold"] = float(threshold)
    val_metrics = evaluate_arrays(val_y, classifier.decide(probs), prob_abnormal, data.classes, threshold,
                                  normal_index, n_bootstrap=200, seed=config.seed)

    # A harder validation view: the same held-out patients under a fixed, seeded acquisition
    # change (softness, exposure, contrast, framing). The plain validation split saturates, so
    # this is the figure that can tell recipes apart; it never feeds back into the model.
    shifted_u8 = _acquisition_shifted(data.images[data.val_idx], data.prep, config.seed)
    shifted_probs = _softmax(_batched(classifier.raw_logits, shifted_u8) / temperature)
    shifted_metrics = evaluate_arrays(val_y, classifier.decide(shifted_probs), 1.0 - shifted_probs[:, normal_index],
                                      data.classes, threshold, normal_index, n_bootstrap=200, seed=config.seed)
    return Calibration(classifier, val_feats, val_metrics, shifted_metrics)


def fit_gate(classifier: Classifier, data: RunData, val_features: np.ndarray,
             seed: int) -> tuple[dict[str, torch.Tensor], dict]:
    """The unfamiliar-image gate's tensors and metadata: the feature distribution of a seeded
    sample of at most 2,000 training images, its cut-off from the validation features."""
    # A sample is plenty for a mean and covariance of F features, and keeps this step short for
    # ensembles with many test-time views.
    order = torch.randperm(len(data.train_idx), generator=torch.Generator().manual_seed(seed))
    gate_idx = data.train_idx[order[:2000]]
    train_u8 = equalise_batch(data.images[gate_idx], data.prep.equalise).numpy()
    train_feats = _batched(lambda u8: classifier.predict_batch(u8)[1], train_u8)
    return fit_feature_gate(train_feats, val_features)


def fit_detector(data: RunData, config: TrainingConfig) -> Generator[StatusMessage, None, tuple[XrayDetector, dict]]:
    """Train the chest X-ray detector (the gate's third stage) for ``config.detector_epochs``
    epochs, yielding its progress; returns the detector and its metadata."""
    tensors, meta = yield from relay(
        train_detector(data.images[data.train_idx], data.images[data.val_idx], data.prep.equalise,
                       config.detector_epochs, config.seed),
        detector_status)
    return XrayDetector(tensors, meta), meta


def write_metadata(metadata: dict, data: RunData, fitted: FittedMembers, calibration: Calibration,
                   config: TrainingConfig, *, stress: dict, gate: dict, detector: dict | None, seconds: float,
                   command: str, recipe: str) -> None:
    """Complete the model file's metadata (begun by ``calibrate``) in place: the gate, the
    detector, the threshold rule, the validation figures and the training record."""
    if detector is not None:
        metadata["detector"] = detector
    metadata["gate"] = gate
    metadata["threshold_rule"] = (f"highest threshold with validation sensitivity >= {config.min_sensitivity:.2f} "
                                  "(best specificity under that constraint)")
    metadata["validation_metrics"] = {k: v for k, v in calibration.metrics.items() if k not in ("roc",)}
    metadata["validation_shifted_metrics"] = {k: v for k, v in calibration.shifted_metrics.items() if k not in ("roc",)}
    metadata["validation_stress_metrics"] = stress
    metadata["test_metrics"] = None
    metadata["training"] = {
        "command": command,
        **({"recipe": recipe} if recipe else {}),
        "config": config.to_dict(),
        "seed": config.seed,
        "seconds": round(seconds, 1),
        "torch_threads": torch.get_num_threads(),
        "world_size": distributed.world_size(),  # processes under torchrun; batch_size is over all of them
        "data": {
            "train_counts": data.train_counts,
            "val_counts": data.val_counts,
            "n_unreadable": len(data.errors),
            "manifest_sha256": manifest_sha256(data.table),
            "split": "patient-grouped, stratified, identical images kept together",
        },
        "best_epochs": fitted.best_epochs,
        "history": fitted.history,
    }


def training_input(batch_u8: torch.Tensor, config: TrainingConfig, prep: Preprocessing,
                   gen: torch.Generator) -> torch.Tensor:
    """uint8 (B, S, S) raw (un-equalised) training images -> float32 (B, 1, S, S) network input,
    channels_last, with the run's augmentation drawn from ``gen``."""
    batch = batch_u8
    if config.augment and config.augmentation.acquires:
        # A different exposure or detector changes the raw image, before equalisation.
        batch = acquire_batch(batch, config.augmentation, gen)
    if config.augment and config.augment_after_equalise:
        # Intensity changes survive on top of the equalised image, so the model also
        # learns to ignore the residual, non-monotonic differences equalisation leaves.
        augmented = augment_batch(equalise_batch(batch, prep.equalise), config.augmentation, gen)
        x = unit_to_model_input(augmented.unsqueeze(1), prep)
    else:
        if config.augment:
            augmented = augment_batch(batch, config.augmentation, gen)
            batch = torch.round(augmented * 255.0).to(torch.uint8)
        x = to_model_input(equalise_batch(batch, prep.equalise), prep)
    return x.contiguous(memory_format=torch.channels_last)


#: What a key missing from a model file's ``training.config`` meant when that file was written.
#: Each of these settings was added after the first model files, at a value that left training as
#: it had been (off); the chest X-ray detector was added to those files afterwards, with 8 epochs
#: (bench/add_detector.py). They are pinned here, not taken from TrainingConfig's defaults, so an
#: older file keeps its meaning whatever the defaults become. A setting added to TrainingConfig
#: later belongs here with the value that keeps older files' meaning (tests/core/test_recipes.py
#: checks that every key is recorded by the shipped files or listed here).
LEGACY_SETTINGS: dict[str, object] = {
    "augment_after_equalise": False,
    "mixup_alpha": 0.0,
    "detector_epochs": 8,
    "border_mask": 0.0,
    "augmentation.aspect_max": 1.0,
    "augmentation.haze_prob": 0.0,
    "augmentation.haze_max": 0.6,
    "augmentation.haze_sigma_frac": (0.03, 0.1),
    "augmentation.raw_noise_std": 0.0,
}


def config_from_dict(data: dict) -> TrainingConfig:
    """The TrainingConfig a model file's ``training.config`` describes (unknown keys ignored, so
    files written by other versions still load; a key the file lacks takes its ``LEGACY_SETTINGS``
    value, else TrainingConfig's default); raises DatasetError when it is malformed."""
    known = {f for f in TrainingConfig.__dataclass_fields__}
    try:
        values = {k: v for k, v in data.items() if k in known}
        augmentation = dict(values.pop("augmentation", {}) or {})
        for key, value in LEGACY_SETTINGS.items():
            section, _, name = key.rpartition(".")
            (augmentation if section == "augmentation" else values).setdefault(name, value)
        aug_known = set(AugmentConfig.__dataclass_fields__)
        aug = AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v
                               for k, v in augmentation.items() if k in aug_known})
        if "widths" in values:
            values["widths"] = tuple(values["widths"])
        if "tta_shifts" in values:
            values["tta_shifts"] = [tuple(v) for v in values["tta_shifts"]]
        return TrainingConfig(**values, augmentation=aug)
    except (TypeError, ValueError, AttributeError) as exc:
        raise DatasetError(f"the model file's training recipe cannot be read ({exc})") from None


def _decode_with_progress(paths, prep: Preprocessing, cache_dir) -> Generator[DecodeProgress, None, DecodedImages]:
    return (yield from relay(iter_decode_images(paths, prep, cache_dir=cache_dir),
                             lambda step: DecodeProgress(*step)))


SHIFTED_VALIDATION = AugmentConfig(
    rotation_deg=5.0, scale_min=0.9, scale_max=1.1, shift_frac=0.04, gamma_min=0.7, gamma_max=1.4,
    brightness=0.1, contrast=0.3, blur_prob=0.7, blur_sigma_max=2.0, sharpen_prob=0.0, noise_std=0.02,
)


def _acquisition_shifted(raw_u8: torch.Tensor, prep: Preprocessing, seed: int) -> np.ndarray:
    """uint8 (N, S, S) raw validation images -> uint8 (N, S, S) perturbed and equalised."""
    gen = torch.Generator().manual_seed(10_000 + seed)
    out = [torch.round(augment_batch(raw_u8[i:i + 256], SHIFTED_VALIDATION, gen) * 255).to(torch.uint8)
           for i in range(0, len(raw_u8), 256)]
    return equalise_batch(torch.cat(out), prep.equalise).numpy()


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def _batched(fn, array: np.ndarray, batch: int = 256):
    """``fn`` over ``array`` in chunks of ``batch`` rows, its results concatenated along rows; a
    ``fn`` that returns a tuple of arrays gives a tuple of concatenated arrays."""
    parts = [fn(array[i:i + batch]) for i in range(0, len(array), batch)]
    if parts and isinstance(parts[0], tuple):
        return tuple(np.concatenate(column, 0) for column in zip(*parts))
    return np.concatenate(parts, 0)


@torch.inference_mode()
def _validate(model: ChestCNN, val_x: torch.Tensor, val_y: torch.Tensor, class_weights: torch.Tensor,
              prep: Preprocessing, classes: list[str], normal: str, bf16: bool) -> tuple[float, float, float | None]:
    """(weighted cross-entropy without smoothing, accuracy, AUC abnormal-vs-normal) on validation."""
    model.eval()
    logits = []
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for i in range(0, len(val_x), 256):
            x = to_model_input(val_x[i:i + 256], prep).contiguous(memory_format=torch.channels_last)
            logits.append(model(x).float())
    out = torch.cat(logits)
    loss = float(F.cross_entropy(out, val_y, weight=class_weights))
    acc = float((out.argmax(1) == val_y).float().mean())
    normal_index = classes.index(normal)
    score = 1 - torch.softmax(out, 1)[:, normal_index]
    positive = val_y != normal_index
    auc = rank_auc(score.numpy(), positive.numpy())
    return loss, acc, auc
