"""The training wizard's "Start from" choice: adapting the model in use to a folder's films.

The choice is offered (and the default) for a folder whose classes are the active model's, and
disabled with the reason for a folder that is too small, has other classes, or when no model is
in use. Choosing it runs ``core.finetune`` end to end on a tiny synthetic folder (one epoch per
fit), shows its folds, and puts the adapted model beside its parent on the held-out films.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from gui_test_utils import synthetic_xray, write_png
from PySide6.QtWidgets import QWizard

from pneumo_desktop.core.classifier import Classifier
from pneumo_desktop.core.finetune import STAGE_FOLD, FineTuneConfig
from pneumo_desktop.core.training import StatusMessage, TrainingConfig
from pneumo_desktop.gui.training_curves_canvas import TrainingCurvesCanvas
from pneumo_desktop.gui.training_wizard import PAGE_ADOPT, PAGE_EVALUATION, PAGE_SETTINGS, TrainingWizard
from pneumo_desktop.gui.wizard_jobs import estimate_finetune_seconds, estimate_training_seconds, finetune_plan
from pneumo_desktop.paths import user_models_dir

# The from-scratch recipe (not used when adapting) and a one-epoch fine-tune: six fits of eight
# steps of a tiny network take a few seconds on two busy cores.
TINY = TrainingConfig(epochs=2, batch_size=8, learning_rate=1e-2, input_size=64, widths=(8, 16, 16, 16),
                      augment=False, warmup_epochs=0, bf16=False, min_sensitivity=0.9, val_fraction=0.2,
                      detector_epochs=1)
ONE_EPOCH = FineTuneConfig(epochs=1, bf16=False)
PER_CLASS = 22


def _write(folder: Path, label: str, pneumonia: bool, n: int, seed0: int) -> None:
    for i in range(n):
        write_png(folder / label / f"{label.lower()}_{i:02d}.png", synthetic_xray(seed0 + i, pneumonia))


@pytest.fixture(scope="module")
def local_folder(tmp_path_factory) -> Path:
    """NORMAL 22 and PNEUMONIA 22 synthetic films, none of them the tiny model's own."""
    root = tmp_path_factory.mktemp("local-films") / "site"
    _write(root, "NORMAL", False, PER_CLASS, 5000)
    _write(root, "PNEUMONIA", True, PER_CLASS, 6000)
    return root


def _open(qtbot, active: Classifier | None, finetune: FineTuneConfig = ONE_EPOCH) -> TrainingWizard:
    w = TrainingWizard(active, None, base_config=TINY, n_bootstrap=40, base_finetune=finetune)
    w.ask_before_discard = False
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    return w


@pytest.fixture
def parent(tiny_model_path) -> Classifier:
    return Classifier.load(tiny_model_path)


@pytest.fixture
def wizard(qtbot, parent):
    w = _open(qtbot, parent)
    yield w
    w.stop_workers()
    assert not w.threads_running()


def _to_settings(qtbot, w: TrainingWizard, folder: Path) -> None:
    with qtbot.waitSignal(w.data_page.scan_finished, timeout=30000):
        w.data_page.set_folder(folder)
    assert w.data_page.isComplete(), w.data_page.error_label.text()
    w.next()
    assert w.currentId() == PAGE_SETTINGS


