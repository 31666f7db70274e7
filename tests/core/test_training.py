"""Tests for pneumo_desktop.core.training: the event generator, cancellation, determinism and the
model it produces. Runs on the synthetic folder of tests/core/conftest.py."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from pneumo_desktop.core.classifier import Classifier
from pneumo_desktop.core.dataset import manifest_sha256, scan_labelled_folder
from pneumo_desktop.core.errors import DatasetError
from pneumo_desktop.core.model_evaluation import run_evaluation
from pneumo_desktop.core.batch_transforms import AugmentConfig
from pneumo_desktop.core.training import (
    BatchDone,
    DataReady,
    DecodeProgress,
    EpochDone,
    STAGE_STRESS,
    StatusMessage,
    TrainingConfig,
    TrainingFinished,
    prepare_tables,
    train_model,
)


@pytest.fixture
def one_torch_thread():
    """Pin torch to one thread (bit-reproducible kernels) and restore the count afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ----- the event stream ----------------------------------------------------------------------
def test_events_come_in_order(tiny_training):
    events, finished = tiny_training
    config = finished.classifier.metadata["training"]["config"]
    decoding = [e for e in events if isinstance(e, DecodeProgress)]
    # Decode progress comes first, counts up to every file, and only before DataReady.
    assert decoding and decoding[-1].done == decoding[-1].total
    assert all(a.done < b.done for a, b in zip(decoding, decoding[1:]))
    first_ready = next(i for i, e in enumerate(events) if isinstance(e, DataReady))
    assert all(isinstance(e, (DecodeProgress, StatusMessage)) for e in events[:first_ready])
    kinds = [type(e) for e in events if not isinstance(e, (StatusMessage, DecodeProgress))]
    assert kinds[0] is DataReady
    assert kinds[-1] is TrainingFinished
    assert kinds.count(DataReady) == 1 and kinds.count(TrainingFinished) == 1

    # Every step after the epochs says which it is (the GUI words them from ``stage``).
    stages = [e.stage for e in events if isinstance(e, StatusMessage)]
    in_order = [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]]
    assert in_order == ["decode", "calibrate", "stress", "gate", "detector", "detector_check"]
    detector_epochs = [(e.step, e.steps) for e in events if isinstance(e, StatusMessage) and e.step]
    assert detector_epochs == [(k, config["detector_epochs"]) for k in range(1, config["detector_epochs"] + 1)]

    ready = next(e for e in events if isinstance(e, DataReady))
    n_batches = ready.n_train // config["batch_size"]
    expected = [DataReady]
    for _ in range(config["epochs"]):
        expected += [BatchDone] * n_batches + [EpochDone]
    expected.append(TrainingFinished)
    assert kinds == expected

    batches = [e for e in events if isinstance(e, BatchDone)]
    assert [(b.epoch, b.batch) for b in batches] == [
        (epoch, b) for epoch in range(1, config["epochs"] + 1) for b in range(1, n_batches + 1)
    ]
    assert all(b.n_batches == n_batches and b.member == 0 for b in batches)
    assert all(np.isfinite(b.loss) and b.loss > 0 and b.learning_rate > 0 for b in batches)
    assert batches[-1].eta_s == pytest.approx(0.0, abs=1e-9)
    assert all(later.elapsed_s >= earlier.elapsed_s for earlier, later in zip(batches, batches[1:]))

    epochs = [e for e in events if isinstance(e, EpochDone)]
    assert [e.epoch for e in epochs] == list(range(1, config["epochs"] + 1))
    assert epochs[0].is_best, "the first epoch is always the best so far"
    for e in epochs:
        assert e.epochs == config["epochs"]
        assert 0.0 <= e.train_accuracy <= 1.0 and 0.0 <= e.val_accuracy <= 1.0
        assert e.val_auc is None or 0.0 <= e.val_auc <= 1.0
        assert np.isfinite(e.val_loss)
    assert finished.history == [
        dict(member=e.member, epoch=e.epoch, train_loss=e.train_loss, train_accuracy=e.train_accuracy,
             val_loss=e.val_loss, val_accuracy=e.val_accuracy, val_auc=e.val_auc, learning_rate=e.learning_rate)
        for e in epochs
    ]


