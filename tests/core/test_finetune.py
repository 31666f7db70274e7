"""Tests for pneumo_desktop.core.finetune: adapting a model to a site's few labelled films, and
``pneumo-desktop train DATA --init MODEL --out FILE``."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from pneumo_desktop.cli import EXIT_MODEL, EXIT_USAGE, main
from pneumo_desktop.core.classifier import Classifier
from pneumo_desktop.core.dataset import grouped_folds, scan_labelled_folder
from pneumo_desktop.core.errors import DatasetError
from pneumo_desktop.core.finetune import (
    MIN_FILMS, MIN_PER_CLASS, FineTuneConfig, LocalComparison, check_local_folder, finetune_model,
)
from pneumo_desktop.core.modelfile import read_model_file
from pneumo_desktop.core.provenance import find_paths
from pneumo_desktop.core.training import EpochDone, StatusMessage, TrainingFinished

# One short epoch per fit: the tests check the pipeline, the learning curve checks the gain.
QUICK = dict(epochs=1, min_steps_per_epoch=2, batch_size=8, bf16=False)


@pytest.fixture(scope="module")
def local_folder(tmp_path_factory, synth) -> Path:
    """A "local hospital": 24 films per class, other images than the tiny model's training set,
    under a folder named like a patient (it must never reach the model file)."""
    return synth.build_folder(tmp_path_factory.mktemp("site") / "Jane_Doe_1961", seed0=50_000)


@pytest.fixture(scope="module")
def adapted(local_folder, tiny_model):
    """Every event of a cross-fitted fine-tune of the tiny model on the local folder."""
    _, parent = tiny_model
    table = scan_labelled_folder(local_folder)
    return list(finetune_model(table, parent, FineTuneConfig(**QUICK), command="pytest", name="site"))


def test_cross_fitting_runs_five_folds_then_the_final_model(adapted):
    fits = [e for e in adapted if isinstance(e, StatusMessage) and e.stage == "fold" and e.steps]
    assert [(e.step, e.steps) for e in fits] == [(i, 6) for i in range(1, 7)]
    assert fits[-1].text.startswith("Fine-tuning the final model on all 48 films")
    epochs = [e for e in adapted if isinstance(e, EpochDone)]
    assert sorted({e.member for e in epochs}) == list(range(6))
    # The fold fits are checked on the fold they left out; the final fit has nothing left out.
    assert all(np.isfinite(e.val_loss) for e in epochs if e.member < 5)
    assert all(np.isnan(e.val_loss) and e.val_auc is None for e in epochs if e.member == 5)


def test_comparison_puts_parent_and_adapted_model_on_the_same_held_out_films(adapted, tiny_model):
    _, parent = tiny_model
    finished = adapted[-1]
    assert isinstance(finished, TrainingFinished)
    comparison = finished.comparison
    assert isinstance(comparison, LocalComparison)
    # Cross-fitting: every local film is held out once.
    assert len(comparison.paths) == 48 and len(set(comparison.paths)) == 48
    assert comparison.true_index.shape == comparison.adapted_prob.shape == comparison.parent_prob.shape == (48,)
    assert "cross-fitted" in comparison.how
    for report in (comparison.adapted_report, comparison.parent_report):
        assert report["n"] == 48 and 0.0 <= report["accuracy"] <= 1.0
    # The parent's figures are the parent's own predictions on those files, at its own threshold.
    parent_probs = parent.predict_batch(np.stack([parent.prepare(_pixels(p)) for p in comparison.paths]))[0]
    assert np.allclose(comparison.parent_prob, parent.prob_abnormal(parent_probs), atol=0.02)
    assert comparison.parent_report["threshold"] == pytest.approx(parent.threshold)


def _pixels(path: str) -> np.ndarray:
    from pneumo_desktop.core.imageio import read_image

    return read_image(path).pixels


def test_adapted_model_is_a_normal_model_file_with_lineage_and_no_path(adapted, tiny_model, tmp_path, local_folder):
    _, parent = tiny_model
    classifier = adapted[-1].classifier
    out = tmp_path / "adapted.pneumo"
    classifier.save(out)
    loaded = Classifier.load(out)
    tensors, meta = read_model_file(out)
    # Same architecture, preprocessing and views as the parent; new weights; the parent's detector.
    for key in ("architecture", "classes", "normal_class", "preprocessing", "tta_shifts"):
        assert meta[key] == parent.metadata[key]
    parent_tensors, _ = read_model_file(tiny_model[0])
    assert any(not torch.equal(tensors[k], parent_tensors[k]) for k in tensors if k.startswith("member0."))
    assert all(torch.equal(tensors[k], parent_tensors[k]) for k in parent_tensors if k.startswith("detector."))
    assert not torch.equal(tensors["gate.feature_mean"], parent_tensors["gate.feature_mean"])
    lineage = meta["lineage"]
    assert lineage["parent"]["name"] == parent.name and lineage["parent"]["version"] == parent.version
    assert lineage["local_counts"] == {"NORMAL": 24, "PNEUMONIA": 24}
    assert lineage["date"][:4].isdigit()
    for who in ("parent", "adapted"):
        figures = lineage["comparison"][who]
        assert figures["n"] == 48 and 0.0 <= figures["auc"] <= 1.0
        low, high = figures["ci"]["auc"]
        assert low <= figures["auc"] <= high
    assert meta["test_metrics"] is None and "validation_stress_metrics" not in meta
    assert 0.0 < loaded.threshold < 1.0 and loaded.temperature > 0
    # No path and no folder name anywhere in the file: not the site folder, not the temp dir.
    assert find_paths(meta) == []
    blob = out.read_bytes()
    assert local_folder.name.encode() not in blob and str(tmp_path).encode() not in blob


def test_a_folder_too_large_to_cross_fit_holds_out_a_validation_part(local_folder, tiny_model):
    _, parent = tiny_model
    table = scan_labelled_folder(local_folder)
    events = list(finetune_model(table, parent, FineTuneConfig(**QUICK, hold_out_from=40, val_fraction=0.25)))
    comparison = events[-1].comparison
    assert "held out" in comparison.how and 8 <= len(comparison.paths) <= 16
    assert not [e for e in events if isinstance(e, StatusMessage) and e.stage == "fold" and e.steps]


@pytest.mark.parametrize("per_class, fragment", [(4, f"at least {MIN_FILMS} films"), (8, f"{MIN_PER_CLASS} in each class")])
def test_too_few_films_name_the_minimum(tmp_path, synth, tiny_model, per_class, fragment):
    folder = synth.build_folder(tmp_path / "small", per_class=per_class)
    with pytest.raises(DatasetError, match=fragment):
        check_local_folder(scan_labelled_folder(folder), tiny_model[1])


def test_one_class_short_of_the_minimum(tmp_path, synth, tiny_model):
    folder = synth.build_folder(tmp_path / "lopsided", per_class=40)
    for path in sorted((folder / "NORMAL").iterdir())[MIN_PER_CLASS - 2:]:
        path.unlink()
    with pytest.raises(DatasetError, match=r"NORMAL 8.*at least 10 in each class"):
        check_local_folder(scan_labelled_folder(folder), tiny_model[1])


def test_other_classes_than_the_model_are_refused(tmp_path, local_folder, tiny_model):
    folder = shutil.copytree(local_folder, tmp_path / "covid")
    (folder / "PNEUMONIA").rename(folder / "COVID")
    with pytest.raises(DatasetError, match="differ from the model's"):
        check_local_folder(scan_labelled_folder(folder), tiny_model[1])


def test_closing_the_generator_stops_the_fine_tune(local_folder, tiny_model):
    steps = finetune_model(scan_labelled_folder(local_folder), tiny_model[1], FineTuneConfig(**QUICK))
    for event in steps:
        if isinstance(event, EpochDone):
            break
    steps.close()
    with pytest.raises(StopIteration):
        next(steps)


def test_grouped_folds_keep_patients_together_and_classes_in_every_fold(local_folder):
    table = scan_labelled_folder(local_folder)
    folds = grouped_folds(table, 5, seed=0)
    assert set(folds.tolist()) == set(range(5))
    for patient, group in table.groupby("patient"):
        assert len(set(folds[group.index])) == 1, patient
    for fold in range(5):
        assert set(table.loc[folds == fold, "label"]) == {"NORMAL", "PNEUMONIA"}
    with pytest.raises(DatasetError, match="every class in each of 30 folds"):
        grouped_folds(table, 30)


# ----- the command line -----------------------------------------------------------------------------
@pytest.fixture
def run(capsys):
    def _run(*argv):
        before = torch.get_num_threads()
        try:
            code = main([str(a) for a in argv])
        finally:
            torch.set_num_threads(before)
        out, err = capsys.readouterr()
        return code, out, err
    return _run


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_fine_tune_writes_a_model_with_lineage(run, local_folder, tiny_model_path, tmp_path):
    out = tmp_path / "site.pneumo"
    parent_digest = _digest(tiny_model_path)
    code, _, err = run("train", local_folder, "--init", tiny_model_path, "--out", out, "--epochs", "1",
                       "--batch-size", "8")
    assert code == 0, err
    assert "held-out local films (48)" in err and "parent" in err and "adapted" in err
    meta = Classifier.load(out).metadata
    assert meta["lineage"]["local_counts"] == {"NORMAL": 24, "PNEUMONIA": 24}
    assert meta["training"]["finetune"]["epochs"] == 1 and meta["training"]["finetune"]["batch_size"] == 8
    assert meta["training"]["command"] == "pneumo-desktop train DATA_DIR --init tiny.pneumo --out site.pneumo --epochs 1 --batch-size 8"
    assert find_paths(meta) == []
    assert _digest(tiny_model_path) == parent_digest, "the parent model must not be touched"


def _one_line(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_cli_fine_tune_bad_inputs_are_one_line_errors_and_touch_nothing(run, tmp_path, synth, local_folder,
                                                                         tiny_model_path):
    existing = tmp_path / "in_use.pneumo"
    shutil.copy(tiny_model_path, existing)
    before = _digest(existing)
    one_class = tmp_path / "one"
    synth.build_folder(tmp_path / "tmp_one", per_class=24)
    shutil.copytree(tmp_path / "tmp_one" / "NORMAL", one_class / "NORMAL")
    small = synth.build_folder(tmp_path / "small", per_class=12)
    not_a_model = tmp_path / "notes.pneumo"
    not_a_model.write_bytes(b"\x80\x04this is a pickle")
    other_classes = shutil.copytree(local_folder, tmp_path / "covid")
    (other_classes / "PNEUMONIA").rename(other_classes / "COVID")
    cases = [
        ((one_class, "--init", tiny_model_path), EXIT_USAGE, "class folder"),
        ((small, "--init", tiny_model_path), EXIT_USAGE, f"at least {MIN_FILMS} films"),
        ((local_folder, "--init", not_a_model), EXIT_MODEL, "--init: cannot load model"),
        ((local_folder, "--init", tmp_path / "missing.pneumo"), EXIT_MODEL, "not found"),
        ((other_classes, "--init", tiny_model_path), EXIT_USAGE, "differ from the model's"),
        ((local_folder, "--init", tiny_model_path, "--widths", "8,8,8,8"), EXIT_USAGE, "--widths cannot be used with --init"),
        ((local_folder, "--init", tiny_model_path, "--recipe", "ensemble"), EXIT_USAGE, "--recipe cannot be used with --init"),
        ((local_folder, "--init", tiny_model_path, "--config", "x.json"), EXIT_USAGE, "--config cannot be used with --init"),
        ((local_folder, "--init", tiny_model_path, "--set", "augmentation.haze_prob=0.5"), EXIT_USAGE,
         "--set augmentation.haze_prob cannot be used with --init"),
        ((local_folder, "--init", tiny_model_path, "--set", "epochs=zero"), EXIT_USAGE, "epochs must be a whole number"),
    ]
    for args, code, fragment in cases:
        got, _, err = run("train", *args, "--out", existing)
        assert got == code, (args, err)
        _one_line(err, fragment)
        assert _digest(existing) == before, "a refused fine-tune must leave the model on disk as it was"
    got, _, err = run("train", local_folder, "--init", existing, "--out", existing)
    assert got == EXIT_USAGE
    _one_line(err, "--out is the --init model itself")
    assert _digest(existing) == before


def test_cli_fine_tune_schedule_takes_set_and_options():
    """With --init, --set reaches the fine-tuning schedule's own settings; options come last."""
    from pneumo_desktop.cli import _finetune_config, build_parser
    from pneumo_desktop.core.finetune import FineTuneConfig

    args = build_parser().parse_args(["train", "d", "--init", "m.pneumo", "--out", "o.pneumo", "--set", "epochs=3",
                                      "--set", "learning_rate=0.001", "--set", "seed=4", "--lr", "0.002"])
    config = _finetune_config(args)
    assert (config.epochs, config.learning_rate, config.seed) == (3, 0.002, 4)
    plain = _finetune_config(build_parser().parse_args(["train", "d", "--init", "m.pneumo", "--out", "o.pneumo"]))
    assert plain == FineTuneConfig()


