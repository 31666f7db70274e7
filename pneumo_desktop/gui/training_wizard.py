"""Model > Train new model…: a wizard that trains, evaluates and (on request) keeps a new model.

Pages, one per file (``wizard_data_page.py`` … ``wizard_adopt_page.py``): 1 data folder, 2
settings (start from the model in use, adapting it to the folder's films, or from scratch), 3
training with live curves, 4 evaluation against the active model, 5 name and save. Training and evaluation run on worker
threads; the training writes nothing, so stopping it or closing the wizard leaves every model
file as it was. The only write is ``Classifier.save`` into the user's models folder when the
person presses *Save model* on the last page, after which ``model_adopted(path, make_active)``
is emitted.

``TrainingWizard(active_classifier, parent, base_config=None)``: ``base_config`` supplies the
defaults of the settings page and every setting the page does not show (input size, widths…).
Without one, the wizard starts from the ``default`` recipe (``core.recipes.DEFAULT``), the
shipped default model's; tests pass a tiny network here. ``base_finetune`` is the schedule used
when the person chooses to adapt the active model (``core.finetune.FineTuneConfig()`` without one; tests pass a
one-epoch schedule).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QElapsedTimer, QSize, QThread, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget, QWizard

from ..core.finetune import FineTuneConfig
from ..core.recipes import DEFAULT
from ..core.training import TrainingConfig
from .wizard_adopt_page import AdoptPage
from .wizard_data_page import DataPage
from .wizard_evaluation_page import EvaluationPage
from .wizard_settings_page import SettingsPage
from .wizard_training_page import TrainingPage

PAGE_DATA, PAGE_SETTINGS, PAGE_TRAINING, PAGE_EVALUATION, PAGE_ADOPT = range(5)


class TrainingWizard(QWizard):
    """Train and evaluate a new model; emits ``model_adopted(path, make_active)`` on Save."""

    model_adopted = Signal(str, bool)

    def __init__(self, active_classifier=None, parent: QWidget | None = None,
                 base_config: TrainingConfig | None = None, n_bootstrap: int = 1000,
                 base_finetune: FineTuneConfig | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("Train a new model"))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.NoDefaultButton, True)
        self.setMinimumSize(QSize(960, 680))
        self.active_classifier = active_classifier
        self.base_config = base_config if base_config is not None else DEFAULT.config()
        self.base_finetune = base_finetune if base_finetune is not None else FineTuneConfig()
        self.n_bootstrap = int(n_bootstrap)
        # State filled in as the pages go.
        self.data_dir: str | None = None
        self.table = None            # the scanned folder (DataFrame)
        self.split_table = None      # the same with split = train / val
        self.config: TrainingConfig | None = None
        self.finetune_config: FineTuneConfig | None = None  # set when adapting the active model
        self.test_dir: str | None = None
        self.finished_training = None  # TrainingFinished
        self.saved_path: Path | None = None
        self.ask_before_discard = True

        self.data_page = DataPage(self)
        self.settings_page = SettingsPage(self)
        self.training_page = TrainingPage(self)
        self.evaluation_page = EvaluationPage(self)
        self.adopt_page = AdoptPage(self)
        for page_id, page in ((PAGE_DATA, self.data_page), (PAGE_SETTINGS, self.settings_page),
                              (PAGE_TRAINING, self.training_page), (PAGE_EVALUATION, self.evaluation_page),
                              (PAGE_ADOPT, self.adopt_page)):
            self.setPage(page_id, page)
        self.setStartId(PAGE_DATA)
        app = QCoreApplication.instance()
        if app is not None:  # quitting the application must never destroy a running worker thread
            app.aboutToQuit.connect(self.stop_workers)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(1200, 800)

    def adapting(self) -> bool:
        """True when the settings page chose to adapt the active model rather than train anew."""
        return self.finetune_config is not None and self.active_classifier is not None

    # ----- closing --------------------------------------------------------------------------
    @Slot()
    def stop_workers(self) -> bool:
        """Stop every background job and wait for its thread. True when all have ended."""
        ok = True
        for page in (self.data_page, self.training_page, self.evaluation_page):
            ok = page.stop() is not False and ok
        return ok

    def threads_running(self) -> bool:
        return self.training_page.threads_running() or self.evaluation_page.threads_running()

    def confirm_discard(self) -> bool:
        """Ask before throwing away a trained model that was not saved."""
        answer = QMessageBox.question(
            self, self.tr("Discard the new model?"),
            self.tr("The new model has not been saved. Close the wizard and discard it?"),
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Discard

    def reject(self) -> None:
        if (self.ask_before_discard and self.finished_training is not None and self.saved_path is None
                and self.isVisible()):
            if not self.confirm_discard():
                return
        self.stop_workers()
        super().reject()

    def done(self, result: int) -> None:
        self.stop_workers()
        super().done(result)


# ----- screenshots -----------------------------------------------------------------------------
def _wait_until(condition, timeout_s: float) -> bool:
    app = QApplication.instance()
    clock = QElapsedTimer()
    clock.start()
    while not condition():
        if clock.elapsed() > timeout_s * 1000:
            return False
        app.processEvents()
        QThread.msleep(20)
    app.processEvents()
    return True


def render_wizard_pages(outdir: str | Path, data_dir: str | Path, epochs: int = 1, active_classifier="default",
                        test_dir: str | Path | None = None, base_config: TrainingConfig | None = None,
                        size: tuple[int, int] = (1200, 800), timeout_s: float = 900, start_from: str = "scratch",
                        finetune: FineTuneConfig | None = None) -> list[Path]:
    """Open the wizard on ``data_dir``, run a real ``epochs``-epoch training, and save a PNG of
    each page (``wizard_1_data.png`` …) into ``outdir``. Returns the paths written.

    ``active_classifier``: a Classifier, None, or "default" to load the shipped model if present.
    ``start_from="adapt"`` adapts the active model instead (``finetune``: its schedule, the
    default one without) and names the pages ``wizard_2_settings_adapt.png``,
    ``wizard_3_training_adapt.png``, ``wizard_4_adapted.png`` and ``wizard_5_adopt_adapted.png``.
    """
    from ..core.classifier import Classifier
    from ..paths import DEFAULT_MODEL_PATH

    app = QApplication.instance() or QApplication([])
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    if isinstance(active_classifier, str):
        try:
            active_classifier = Classifier.load(DEFAULT_MODEL_PATH)
        except Exception:  # noqa: BLE001 - a screenshot without comparison is still useful
            active_classifier = None
    config = base_config if base_config is not None else DEFAULT.config()
    from dataclasses import replace

    config = replace(config, epochs=int(epochs))
    adapt = start_from == "adapt"
    wizard = TrainingWizard(active_classifier, None, base_config=config, n_bootstrap=300, base_finetune=finetune)
    names = {"settings": "wizard_2_settings.png", "running": "wizard_3_training_running.png",
             "training": "wizard_3_training.png", "evaluation": "wizard_4_evaluation.png",
             "adopt": "wizard_5_adopt.png"}
    if adapt:
        names = {"settings": "wizard_2_settings_adapt.png", "running": "wizard_3_training_adapt_running.png",
                 "training": "wizard_3_training_adapt.png", "evaluation": "wizard_4_adapted.png",
                 "adopt": "wizard_5_adopt_adapted.png"}
    wizard.resize(*size)
    wizard.show()
    written: list[Path] = []

    def shot(name: str) -> None:
        app.processEvents()
        for canvas in wizard.findChildren(QWidget):
            if hasattr(canvas, "draw") and hasattr(canvas, "figure"):
                canvas.draw()
        app.processEvents()
        path = outdir / name
        wizard.grab().save(str(path))
        written.append(path)

    try:
        wizard.data_page.set_folder(data_dir)
        if not _wait_until(lambda: not wizard.data_page.is_busy(), timeout_s):
            raise TimeoutError("scanning the data folder took too long")
        if not adapt:
            shot("wizard_1_data.png")
        if not wizard.data_page.isComplete():
            return written
        wizard.next()
        if adapt and not wizard.settings_page.adapt_radio.isEnabled():
            raise ValueError(wizard.settings_page.adapt_reason.text())
        (wizard.settings_page.adapt_radio if adapt else wizard.settings_page.scratch_radio).setChecked(True)
        if test_dir:
            wizard.settings_page.test_edit.setText(str(test_dir))
        shot(names["settings"])
        wizard.next()
        page = wizard.training_page
        # A mid-training shot once the first epoch has drawn, then the finished page.
        _wait_until(lambda: page.state != "running" or len(page.curves.series()["epoch"]) >= 1, timeout_s)
        if page.state == "running" and (adapt or config.epochs > 1):
            shot(names["running"])
        if not _wait_until(lambda: page.state != "running", timeout_s):
            raise TimeoutError("training took too long")
        shot(names["training"])
        if page.state != "finished":
            return written
        wizard.next()
        if not _wait_until(lambda: wizard.evaluation_page.state != "running", timeout_s):
            raise TimeoutError("evaluation took too long")
        shot(names["evaluation"])
        if not adapt:
            wizard.evaluation_page.curve_tabs.setCurrentIndex(1)
            shot("wizard_4_calibration.png")
            wizard.evaluation_page.curve_tabs.setCurrentIndex(2)
            shot("wizard_4_robustness.png")
            wizard.evaluation_page.curve_tabs.setCurrentIndex(0)
        wizard.next()
        shot(names["adopt"])
    finally:
        wizard.ask_before_discard = False
        wizard.stop_workers()
        wizard.close()
        wizard.deleteLater()
        app.processEvents()
    return written