def test_data_ready_counts(tiny_training, synthetic_folder):
    events, finished = tiny_training
    ready = next(e for e in events if isinstance(e, DataReady))
    table = scan_labelled_folder(synthetic_folder)
    assert ready.n_train + ready.n_val == len(table)
    assert sum(ready.train_counts.values()) == ready.n_train
    assert sum(ready.val_counts.values()) == ready.n_val
    assert set(ready.train_counts) == set(ready.val_counts) == {"NORMAL", "PNEUMONIA"}
    assert ready.unreadable == {}
    assert ready.decode_seconds >= 0


def test_finished_classifier_and_metadata(tiny_training, synthetic_folder):
    _, finished = tiny_training
    clf = finished.classifier
    assert isinstance(clf, Classifier)
    assert 0.0 < clf.threshold < 1.0
    assert clf.temperature > 0
    assert clf.classes == ["NORMAL", "PNEUMONIA"] and clf.normal_index == 0
    assert set(clf.gate_tensors) == {"feature_mean", "feature_precision"}
    assert clf.gate_tensors["feature_precision"].shape == (16, 16)  # last width of (8, 16, 16, 16)
    meta = clf.metadata
    assert meta["gate"]["distance_threshold"] > 0
    assert meta["threshold"] == clf.threshold and meta["temperature"] == clf.temperature
    assert meta["architecture"] == {"type": "ChestCNN", "widths": [8, 16, 16, 16], "dropout": 0.3, "n_members": 1}
    assert meta["preprocessing"]["input_size"] == 64

    training = meta["training"]
    config = training["config"]
    expected_config = TrainingConfig(epochs=2, input_size=64, widths=(8, 16, 16, 16), batch_size=8,
                                     val_fraction=0.25, learning_rate=5e-3, bf16=False, detector_epochs=2).to_dict()
    assert config == expected_config
    assert training["command"] == "pytest" and training["seed"] == 0
    data = training["data"]
    assert sum(data["train_counts"].values()) + sum(data["val_counts"].values()) == 48
    assert data["n_unreadable"] == 0
    table = scan_labelled_folder(synthetic_folder)
    assert data["manifest_sha256"] == manifest_sha256(table)
    assert len(training["history"]) == 2 and training["best_epochs"][0][0] in (1, 2)

    vm = meta["validation_metrics"]
    assert vm == {k: v for k, v in finished.validation_metrics.items() if k != "roc"}
    for key in ("accuracy", "auc", "recall", "specificity", "n"):
        assert key in vm
    assert vm["n"] == sum(data["val_counts"].values())
    # The operating threshold was chosen for sensitivity on validation.
    assert vm["recall"] >= 0.95 or vm["recall"] is None
    assert meta["test_metrics"] is None
    # The acquisition-shifted view of the same validation images is recorded beside it.
    shifted = meta["validation_shifted_metrics"]
    assert shifted["n"] == vm["n"] and shifted["threshold"] == vm["threshold"]
    assert 0.0 <= shifted["accuracy"] <= 1.0 and "roc" not in shifted
    # So is the stress validation: every one-sided change, with its AUC and specificity.
    from pneumo_desktop.core.stress import STRESSES

    stress = meta["validation_stress_metrics"]
    assert set(stress["changes"]) == set(STRESSES)
    assert all(0.0 <= c["specificity"] <= 1.0 for c in stress["changes"].values())
    assert stress["mean_auc"] == pytest.approx(np.mean([c["auc"] for c in stress["changes"].values()]))


