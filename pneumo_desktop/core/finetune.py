"""Adapting a model to a site's own films: fine-tuning every layer from a parent model file.

A model trained at one hospital ranks another hospital's films less well (adult, portable,
supine films with devices). A few labelled local films fix much of that when *every* layer is
fine-tuned from the parent's weights; the head alone does not (docs/experiments.md, F1).

``finetune_model`` is a generator of the same progress events as ``training.train_model`` and
ends with a ``TrainingFinished`` whose classifier is an ordinary model file's:

* **Start**: the parent's weights, architecture, preprocessing, test-time views and training
  augmentation (its ``training.config``); its chest X-ray detector is kept as it is.
* **Schedule**: a short, low-learning-rate one (``FineTuneConfig``): warm-up then cosine decay,
  class-weighted loss, every layer trained, batch-norm statistics moving to the local films.
* **Calibration**: temperature and threshold come from local films the fine-tune did not see.
  A folder of fewer than ``FineTuneConfig.hold_out_from`` films is too small to give up a
  validation part, so it is *cross-fitted*: ``folds`` fine-tunes, each on all but one fold,
  predict the fold they left out; temperature and threshold are fitted on those out-of-fold
  predictions, and the model that is saved is one more fine-tune on every film. Larger folders
  hold out a patient-grouped validation part.
* **Comparison**: the parent and the adapted model on the same held-out local films (the
  out-of-fold predictions, or the validation part), stored in the file (``lineage.comparison``)
  and returned as a ``LocalComparison``.
* **Lineage**: the parent's name, version and creation date, the local class counts and the
  date; never a path or a folder name.
"""

from __future__ import annotations

import copy
import datetime as _dt
import math
import time
from collections.abc import Generator
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd
import torch

from .. import __version__
from .classifier import Classifier
from .dataset import DecodedImages, class_counts, grouped_folds, grouped_split, manifest_sha256
from .errors import DatasetError
from .metrics import choose_threshold, evaluate_arrays, fit_temperature
from .gate import fit_feature_gate
from .generators import relay
from .model import ChestCNN, cpu_has_fast_bf16
from .batch_transforms import augment_batch, equalise_batch
from .recipes import DEFAULT
from .training import (
    STAGE_CALIBRATE, STAGE_DECODE, STAGE_GATE, BatchDone, DataReady, EpochDone, StatusMessage, TrainingConfig,
    TrainingFinished, _batched, _decode_with_progress, _lr_at, _softmax, _validate, config_from_dict, run_epoch,
    training_input,
)

#: The smallest local folder that can be adapted to: enough films for five folds that each hold
#: every class, and for a threshold that is more than a guess.
MIN_FILMS = 40
MIN_PER_CLASS = 10
STAGE_FOLD = "fold"
#: Outer comparison figures kept in the model file (the full reports are returned, not stored).
COMPARISON_KEYS = ("n", "accuracy", "auc", "recall", "specificity", "ci", "ece", "confusion_matrix", "n_refused")


@dataclass
class FineTuneConfig:
    """The fine-tuning schedule; stored in the adapted model's file (``training.finetune``).

    Fixed before it was first measured (docs/experiments.md, F1): 10 epochs, peak learning rate
    3e-4 (a seventh of the from-scratch rate), batch 16, at least 8 updates per epoch (a small
    folder's films are cycled), five folds below 400 films.
    """

    epochs: int = 10
    learning_rate: float = 3e-4
    batch_size: int = 16
    min_steps_per_epoch: int = 8
    weight_decay: float = 1e-4
    folds: int = 5
    hold_out_from: int = 400
    val_fraction: float = 0.2
    seed: int = 0
    # bfloat16 autocast only where the CPU has bf16 units: elsewhere it is emulated, and a
    # fine-tune step ran 18 times slower in it (7 against 100 films/s on a 2-core AVX2 CPU).
    bf16: bool = field(default_factory=cpu_has_fast_bf16)

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> None:
        if not 1 <= self.epochs <= 200:
            raise DatasetError("fine-tuning epochs must be between 1 and 200")
        if not 0 < self.learning_rate < 0.1:
            raise DatasetError("the fine-tuning learning rate must be between 0 and 0.1")
        if not 2 <= self.batch_size <= 512:
            raise DatasetError("batch size must be between 2 and 512")
        if not 2 <= self.folds <= 10:
            raise DatasetError("cross-fitting needs between 2 and 10 folds")
        if not 0.0 < self.val_fraction < 0.5:
            raise DatasetError("the validation part must be between 0 and half of the folder")