# ----- the estimate, without Qt ------------------------------------------------------------------
def test_finetune_estimate_follows_the_fits_steps_and_networks():
    config = FineTuneConfig(bf16=False)
    # 100 films: cross-fitting, 5 folds of 80 films and a final fit on 100, at least 8 steps each.
    plan = finetune_plan(100, config)
    assert plan.cross_fit and plan.fits == 6 and plan.train_sizes == [80] * 5 + [100] and plan.n_held_out == 100
    assert estimate_finetune_seconds(100, config, include_one_off=False) == pytest.approx(0.13 * 6 * 8 * 10)
    # 200 films: folds of 160 films (10 steps), the final fit 13 steps.
    assert estimate_finetune_seconds(200, config, include_one_off=False) == pytest.approx(0.13 * (5 * 10 + 13) * 10)
    # 500 films: one fit on 400, 100 held out.
    plan = finetune_plan(500, config)
    assert not plan.cross_fit and plan.fits == 1 and plan.n_held_out == 100
    assert estimate_finetune_seconds(500, config, include_one_off=False) == pytest.approx(0.13 * 25 * 10)
    # Three networks take three times as long; reading the films and the finish come on top.
    assert estimate_finetune_seconds(500, config, members=3, include_one_off=False) == pytest.approx(
        3 * 0.13 * 25 * 10)
    assert estimate_finetune_seconds(200, config) > estimate_finetune_seconds(200, config, include_one_off=False)
    # A wider network or a larger image costs more per step.
    assert estimate_finetune_seconds(200, config, 150, (32, 64, 128, 128), include_one_off=False) > \
        estimate_finetune_seconds(200, config, include_one_off=False)


# ----- the choice ----------------------------------------------------------------------------------
def test_adapting_is_offered_and_the_default_for_a_matching_folder(qtbot, wizard, local_folder, parent):
    _to_settings(qtbot, wizard, local_folder)
    page = wizard.settings_page
    assert page.adapt_radio.isEnabled() and page.adapt_radio.isChecked()
    assert parent.name in page.adapt_radio.text() and parent.version in page.adapt_radio.text()
    assert not page.adapt_reason.isVisible()
    # The from-scratch recipe does not apply: hidden; the fine-tune and its validation are described.
    assert not page.scratch_settings.isVisible() and page.adapt_box.isVisible()
    assert "1 epoch" in page.adapt_recipe_label.text()
    validation = page.validation_label.text()
    assert "fewer than 400 films" in validation and "5-fold cross-validation" in validation
    assert "44 films" in validation
    # The estimate is the fine-tune's, and says it is an estimate.
    size, widths = parent.preprocessing.input_size, tuple(parent.metadata["architecture"]["widths"])
    assert page.estimate_seconds() == pytest.approx(estimate_finetune_seconds(2 * PER_CLASS, ONE_EPOCH, size, widths))
    note = page.estimate_note.text()
    assert "estimate" in note.lower() and "6 fine-tunes" in note and "× 1 epoch" in note
    assert "held out from the fine-tune" in page.test_label.text()

    # Choosing "from scratch" brings back its settings and its estimate.
    page.scratch_radio.setChecked(True)
    assert page.scratch_settings.isVisible() and not page.adapt_box.isVisible()
    assert page.estimate_seconds() == pytest.approx(
        estimate_training_seconds(2 * PER_CLASS, page.epochs.value(), TINY.input_size, TINY.widths,
                                  detector_epochs=TINY.detector_epochs))
    assert "per image per epoch" in page.estimate_note.text()
    wizard.next()
    assert wizard.finetune_config is None and not wizard.adapting()
    wizard.training_page.stop_training(quiet=True)


def test_adapting_is_disabled_with_the_minimum_named_for_a_small_folder(qtbot, wizard, tmp_path):
    small = tmp_path / "small"
    _write(small, "NORMAL", False, 4, 7000)
    _write(small, "PNEUMONIA", True, 4, 7100)
    _to_settings(qtbot, wizard, small)
    page = wizard.settings_page
    assert not page.adapt_radio.isEnabled() and page.scratch_radio.isChecked()
    assert page.scratch_settings.isVisible() and not page.adapt_box.isVisible()
    reason = page.adapt_reason.text()
    assert page.adapt_reason.isVisible()
    assert "found 8" in reason and "at least 40 films" in reason and "at least 10 in each class" in reason


def test_adapting_is_disabled_when_the_classes_differ(qtbot, wizard, tmp_path):
    other = tmp_path / "other"
    _write(other, "NORMAL", False, 20, 7200)
    _write(other, "TUBERCULOSIS", True, 20, 7300)
    _to_settings(qtbot, wizard, other)
    page = wizard.settings_page
    assert not page.adapt_radio.isEnabled() and page.scratch_radio.isChecked()
    reason = page.adapt_reason.text()
    assert "differ" in reason and "TUBERCULOSIS" in reason and "NORMAL, PNEUMONIA" in reason