def test_tiny_model_learns_the_synthetic_task(tiny_classifier, synth, tmp_path):
    """Fresh images (other seeds) are told apart: the pipeline trains a working model."""
    folder = synth.build_folder(tmp_path / "fresh", per_class=12, seed0=70_000)
    result = run_evaluation(tiny_classifier, folder)
    report = result.report
    assert report["n"] == 24
    assert (result.pred_index >= 0).all(), "the gate refused images like the training images"
    assert report["auc"] >= 0.9, report
    assert report["accuracy"] >= 0.8, report


# ----- cancellation --------------------------------------------------------------------------
def test_closing_after_first_batch_stops_training(synthetic_folder, synth, tmp_path, monkeypatch):
    config = synth.tiny_config()
    table = prepare_tables(synthetic_folder, config)
    saved = []
    monkeypatch.setattr(Classifier, "save", lambda self, path: saved.append(path))
    threads_before = set(threading.enumerate())
    cache = tmp_path / "cache"
    gen = train_model(table, config, cache_dir=cache)
    seen = []
    for event in gen:
        seen.append(type(event))
        if isinstance(event, BatchDone):
            break
    gen.close()
    assert seen[-1] is BatchDone and seen.count(BatchDone) == 1
    assert EpochDone not in seen and TrainingFinished not in seen
    with pytest.raises(StopIteration):
        next(gen)
    assert saved == []
    # Nothing but the decode cache was written.
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p.parent == cache and p.name.startswith("decoded-") for p in written), written
    assert not list(Path(tmp_path).rglob("*.pneumo"))
    leaked = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
    assert leaked == []


def test_closing_before_data_ready_is_clean(synthetic_folder, synth):
    config = synth.tiny_config()
    gen = train_model(prepare_tables(synthetic_folder, config), config)
    assert isinstance(next(gen), StatusMessage)
    gen.close()
    with pytest.raises(StopIteration):
        next(gen)


# ----- determinism ---------------------------------------------------------------------------
def _first_epoch(table, config) -> list[float]:
    """Batch losses and the epoch summary of epoch 1; the generator is closed afterwards."""
    losses = []
    gen = train_model(table, config)
    try:
        for event in gen:
            if isinstance(event, BatchDone):
                losses.append(event.loss)
            elif isinstance(event, EpochDone):
                losses += [event.train_loss, event.val_loss, event.val_accuracy]
                break
    finally:
        gen.close()
    return losses


@pytest.mark.parametrize("options", [{"bf16": False}, {"bf16": True}, {"augment_after_equalise": True},
                                     {"mixup_alpha": 0.4},
                                     {"augmentation": AugmentConfig(haze_prob=0.5, raw_noise_std=0.04)},
                                     {"border_mask": 0.125},
                                     {"border_mask": 0.125, "augment_after_equalise": True}],
                         ids=["float32", "bf16", "augment-after-equalise", "mixup", "acquisition", "border-mask",
                              "border-mask-after-equalise"])
def test_same_seed_gives_identical_first_epoch(synthetic_folder, synth, one_torch_thread, options):
    config = synth.tiny_config(seed=3, **options)
    table = prepare_tables(synthetic_folder, config)
    first = _first_epoch(table, config)
    changes_input = {"mixup_alpha", "augmentation", "border_mask"}
    if options.keys() & changes_input:
        # The option changes what the network sees (on every training path): the same seed
        # without it, all else equal, trains differently.
        plain = synth.tiny_config(seed=3, **{k: v for k, v in options.items() if k not in changes_input})
        # Batch losses only (the last three values summarise the epoch on validation data).
        assert _first_epoch(table, plain)[:-3] != first[:-3], f"{options} had no effect on the training batches"
    second = _first_epoch(table, config)
    assert len(first) >= 4
    assert all(np.isfinite(first))
    assert first == second
    other_config = synth.tiny_config(seed=4, **options)
    other = _first_epoch(prepare_tables(synthetic_folder, other_config), other_config)
    assert other != first, "the seed has no effect"


