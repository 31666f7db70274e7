"""The training and evaluation wizard: data checks, estimate, a real tiny training run, the
evaluation page's plots and threshold slider, cancelling, and saving the new model."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QWizard

from pneumo_desktop.core.classifier import Classifier
from pneumo_desktop.core.metrics import sensitivity_specificity_at
from pneumo_desktop.core.training import TrainingConfig
from pneumo_desktop.gui.training_wizard import PAGE_ADOPT, PAGE_EVALUATION, PAGE_SETTINGS, PAGE_TRAINING, TrainingWizard
from pneumo_desktop.gui.wizard_jobs import estimate_training_seconds, sanitise_model_name
from pneumo_desktop.paths import user_models_dir
from pneumo_desktop.core.synthetic import synthetic_chest_image

# A network small enough to train in about a second on two busy cores.
TINY = TrainingConfig(epochs=2, batch_size=8, learning_rate=1e-2, input_size=64, widths=(8, 16, 16, 16),
                      augment=False, warmup_epochs=0, bf16=False, min_sensitivity=0.9, val_fraction=0.2,
                      detector_epochs=1)
PER_CLASS = 20


def _chest(seed: int, pneumonia: bool, size: int = 96) -> np.ndarray:
    image = synthetic_chest_image(size=size, seed=seed).astype(np.float32)
    if pneumonia:  # bright, blotchy opacities in the lower lung fields
        rng = np.random.default_rng(seed)
        y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
        for _ in range(2):
            cx, cy, r = rng.choice([0.32, 0.68]), rng.uniform(0.5, 0.7), rng.uniform(0.08, 0.12)
            image += 90.0 * np.exp(-(((x - cx) / r) ** 2 + ((y - cy) / r) ** 2))
    return np.clip(image, 0, 255).astype(np.uint8)


def _write_class(folder: Path, label: str, pneumonia: bool, n: int, seed0: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(_chest(seed0 + i, pneumonia)).save(folder / f"{label.lower()}_{i:02d}.png")


@pytest.fixture(scope="module")
def labelled_folder(tmp_path_factory) -> Path:
    """NORMAL 20 (+1 byte-identical copy) and PNEUMONIA 20 synthetic 96x96 PNGs."""
    root = tmp_path_factory.mktemp("wizard-data") / "train"
    _write_class(root / "NORMAL", "NORMAL", False, PER_CLASS, 100)
    _write_class(root / "PNEUMONIA", "PNEUMONIA", True, PER_CLASS, 300)
    shutil.copyfile(root / "NORMAL" / "normal_00.png", root / "NORMAL" / "copy_of_normal_00.png")
    return root


def _open_wizard(qtbot, active: Classifier | None) -> TrainingWizard:
    w = TrainingWizard(active, None, base_config=TINY, n_bootstrap=40)
    w.ask_before_discard = False
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    return w


@pytest.fixture
def wizard(qtbot):
    w = _open_wizard(qtbot, None)
    yield w
    w.stop_workers()
    assert not w.threads_running()


@pytest.fixture
def wizard_with_active(qtbot, tiny_model_path):
    w = _open_wizard(qtbot, Classifier.load(tiny_model_path))
    yield w
    w.stop_workers()
    assert not w.threads_running()


def _scan(qtbot, w: TrainingWizard, folder: Path) -> None:
    with qtbot.waitSignal(w.data_page.scan_finished, timeout=30000):
        w.data_page.set_folder(folder)


def _train(qtbot, w: TrainingWizard, folder: Path, epochs: int = 2) -> None:
    """Train from scratch (adapting the active model has its own tests: test_wizard_finetune.py)."""
    _scan(qtbot, w, folder)
    w.next()
    assert w.currentId() == PAGE_SETTINGS
    w.settings_page.scratch_radio.setChecked(True)
    w.settings_page.epochs.setValue(epochs)
    with qtbot.waitSignal(w.training_page.training_ended, timeout=120000) as blocker:
        w.next()
    assert blocker.args == ["finished"], w.training_page.message.text()


def _evaluate(qtbot, w: TrainingWizard) -> None:
    with qtbot.waitSignal(w.evaluation_page.evaluation_finished, timeout=120000):
        w.next()
    assert w.currentId() == PAGE_EVALUATION
    assert w.evaluation_page.state == "finished", w.evaluation_page.error_label.text()


# ----- helpers without Qt ------------------------------------------------------------------------
def test_model_names_are_sanitised():
    assert sanitise_model_name("Ward 7 model") == "Ward-7-model"
    assert sanitise_model_name("../../etc/passwd") == "etc_passwd"
    assert sanitise_model_name("a\\b:c*?.pneumo") == "a_b_c"
    assert sanitise_model_name("  ...  ") == ""
    assert sanitise_model_name("CON") == ""
    assert "/" not in sanitise_model_name("x/y") and "\\" not in sanitise_model_name("x\\y")


# ----- page 1 -------------------------------------------------------------------------------------
def test_data_page_rejects_a_one_class_folder(qtbot, wizard, tmp_path):
    only = tmp_path / "only_normal"
    _write_class(only / "NORMAL", "NORMAL", False, 3, 1)
    _scan(qtbot, wizard, only)
    page = wizard.data_page
    assert page.error_label.isVisible()
    assert "class folder" in page.error_label.text() and "at least two" in page.error_label.text()
    assert not page.isComplete()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    # A path that is not a folder is refused the same way.
    _scan(qtbot, wizard, tmp_path / "missing")
    assert "not a folder" in page.error_label.text()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()


def test_data_page_accepts_a_valid_folder_with_counts_gallery_and_duplicate_warning(qtbot, wizard, labelled_folder):
    _scan(qtbot, wizard, labelled_folder)
    page = wizard.data_page
    assert not page.error_label.isVisible()
    rows = {page.counts_table.item(r, 0).text(): page.counts_table.item(r, 1).text()
            for r in range(page.counts_table.rowCount())}
    assert rows == {"NORMAL": str(PER_CLASS + 1), "PNEUMONIA": str(PER_CLASS)}
    assert "1.1 : 1" in page.imbalance_label.text()
    warning = page.warning_label.text()
    assert page.warning_label.isVisible() and "byte-identical" in warning
    assert "normal_00.png" in warning
    assert set(page.sample_grids) == {"NORMAL", "PNEUMONIA"}
    assert all(grid.count() == 4 for grid in page.sample_grids.values())
    assert page.isComplete()
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()


def test_small_classes_are_warned_about(qtbot, wizard, tmp_path):
    root = tmp_path / "small"
    _write_class(root / "NORMAL", "NORMAL", False, 5, 1)
    _write_class(root / "PNEUMONIA", "PNEUMONIA", True, 6, 50)
    _scan(qtbot, wizard, root)
    text = wizard.data_page.warning_label.text()
    assert "NORMAL has only 5 images" in text and "PNEUMONIA has only 6 images" in text
    assert wizard.data_page.isComplete()  # usable, with a warning


# ----- page 2 -------------------------------------------------------------------------------------
def test_estimate_updates_with_epochs(qtbot, wizard, labelled_folder):
    _scan(qtbot, wizard, labelled_folder)
    wizard.next()
    page = wizard.settings_page
    assert page.epochs.value() == TINY.epochs
    page.epochs.setValue(10)
    ten = page.estimate_seconds()
    page.epochs.setValue(20)
    twenty = page.estimate_seconds()
    text_twenty = page.estimate_label.text()
    page.epochs.setValue(400)
    # Linear in the epochs (reading the images once is the constant part).
    assert page.estimate_seconds() - twenty == pytest.approx(38 * (twenty - ten))
    assert page.estimate_label.text() != text_twenty
    assert "estimate" in page.estimate_note.text().lower() and "400 epochs" in page.estimate_note.text()
    assert page.epochs.text() == "400 epochs"
    page.epochs.setValue(1)
    assert page.epochs.text() == "1 epoch" and "× 1 epoch at" in page.estimate_note.text()
    # The rule itself: ~0.01 s per image per epoch at 150 px, plus reading each image once.
    assert estimate_training_seconds(1000, 10, 150, include_one_off=False) == pytest.approx(100.0)
    assert estimate_training_seconds(1000, 20, 150, include_one_off=False) == pytest.approx(200.0)
    # The chest X-ray detector adds a fixed share: at least 24 steps of 64 images per epoch.
    detector_share = estimate_training_seconds(1000, 20, 150) - estimate_training_seconds(1000, 20, 150,
                                                                                         detector_epochs=0)
    assert detector_share == pytest.approx(0.0035 * 24 * 64 * 8)
    assert estimate_training_seconds(5000, 20, 150) - estimate_training_seconds(5000, 20, 150, detector_epochs=0) \
        == pytest.approx(0.0035 * 5000 * 8)
    # A test folder that is the training folder itself is refused.
    page.test_edit.setText(str(labelled_folder))
    assert not page.isComplete() and "separate" in page.test_label.text()
    page.test_edit.clear()
    assert page.isComplete()


# ----- pages 3 and 4 ------------------------------------------------------------------------------
def test_training_shows_curves_then_evaluation_with_confusion_matrix_and_slider(qtbot, wizard_with_active,
                                                                              labelled_folder):
    wizard = wizard_with_active
    _train(qtbot, wizard, labelled_folder, epochs=2)
    page = wizard.training_page
    assert wizard.currentId() == PAGE_TRAINING
    assert page.progress.value() == 1000
    for name, line in page.curves.lines().items():
        assert len(line.get_xdata()) == 2, name
        assert list(line.get_xdata()) == [1.0, 2.0]
    assert len(page.log.toPlainText().splitlines()) == 2
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()

    _evaluate(qtbot, wizard)
    ev = wizard.evaluation_page
    new = ev.results["new"]
    n_val = int((wizard.split_table["split"] == "val").sum())
    assert new.report["n"] == n_val
    # Every evaluated image is in the matrix, or counted as refused beside it.
    assert ev.confusion.total() + new.report["n_refused"] == n_val
    assert ev.confusion.matrix.shape == (2, 2)
    assert "new" in ev.roc.curves
    # The active model was evaluated on the same images, side by side.
    assert "active" in ev.results and ev.results["active"].report["n"] == n_val
    assert ev.table.item(2, 2).text() != ""  # active model's accuracy
    # Calibration of both models, from the same reports: the points are the non-empty bins.
    from pneumo_desktop.figures import reliability_points

    for which in ("new", "active"):
        report = ev.results[which].report
        mean_p, freq = ev.reliability.models[which]
        expected_p, expected_freq, counts = reliability_points(report["reliability"])
        assert np.allclose(mean_p, expected_p) and np.allclose(freq, expected_freq, equal_nan=True)
        assert counts.sum() == report["n"] - report["n_refused"]
    # Robustness: the new model's stress figures from its file, one bar per change.
    stress = wizard.finished_training.classifier.metadata["validation_stress_metrics"]
    assert ev.robustness.bars["new"] == {k: v["specificity"] for k, v in stress["changes"].items()}
    assert ev.table.item(2, 0).text().endswith("%")

    # Threshold slider: labels follow sensitivity_specificity_at exactly.
    truth = new.true_index != wizard.finished_training.classifier.normal_index
    seen = set()
    for value in (50, 300, 500, 700, 950):
        ev.slider.setValue(value)
        sens, spec = sensitivity_specificity_at(truth, new.prob_abnormal, value / 1000)
        assert ev.threshold_label.text().endswith(f"{value / 1000:.3f}")
        assert ev.sensitivity_label.text().endswith(f"{100 * sens:.1f}%")
        assert ev.specificity_label.text().endswith(f"{100 * spec:.1f}%")
        seen.add((ev.sensitivity_label.text(), ev.specificity_label.text()))
        assert ev.confusion.total() + new.report["n_refused"] == n_val
    assert len(seen) > 1, "moving the threshold should change sensitivity or specificity"
    ev.reset_threshold()
    assert ev.threshold() == pytest.approx(round(wizard.finished_training.classifier.threshold, 3))


def test_a_three_class_active_model_is_compared_in_the_new_models_two_classes(qtbot, tiny_model_path,
                                                                             labelled_folder):
    """An active NORMAL / BACTERIA / VIRUS model on NORMAL / PNEUMONIA validation images: its
    abnormal answers count as PNEUMONIA, and the page says so instead of failing."""
    import torch

    two = Classifier.load(tiny_model_path)
    tensors = two.tensors()
    for key in [k for k in tensors if k.startswith("member") and k.endswith((".head.weight", ".head.bias"))]:
        rows = tensors[key]  # NORMAL, PNEUMONIA -> BACTERIA, NORMAL, VIRUS (both copies of PNEUMONIA)
        tensors[key] = torch.stack([rows[1], rows[0], rows[1]])
    metadata = dict(two.metadata, classes=["BACTERIA", "NORMAL", "VIRUS"], normal_class="NORMAL")
    wizard = _open_wizard(qtbot, Classifier.from_parts(tensors, metadata))
    try:
        _train(qtbot, wizard, labelled_folder, epochs=1)
        _evaluate(qtbot, wizard)
        ev = wizard.evaluation_page
        assert ev.active_error is None
        active = ev.results["active"].report
        assert active["classes"] == ["NORMAL", "PNEUMONIA"] and active["n"] == ev.results["new"].report["n"]
        assert active["class_mapping"] == {"BACTERIA": "PNEUMONIA", "VIRUS": "PNEUMONIA"}
        assert "BACTERIA / VIRUS answers count as PNEUMONIA" in ev.compare_label.text()
        assert ev.table.item(2, 2).text().endswith("%")  # the active model's accuracy is shown
    finally:
        wizard.stop_workers()
        assert not wizard.threads_running()


def test_evaluation_on_a_test_folder_flags_leaks_and_says_when_there_is_no_active_model(
        qtbot, wizard, labelled_folder, tmp_path):
    test_dir = tmp_path / "test"
    _write_class(test_dir / "NORMAL", "NORMAL", False, 5, 700)
    _write_class(test_dir / "PNEUMONIA", "PNEUMONIA", True, 5, 800)
    shutil.copyfile(labelled_folder / "PNEUMONIA" / "pneumonia_03.png", test_dir / "PNEUMONIA" / "leaked.png")
    _scan(qtbot, wizard, labelled_folder)
    wizard.next()
    wizard.settings_page.epochs.setValue(1)
    wizard.settings_page.test_edit.setText(str(test_dir))
    assert wizard.settings_page.isComplete()
    with qtbot.waitSignal(wizard.training_page.training_ended, timeout=120000):
        wizard.next()
    _evaluate(qtbot, wizard)
    ev = wizard.evaluation_page
    assert ev.results["new"].report["n"] == 11
    assert ev.confusion.total() + ev.results["new"].report["n_refused"] == 11
    assert "test folder" in ev.source_label.text()
    assert "1 of the 11 test images are byte-identical" in ev.overlap_label.text()
    assert "no active model" in ev.compare_label.text().lower()
    assert "active" not in ev.results
    # The test metrics travel with the saved model.
    wizard.next()
    wizard.adopt_page.name_edit.setText("with-test")
    wizard.button(QWizard.WizardButton.FinishButton).click()
    saved = Classifier.load(user_models_dir() / "with-test.pneumo")
    assert saved.metadata["test_metrics"]["n"] == 11
    assert "data_dir" not in saved.metadata["test_metrics"]
    # No folder of this machine (test or training data) travels with it.
    stored = json.dumps(saved.metadata)
    assert str(test_dir) not in stored and str(labelled_folder) not in stored
    assert saved.metadata["training"]["command"] == "PneumoDesktop training wizard"


@pytest.mark.parametrize("how", ["stop_button", "close_wizard"])
def test_cancelling_training_leaves_models_untouched_and_stops_the_thread(qtbot, wizard, labelled_folder,
                                                                          tiny_model_path, how):
    existing = user_models_dir() / "existing.pneumo"
    shutil.copyfile(tiny_model_path, existing)
    before = existing.read_bytes()
    wizard.base_config = replace(TINY, epochs=300)
    _scan(qtbot, wizard, labelled_folder)
    wizard.next()
    wizard.settings_page.epochs.setValue(300)
    wizard.next()
    page = wizard.training_page
    qtbot.waitUntil(lambda: len(page.curves.series()["epoch"]) >= 1, timeout=60000)
    assert page.is_running() and page.threads_running()
    if how == "stop_button":
        page.stop_button.click()
        assert page.state == "cancelled"
        assert "Nothing was saved" in page.message.text()
        assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    else:
        wizard.reject()
        assert not wizard.isVisible()
    assert not wizard.threads_running()
    assert wizard.finished_training is None
    assert existing.read_bytes() == before
    assert sorted(p.name for p in user_models_dir().iterdir()) == ["existing.pneumo"]


# ----- page 5 -------------------------------------------------------------------------------------
def test_adopting_saves_into_the_user_models_folder_and_emits(qtbot, wizard, labelled_folder, monkeypatch):
    _train(qtbot, wizard, labelled_folder, epochs=1)
    _evaluate(qtbot, wizard)
    wizard.next()
    assert wizard.currentId() == PAGE_ADOPT
    page = wizard.adopt_page
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    page.name_edit.setText("   ")
    assert not page.isComplete() and not finish.isEnabled()
    page.name_edit.setText("ward 7/chest?")
    target = user_models_dir() / "ward-7_chest.pneumo"
    assert page.target_path() == target
    assert "replaced" in page.name_message.text()

    # An existing file of that name is only replaced after confirmation.
    target.write_bytes(b"an older model")
    page._update_target()
    assert "exists" in page.name_message.text()
    monkeypatch.setattr(page, "confirm_overwrite", lambda path: False)
    finish.click()
    assert target.read_bytes() == b"an older model"
    assert wizard.isVisible() and wizard.saved_path is None

    monkeypatch.setattr(page, "confirm_overwrite", lambda path: True)
    page.make_active.setChecked(True)
    with qtbot.waitSignal(wizard.model_adopted, timeout=10000) as blocker:
        finish.click()
    assert blocker.args == [str(target), True]
    assert not wizard.isVisible()
    saved = Classifier.load(target)
    assert saved.name == "ward-7_chest"
    assert saved.classes == ["NORMAL", "PNEUMONIA"]
    assert saved.version == wizard.finished_training.classifier.version


def test_a_training_error_is_shown_on_the_page_not_raised(qtbot, wizard, tmp_path):
    root = tmp_path / "broken"
    _write_class(root / "PNEUMONIA", "PNEUMONIA", True, 6, 40)
    (root / "NORMAL").mkdir()
    for i in range(4):
        (root / "NORMAL" / f"scan_{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes([i]) * 64)
    _scan(qtbot, wizard, root)
    assert wizard.data_page.sample_grids["NORMAL"].count() == 0  # unreadable samples are skipped
    wizard.next()
    with qtbot.waitSignal(wizard.training_page.training_ended, timeout=60000) as blocker:
        wizard.next()
    page = wizard.training_page
    assert blocker.args == ["failed"]
    assert page.message.isVisible() and "Training could not be completed" in page.message.text()
    assert "NORMAL" in page.message.text() or "class" in page.message.text()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert page.restart_button.isVisible()


@pytest.fixture
def synthetic_images_for_status():
    import torch

    return torch.as_tensor(np.stack([_chest(s, s % 2 == 1, size=64) for s in range(16)]))


def test_progress_lines_of_the_core_reach_the_person_translated(qtbot, wizard, synthetic_images_for_status):
    """Every progress step the core announces during stress testing and detector training is
    worded by the page (so it can be translated), with its values kept."""
    from pneumo_desktop.core.detector import train_detector
    from pneumo_desktop.core.generators import drive
    from pneumo_desktop.core.stress import STRESSES
    from pneumo_desktop.core.training import STAGE_DETECTOR, StatusMessage, detector_status, stress_status

    page = wizard.training_page
    steps = []
    drive(train_detector(synthetic_images_for_status, synthetic_images_for_status[:4], "hist", epochs=2, seed=0,
                         batch_size=16), steps.append)
    events = [StatusMessage("Training the chest X-ray detector…", STAGE_DETECTOR)]
    events += [detector_status(s) for s in steps] + [stress_status(change) for change in STRESSES]
    shown = [page._status_text(event) for event in events]
    assert all(s != event.text for s, event in zip(shown, events)), \
        [event.text for s, event in zip(shown, events) if s == event.text]
    assert "epoch 2 of 2" in shown[2] and "refuses images that are not chest X-rays" in shown[2]
    assert "zoomed in" in page._status_text(stress_status("zoom 1.2")).lower()
    # A step the page does not know is shown as the core words it, never dropped.
    assert page._status_text(StatusMessage("Something new…", "new-stage")) == "Something new…"

def test_wizard_training_records_the_recipe_it_started_from(labelled_folder):
    from dataclasses import replace

    from pneumo_desktop.core.dataset import scan_labelled_folder
    from pneumo_desktop.core.training import TrainingFinished
    from pneumo_desktop.gui.wizard_jobs import training_run

    events = list(training_run(scan_labelled_folder(labelled_folder), replace(TINY, epochs=1, detector_epochs=0)))
    finished = events[-1]
    assert isinstance(finished, TrainingFinished)
    assert finished.classifier.metadata["training"]["recipe"] == "default"
    assert finished.classifier.metadata["training"]["config"]["epochs"] == 1