def test_adapting_is_disabled_without_a_model_in_use(qtbot, local_folder):
    w = _open(qtbot, None)
    try:
        _to_settings(qtbot, w, local_folder)
        page = w.settings_page
        assert not page.adapt_radio.isEnabled() and page.scratch_radio.isChecked()
        assert "no model in use" in page.adapt_reason.text().lower()
    finally:
        w.stop_workers()
        assert not w.threads_running()


def test_a_large_folder_starts_from_scratch_by_default(qtbot, wizard, local_folder, monkeypatch):
    import pneumo_desktop.gui.wizard_settings_page as settings_page

    monkeypatch.setattr(settings_page, "ADAPT_BY_DEFAULT_BELOW", 10)
    _to_settings(qtbot, wizard, local_folder)
    page = wizard.settings_page
    assert page.adapt_radio.isEnabled() and page.scratch_radio.isChecked()


# ----- running it ----------------------------------------------------------------------------------
def test_adapting_runs_the_finetune_and_compares_with_the_parent(qtbot, wizard, local_folder, parent):
    _to_settings(qtbot, wizard, local_folder)
    page = wizard.training_page
    events = []
    page._job.yielded.connect(events.append)
    with qtbot.waitSignal(page.training_ended, timeout=300000) as blocker:
        wizard.next()
    assert blocker.args == ["finished"], page.message.text() + page.details.toPlainText()
    assert wizard.adapting() and wizard.finetune_config == ONE_EPOCH
    finished = wizard.finished_training
    comparison = finished.comparison
    assert comparison is not None and finished.classifier.metadata["lineage"]["parent"]["name"] == parent.name

    # Fold progress, in the page's words.
    folds = [page._status_text(e) for e in events if isinstance(e, StatusMessage) and e.stage == STAGE_FOLD
             and e.step]
    assert folds == [f"Fine-tuning fold {i} of 5…" for i in range(1, 6)] + \
        ["Fine-tuning the final model on all films…"]
    assert "Cross-validation" in page.data_label.text()
    # One point per fit on the curves, in its band; the final fit has no validation point.
    series = page.curves.series()
    assert series["epoch"] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert all(math.isfinite(v) for v in series["val_loss"][:5]) and math.isnan(series["val_loss"][5])
    assert page.curves.sections == ["fold 1", "fold 2", "fold 3", "fold 4", "fold 5", "all films"]
    log = page.log.toPlainText().splitlines()
    assert len(log) == 6 and log[0].startswith("fold 1/5") and "no films held out" in log[-1]
    assert page.progress.value() == 1000
    assert "AUC" in page.message.text() and parent.name in page.message.text()

    # Evaluation: both models on the same held-out films, straight from the comparison.
    with qtbot.waitSignal(wizard.evaluation_page.evaluation_finished, timeout=30000):
        wizard.next()
    assert wizard.currentId() == PAGE_EVALUATION
    ev = wizard.evaluation_page
    assert ev.state == "finished" and ev.local_comparison and not ev.threads_running()
    assert ev.table.horizontalHeaderItem(0).text() == "Adapted model"
    assert ev.table.horizontalHeaderItem(2).text() == "Model in use"
    n = len(comparison.paths)
    assert n == 2 * PER_CLASS  # cross-validation: every film held out once
    assert ev.results["new"].report is comparison.adapted_report
    assert ev.results["active"].report is comparison.parent_report
    assert np.array_equal(ev.results["active"].prob_abnormal, comparison.parent_prob)
    rows = {ev.table.verticalHeaderItem(r).text(): r for r in range(ev.table.rowCount())}
    for report, col in ((comparison.adapted_report, 0), (comparison.parent_report, 2)):
        assert ev.table.item(rows["Images"], col).text() == str(n)
        assert ev.table.item(rows["Accuracy"], col).text() == f"{100 * report['accuracy']:.1f}%"
        for label in ("Accuracy", "Sensitivity (recall)", "Specificity"):
            assert ev.table.item(rows[label], col + 1).text().endswith("%"), label  # its 95% CI
        if report["auc"] is not None:
            assert ev.table.item(rows["ROC AUC"], col).text() == f"{report['auc']:.3f}"
            assert "–" in ev.table.item(rows["ROC AUC"], col + 1).text()
    assert set(ev.roc.curves) == {"new", "active"}
    assert ev.confusion.total() == n
    assert comparison.how in ev.source_label.text() and "cross-validation" in ev.source_label.text()
    assert parent.name in ev.compare_label.text()

    # The adopt page names the parent; the saved file carries the lineage, not the folder.
    wizard.next()
    assert wizard.currentId() == PAGE_ADOPT
    summary = wizard.adopt_page.summary_label.text()
    assert f"Adapted from {parent.name} (version {parent.version}" in summary
    assert f"on {2 * PER_CLASS} local films" in summary
    assert wizard.adopt_page.name_edit.text().startswith(f"{parent.name}-adapted-")
    wizard.adopt_page.name_edit.setText("site-adapted")
    with qtbot.waitSignal(wizard.model_adopted, timeout=10000):
        wizard.button(QWizard.WizardButton.FinishButton).click()
    saved = Classifier.load(user_models_dir() / "site-adapted.pneumo")
    assert saved.metadata["lineage"]["parent"]["version"] == parent.version
    assert str(local_folder) not in str(saved.metadata)