# ----- other configurations ------------------------------------------------------------------
def test_three_class_subtype_training_with_an_unreadable_file(synthetic_folder, synth, tmp_path):
    """NORMAL / BACTERIA / VIRUS from file names; a broken file is reported and skipped; two
    snapshots make a two-member ensemble; test-time shifts are stored."""
    root = synth.copy_folder(synthetic_folder, tmp_path / "data")
    broken = root / "PNEUMONIA" / "person77_virus_1.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    config = synth.tiny_config(class_scheme="subtype", snapshots=2, tta_shifts=[(0, 0), (2, 0)])
    events, finished = synth.run_training(root, config)
    ready = next(e for e in events if isinstance(e, DataReady))
    assert list(ready.unreadable) == [str(broken)]
    assert "person77_virus_1.png" in ready.unreadable[str(broken)]
    clf = finished.classifier
    assert clf.classes == ["BACTERIA", "NORMAL", "VIRUS"]
    assert clf.metadata["normal_class"] == "NORMAL" and clf.normal_index == 1
    assert set(ready.train_counts) == set(ready.val_counts) == set(clf.classes)
    assert ready.n_train + ready.n_val == 48  # the broken file is not among them
    assert clf.metadata["training"]["data"]["n_unreadable"] == 1
    assert len(clf.members) == 2 and clf.metadata["architecture"]["n_members"] == 2
    assert clf.metadata["training"]["best_epochs"] == [[1, 2]]
    assert clf.tta_shifts == [(0, 0), (2, 0)]
    batch = np.stack([clf.prepare(synth.chest_image(s, s % 2 == 0).astype(np.float32) / 255.0) for s in range(4)])
    probs, feats = clf.predict_batch(batch)
    assert probs.shape == (4, 3) and np.allclose(probs.sum(1), 1.0)
    assert feats.shape == (4, 16)
    decisions = clf.decide(probs)
    assert set(decisions.tolist()) <= {0, 1, 2}
    assert np.all(decisions[clf.prob_abnormal(probs) < clf.threshold] == clf.normal_index)
    # It survives a save / load round trip.
    path = tmp_path / "subtype.pneumo"
    clf.save(path)
    assert np.allclose(Classifier.load(path).predict_batch(batch)[0], probs)


@pytest.mark.parametrize("change, message", [
    ({"epochs": 0}, "epochs"),
    ({"batch_size": 1}, "batch size"),
    ({"learning_rate": 0.0}, "learning rate"),
    ({"snapshots": 3, "epochs": 2}, "snapshots"),
    ({"members": 0}, "members"),
    ({"mixup_alpha": -0.1}, "mixup"),
    ({"border_mask": 0.4}, "hidden border"),
    ({"augmentation": AugmentConfig(scale_min=1.1)}, "zoom range"),
    ({"augmentation": AugmentConfig(scale_max=2.5)}, "zoom range"),
    ({"augmentation": AugmentConfig(shift_frac=0.5)}, "shifts"),
    ({"widths": (8, 16)}, "widths"),
    ({"input_size": 8}, "input size"),
    ({"val_fraction": 1.0}, "validation fraction"),
    ({"equalise": "fancy"}, "equalise"),
    ({"class_scheme": "organs"}, "class_scheme"),
    ({"tta_shifts": []}, "tta_shifts"),
])
def test_config_validation(synthetic_folder, change, message):
    config = TrainingConfig(**change)
    with pytest.raises(DatasetError, match=message):
        config.validate()
    table = scan_labelled_folder(synthetic_folder)
    with pytest.raises(DatasetError, match=message):
        next(train_model(table, config))


def test_prepare_tables_refuses_untrainable_folders(synthetic_folder, tmp_path):
    import shutil

    shutil.copytree(synthetic_folder / "NORMAL", tmp_path / "one" / "NORMAL")
    with pytest.raises(DatasetError, match="at least two"):
        prepare_tables(tmp_path / "one", TrainingConfig())
    (tmp_path / "one" / "PNEUMONIA").mkdir()
    shutil.copy(synthetic_folder / "PNEUMONIA" / "person1_bacteria_0.png", tmp_path / "one" / "PNEUMONIA")
    with pytest.raises(DatasetError, match="too few images"):
        prepare_tables(tmp_path / "one", TrainingConfig())