@dataclass
class LocalComparison:
    """The parent and the adapted model on the same held-out local films.

    how: how the films were held out (English, for reports). classes: the model's classes.
    paths: list[str] (N,); true_index int64 (N,); for each model, prob_abnormal float64 (N,) in
    [0, 1] and pred_index int64 (N,) at its own threshold; reports: ``evaluate_arrays`` dicts.
    """

    how: str
    classes: list[str]
    paths: list[str]
    true_index: np.ndarray
    adapted_prob: np.ndarray
    adapted_pred: np.ndarray
    parent_prob: np.ndarray
    parent_pred: np.ndarray
    adapted_report: dict
    parent_report: dict


def check_local_folder(table: pd.DataFrame, parent: Classifier) -> None:
    """Raise DatasetError, with a message that names the minimum, unless ``table`` (columns path,
    label) can adapt ``parent``: the same classes, at least ``MIN_FILMS`` films and at least
    ``MIN_PER_CLASS`` per class."""
    counts = class_counts(table)
    if set(counts) != set(parent.classes):
        raise DatasetError(
            f"the folder's classes ({', '.join(sorted(counts))}) differ from the model's "
            f"({', '.join(parent.classes)}); adapting keeps the model's classes, so give it one sub-folder per "
            "class of the model")
    n = int(sum(counts.values()))
    small = [f"{k} ({v})" for k, v in counts.items() if v < MIN_PER_CLASS]
    if n < MIN_FILMS or small:
        found = ", ".join(f"{k} {v}" for k, v in counts.items())
        raise DatasetError(
            f"too few films to adapt the model: found {n} ({found}); adapting needs at least {MIN_FILMS} films "
            f"with at least {MIN_PER_CLASS} in each class")


def parent_recipe(parent: Classifier) -> TrainingConfig:
    """The parent's training recipe (augmentation, label smoothing, sensitivity target), from its
    file; the shipped default's recipe for a file that does not say."""
    stored = (parent.metadata.get("training") or {}).get("config")
    if not stored:
        return DEFAULT.config()
    return config_from_dict(stored)