def test_stopping_the_finetune_writes_nothing_and_ends_the_thread(qtbot, parent, local_folder, tiny_model_path):
    existing = user_models_dir() / "existing.pneumo"
    shutil.copyfile(tiny_model_path, existing)
    before = existing.read_bytes()
    w = _open(qtbot, parent, FineTuneConfig(epochs=200, bf16=False))
    try:
        _to_settings(qtbot, w, local_folder)
        w.next()
        page = w.training_page
        qtbot.waitUntil(lambda: len(page.curves.series()["epoch"]) >= 1, timeout=120000)
        assert page.is_running() and page.threads_running()
        assert page.status_label.text().startswith("Fine-tuning fold 1 of 5")
        page.stop_button.click()
        assert page.state == "cancelled" and "Nothing was saved" in page.message.text()
        assert not w.threads_running() and w.finished_training is None
        assert not w.button(QWizard.WizardButton.NextButton).isEnabled()
    finally:
        w.stop_workers()
        assert not w.threads_running()
    assert existing.read_bytes() == before
    assert sorted(p.name for p in user_models_dir().iterdir()) == ["existing.pneumo"]


def test_curves_take_a_final_fit_without_validation(qtbot):
    canvas = TrainingCurvesCanvas()
    qtbot.addWidget(canvas)
    canvas.reset(4)
    canvas.set_sections(2, ["fold 1", "all films"])
    canvas.add_epoch(1, 0.7, 0.6, 0.6, 0.7)
    canvas.add_epoch(2, 0.5, 0.5, 0.7, 0.75)
    canvas.add_epoch(3, 0.6, math.nan, 0.65, math.nan)
    canvas.add_epoch(4, 0.4, math.nan, 0.8, math.nan)
    canvas.draw()  # NaN validation values leave a gap, they do not break the drawing
    low, high = canvas.ax_loss.get_ylim()
    assert math.isfinite(low) and math.isfinite(high) and high >= 0.7
    assert all(math.isfinite(v) for v in canvas.ax_acc.get_ylim())
    assert [t.get_text() for t in canvas.figure.legends[0].get_texts()] == ["training", "held-out films"]
    # The two runs are not joined into one curve.
    x = list(canvas.train_loss_line.get_xdata())
    assert x[:2] == [1.0, 2.0] and math.isnan(x[2]) and x[3:] == [3.0, 4.0]
    assert canvas.series()["epoch"] == [1.0, 2.0, 3.0, 4.0]
    canvas.reset(4)
    assert canvas.sections == [] and len(canvas.figure.legends[0].get_texts()) == 3