def test_closing_training_while_it_decodes_stops_the_decoding(synthetic_folder, synth, tmp_path, monkeypatch):
    """A cancel during the decode phase takes effect at the next progress event: the images not
    yet started are never decoded, and nothing is cached."""
    from pneumo_desktop.core import dataset
    from pneumo_desktop.core.training import DecodeProgress

    calls = []
    real_decode = dataset._decode_one

    def slow_decode(path, prep):
        calls.append(path)
        threading.Event().wait(0.01)
        return real_decode(path, prep)

    monkeypatch.setattr(dataset, "_decode_one", slow_decode)
    root = tmp_path / "big"
    for i in range(200):  # 400 files: enough that a cancel lands long before the end
        for label, pneumonia in (("NORMAL", False), ("PNEUMONIA", True)):
            name = f"IM-{i:04d}-0001.png" if label == "NORMAL" else f"person{i}_bacteria_{i}.png"
            synth.write_png(root / label / name, synth.chest_image(i, pneumonia, size=64))
    config = synth.tiny_config()
    table = prepare_tables(root, config)
    events = train_model(table, config, cache_dir=tmp_path / "cache")
    progress = None
    for event in events:
        if isinstance(event, DecodeProgress):
            progress = event
            break
    assert progress is not None and progress.done == 64 and progress.total == 400
    events.close()
    assert len(calls) < 200, f"{len(calls)} of 400 files were decoded after the cancel"
    assert not list((tmp_path / "cache").glob("*.npz"))


def test_the_default_recipe_is_the_shipped_default_models_recipe():
    """The wizard starts from the default recipe; it must be how default.pneumo was trained."""
    from pneumo_desktop import paths
    from pneumo_desktop.core.modelfile import read_model_header
    from pneumo_desktop.core.recipes import DEFAULT

    if not paths.DEFAULT_MODEL_PATH.is_file():
        pytest.skip("no shipped default model in this checkout")
    stored = read_model_header(paths.DEFAULT_MODEL_PATH)["training"]["config"]
    recipe = DEFAULT.config().to_dict()
    for key, value in stored.items():
        if key == "augmentation":
            # Fields added after the model was trained must sit at their neutral (off) values.
            for aug_key, aug_value in recipe["augmentation"].items():
                expected = value.get(aug_key, {"haze_prob": 0.0, "raw_noise_std": 0.0}.get(aug_key, aug_value))
                if isinstance(expected, list):
                    aug_value = list(aug_value)
                assert aug_value == expected, aug_key
        else:
            assert recipe[key] == value, key
    assert DEFAULT.config(epochs=3).epochs == 3 and DEFAULT.config().epochs == 15


def test_closing_training_during_the_stress_test_stops_it(synthetic_folder, synth, tiny_training):
    """The stress validation yields between changes, so a cancel there takes effect at once."""
    from pneumo_desktop.core.stress import STRESSES

    events, _ = tiny_training
    announced = [e for e in events if isinstance(e, StatusMessage) and e.stage == STAGE_STRESS]
    assert [e.detail for e in announced] == list(STRESSES)
    assert [e.text for e in announced] == [f"Stress-testing on the validation split: {name}…" for name in STRESSES]

    config = synth.tiny_config(epochs=1)
    gen = train_model(prepare_tables(synthetic_folder, config), config)
    stress_messages = []
    try:
        for event in gen:
            assert not isinstance(event, TrainingFinished), "training finished before the stress test"
            if isinstance(event, StatusMessage) and event.stage == STAGE_STRESS:
                stress_messages.append(event.text)
                if len(stress_messages) == 2:
                    break
    finally:
        gen.close()
    assert stress_messages[0].endswith(f"{next(iter(STRESSES))}…")
    with pytest.raises(StopIteration):
        next(gen)