def finetune_model(table: pd.DataFrame, parent: Classifier, config: FineTuneConfig | None = None,
                   cache_dir=None, command: str = "", name: str | None = None,
                   ) -> Generator:
    """Adapt ``parent`` to the labelled local films of ``table`` (columns path, label, patient,
    sha256, as ``scan_labelled_folder`` makes them).

    Yields StatusMessage, DecodeProgress, DataReady, BatchDone / EpochDone per fit (``member`` is
    the fit: folds first, then the final fine-tune) and finally a TrainingFinished whose
    ``comparison`` is a ``LocalComparison``. Raises DatasetError for a folder that cannot adapt
    the parent. Closing the generator stops it at the next batch; nothing is written.
    """
    config = config or FineTuneConfig()
    config.validate()
    check_local_folder(table, parent)
    recipe = replace(parent_recipe(parent), seed=config.seed, bf16=config.bf16)
    started = time.perf_counter()
    classes = list(parent.classes)
    prep = parent.preprocessing
    normal_index = parent.normal_index

    yield StatusMessage("Decoding images…", STAGE_DECODE)
    decoded: DecodedImages = yield from _decode_with_progress(table["path"], replace(prep, equalise="none"),
                                                              cache_dir)
    table = table.loc[decoded.ok].reset_index(drop=True)
    check_local_folder(table, parent)  # again: unreadable files may have taken a class below the minimum
    raw = torch.from_numpy(decoded.images[decoded.ok])
    equalised = equalise_batch(raw, prep.equalise)
    labels = torch.tensor([classes.index(v) for v in table["label"]], dtype=torch.long)
    counts = class_counts(table)
    n = len(table)
    cross_fit = n < config.hold_out_from
    if cross_fit:
        folds = grouped_folds(table, config.folds, config.seed)
        fits = [(np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in range(config.folds)]
        fits.append((np.arange(n), np.zeros(0, dtype=np.int64)))
        how = (f"cross-fitted: {config.folds} fine-tunes, each on all but one of {config.folds} patient-grouped "
               f"folds, predicted the fold they left out; temperature and threshold come from those {n} "
               f"out-of-fold predictions, and the saved model is a last fine-tune on all {n} films")
        train_counts, val_counts = counts, counts
    else:
        split = grouped_split(table, config.val_fraction, config.seed)
        is_val = (split["split"] == "val").to_numpy()
        fits = [(np.flatnonzero(~is_val), np.flatnonzero(is_val))]
        how = (f"held out: a patient-grouped validation part of {int(is_val.sum())} films, not fine-tuned on, "
               "gives the temperature, the threshold and the comparison")
        train_counts, val_counts = class_counts(split[~is_val]), class_counts(split[is_val])
    yield DataReady(len(fits[-1][0]), n if cross_fit else len(fits[0][1]), train_counts, val_counts,
                    decoded.errors, time.perf_counter() - started)
    yield StatusMessage(f"Adapting {parent.name} to {n} local films; {how}.", STAGE_FOLD)

    # Each class weighs the same in the loss, whatever the local balance.
    class_counts_t = torch.bincount(labels, minlength=len(classes)).to(torch.float32)
    class_weights = class_counts_t.sum() / (len(classes) * class_counts_t.clamp(min=1))
    held_logits = np.zeros((n, len(classes)), dtype=np.float32)
    history: list[dict] = []
    clock = _Clock(started, sum(_steps(len(tr), config) for tr, _ in fits) * config.epochs * len(parent.members))
    final_members: list[ChestCNN] = []
    for fit_index, (train_rows, held_rows) in enumerate(fits):
        if len(fits) > 1:
            what = (f"fold {fit_index + 1} of {config.folds}" if fit_index < config.folds
                    else f"the final model on all {n} films")
            yield StatusMessage(f"Fine-tuning {what}…", STAGE_FOLD, step=fit_index + 1, steps=len(fits))
        members = yield from _fit(parent, raw, labels, equalised, train_rows, held_rows, recipe, config,
                                  class_weights, fit_index, clock, history)
        if len(held_rows):
            fitted = Classifier(members, copy.deepcopy(parent.metadata))
            held_logits[held_rows] = _batched(fitted.raw_logits, equalised[held_rows].numpy())
        final_members = members

    yield StatusMessage("Calibrating on the held-out local films…", STAGE_CALIBRATE)
    held = np.arange(n) if cross_fit else fits[0][1]
    y = labels.numpy()[held]
    temperature = fit_temperature(held_logits[held], y)
    probs = _softmax(held_logits[held] / temperature)
    prob_abnormal = 1.0 - probs[:, normal_index]
    threshold = choose_threshold(y != normal_index, prob_abnormal, recipe.min_sensitivity)
    metadata = _adapted_metadata(parent, name, temperature, threshold, recipe)
    classifier = Classifier(final_members, metadata, detector=parent.detector)
    adapted_pred = classifier.decide(probs)
    adapted_report = evaluate_arrays(y, adapted_pred, prob_abnormal, classes, threshold, normal_index,
                                     n_bootstrap=200, seed=config.seed)
    parent_probs = _softmax(_batched(parent.raw_logits, equalised[held].numpy()) / parent.temperature)
    parent_pred = parent.decide(parent_probs)
    parent_prob = 1.0 - parent_probs[:, normal_index]
    parent_report = evaluate_arrays(y, parent_pred, parent_prob, classes, parent.threshold, normal_index,
                                    n_bootstrap=200, seed=config.seed)
    comparison = LocalComparison(how, classes, table["path"].iloc[held].tolist(), y, prob_abnormal, adapted_pred,
                                 parent_prob, parent_pred, adapted_report, parent_report)

    yield StatusMessage("Fitting the unfamiliar-image gate to the local films…", STAGE_GATE)
    gate_tensors, gate_meta = _fit_local_gate(classifier, equalised, recipe, config.seed)
    classifier.gate_tensors = gate_tensors
    seconds = time.perf_counter() - started
    metadata["gate"] = gate_meta
    metadata["validation_metrics"] = {k: v for k, v in adapted_report.items() if k != "roc"}
    metadata["lineage"] = {
        "parent": {"name": parent.name, "version": parent.version, "created": parent.metadata.get("created"),
                   "app_version": parent.metadata.get("app_version")},
        "local_counts": counts,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "method": (f"every layer fine-tuned from the parent's weights for {config.epochs} epochs "
                   f"(peak learning rate {config.learning_rate:g}, batch {config.batch_size}, the parent's augmentation)"),
        "calibration": how,
        "comparison": {"how": how,
                       "parent": {k: parent_report.get(k) for k in COMPARISON_KEYS},
                       "adapted": {k: adapted_report.get(k) for k in COMPARISON_KEYS}},
    }
    metadata["training"] = {
        "command": command,
        "config": recipe.to_dict(),
        "finetune": config.to_dict(),
        "seed": config.seed,
        "seconds": round(seconds, 1),
        "torch_threads": torch.get_num_threads(),
        "data": {"train_counts": train_counts, "val_counts": val_counts, "n_unreadable": len(decoded.errors),
                 "manifest_sha256": manifest_sha256(table),
                 "split": "patient-grouped folds (cross-fitting)" if cross_fit else "patient-grouped, stratified"},
        "best_epochs": [[config.epochs] for _ in final_members],
        "history": history,
    }
    yield TrainingFinished(classifier, history, metadata["validation_metrics"], seconds, comparison)


# ----- internals ----------------------------------------------------------------------------------
def _steps(n_train: int, config: FineTuneConfig) -> int:
    """Updates per epoch: every film once, and at least ``min_steps_per_epoch`` (films cycled)."""
    return max(config.min_steps_per_epoch, math.ceil(n_train / config.batch_size))


@dataclass
class _Clock:
    """Elapsed time and ETA across every fit and member of one run."""

    started: float
    total_steps: int
    done: int = 0
    fit_started: float = 0.0

    def tick(self) -> tuple[float, float]:
        self.done += 1
        elapsed = time.perf_counter() - self.started
        rate = (time.perf_counter() - self.fit_started) / max(1, self.done)
        return elapsed, rate * max(0, self.total_steps - self.done)


def _fit(parent: Classifier, raw: torch.Tensor, labels: torch.Tensor, equalised: torch.Tensor,
         train_rows: np.ndarray, held_rows: np.ndarray, recipe: TrainingConfig, config: FineTuneConfig,
         class_weights: torch.Tensor, fit_index: int, clock: _Clock, history: list[dict]) -> Generator:
    """Fine-tune a copy of every parent member on ``train_rows``; yields BatchDone / EpochDone and
    returns the members (eval mode). ``held_rows`` (may be empty) give the epoch's validation line."""
    if not clock.fit_started:
        clock.fit_started = time.perf_counter()
    prep = parent.preprocessing
    classes = parent.classes
    normal = classes[parent.normal_index]
    train_idx = torch.from_numpy(train_rows)
    steps = _steps(len(train_rows), config)
    total = steps * config.epochs
    warmup = steps  # one epoch
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16)
    val_x, val_y = equalised[torch.from_numpy(held_rows)], labels[torch.from_numpy(held_rows)]
    members = []
    for member_index, parent_member in enumerate(parent.members):
        seed = config.seed + 1000 * member_index + 100 * fit_index
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        model = copy.deepcopy(parent_member).to(memory_format=torch.channels_last)
        optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
        for epoch in range(config.epochs):
            model.train()
            rounds = math.ceil(steps * config.batch_size / len(train_idx))
            order = torch.cat([train_idx[torch.randperm(len(train_idx), generator=gen)] for _ in range(rounds)])
            batches = [order[b * config.batch_size:(b + 1) * config.batch_size] for b in range(steps)]
            epoch_run = run_epoch(
                model, optimiser, batches, labels, lambda idx: training_input(raw[idx], recipe, prep, gen),
                lambda b: _lr_at(epoch * steps + b, total, warmup, config.learning_rate),
                class_weights, recipe.label_smoothing, autocast)

            def batch_done(update: tuple[int, float, float]) -> BatchDone:
                b, loss_value, lr = update
                return BatchDone(fit_index, epoch + 1, b, steps, loss_value, lr, *clock.tick())

            train_loss, train_accuracy, lr = yield from relay(epoch_run, batch_done)
            if len(held_rows):
                val_loss, val_acc, val_auc = _validate(model, val_x, val_y, class_weights, prep, classes, normal,
                                                       config.bf16)
            else:  # the final fine-tune of cross-fitting has no films left out
                val_loss, val_acc, val_auc = math.nan, math.nan, None
            record = dict(member=fit_index, epoch=epoch + 1, train_loss=train_loss, train_accuracy=train_accuracy,
                          val_loss=val_loss, val_accuracy=val_acc, val_auc=val_auc, learning_rate=lr)
            if member_index == 0:
                history.append(record)
            elapsed, eta = time.perf_counter() - clock.started, 0.0
            yield EpochDone(fit_index, epoch + 1, config.epochs, record["train_loss"], record["train_accuracy"],
                            val_loss, val_acc, val_auc, lr, elapsed, eta, False)
        members.append(model.eval())
    return members