def test_cli_fine_tune_skips_unreadable_files_and_rechecks_the_minimum(run, tmp_path, synth, tiny_model_path):
    folder = synth.build_folder(tmp_path / "site", per_class=24)
    (folder / "NORMAL" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    (folder / "PNEUMONIA" / "notes.txt").write_text("not an image")
    out = tmp_path / "adapted.pneumo"
    code, _, err = run("train", folder, "--init", tiny_model_path, "--out", out, "--epochs", "1", "--batch-size", "8")
    assert code == 0, err
    assert "2 unreadable" in err and err.count("skipped:") == 2
    # Films that cannot be read do not count towards the minimum.
    thin = synth.build_folder(tmp_path / "thin", per_class=18)  # 36 films + 4 broken: 40 files, 36 readable
    for i in range(4):
        (thin / "NORMAL" / f"broken{i}.png").write_bytes(b"not a png")
    code, _, err = run("train", thin, "--init", tiny_model_path, "--out", tmp_path / "thin.pneumo")
    assert code == EXIT_USAGE and not (tmp_path / "thin.pneumo").exists()
    assert "at least 40 films" in err and "Traceback" not in err


def test_fine_tune_on_train_mini_adapts_the_shipped_default(shared_data, tmp_path):
    """The core fine-tune path on real films: 40 of train_mini, from the shipped default."""
    from pneumo_desktop.paths import DEFAULT_MODEL_PATH

    parent = Classifier.load(DEFAULT_MODEL_PATH)
    table = scan_labelled_folder(shared_data / "train_mini")
    table = table.groupby("label", group_keys=False).head(20).reset_index(drop=True)
    events = list(finetune_model(table, parent, FineTuneConfig(epochs=1, min_steps_per_epoch=2, bf16=False)))
    finished = events[-1]
    comparison = finished.comparison
    assert len(comparison.paths) == 40
    # The shipped default reads its own hospital's films well; the comparison says how well.
    assert comparison.parent_report["auc"] > 0.8
    assert comparison.adapted_report["auc"] is not None
    classifier = finished.classifier
    classifier.save(tmp_path / "mini.pneumo")
    meta = Classifier.load(tmp_path / "mini.pneumo").metadata
    assert meta["lineage"]["parent"]["name"] == parent.name
    assert meta["preprocessing"] == parent.metadata["preprocessing"] and find_paths(meta) == []