def _adapted_metadata(parent: Classifier, name: str | None, temperature: float, threshold: float,
                      recipe: TrainingConfig) -> dict:
    """The parent's metadata with what adapting changes; the figures measured on the parent's own
    data (validation, stress, test) are dropped, as they do not describe the new weights."""
    metadata = copy.deepcopy(parent.metadata)
    for key in ("validation_shifted_metrics", "validation_stress_metrics", "test_metrics", "lineage"):
        metadata.pop(key, None)
    metadata.update(
        name=name or f"{parent.name}-adapted",
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        app_version=__version__,
        temperature=float(temperature),
        threshold=float(threshold),
        threshold_rule=(f"highest threshold with local sensitivity >= {recipe.min_sensitivity:.2f} on held-out "
                        "local films (best specificity under that constraint)"),
        test_metrics=None,
    )
    return metadata


def _fit_local_gate(classifier: Classifier, equalised: torch.Tensor, recipe: TrainingConfig,
                    seed: int) -> tuple[dict[str, torch.Tensor], dict]:
    """The feature-distance gate for the adapted weights: mean and covariance of the features of
    the local films and three augmented copies of each; the cut-off from two further copies.
    Augmented copies give the covariance more rows than features, and widen the cut-off to the
    spread of real acquisition changes rather than the few films themselves."""
    gen = torch.Generator().manual_seed(30_000 + seed)

    def copies(k: int) -> np.ndarray:
        out = [torch.round(augment_batch(equalised, recipe.augmentation, gen) * 255.0).to(torch.uint8)
               for _ in range(k)]
        return torch.cat(out).numpy()

    fit_u8 = np.concatenate([equalised.numpy(), copies(3)])
    fit_features = _batched(lambda u8: classifier.raw_logits_and_features(u8)[1], fit_u8)
    val_features = _batched(lambda u8: classifier.raw_logits_and_features(u8)[1], copies(2))
    # Stronger shrinkage when there are few rows for the feature count (a near-singular covariance
    # would make every new film look far away).
    shrinkage = float(min(0.5, max(0.1, fit_features.shape[1] / len(fit_features))))
    tensors, meta = fit_feature_gate(fit_features, val_features, shrinkage=shrinkage)
    meta["shrinkage"] = shrinkage
    meta["fitted_on"] = "local films and augmented copies (adapted model)"
    return tensors, meta
