"""Wizard page 3: training on a worker thread, with live loss curves, progress, ETA and Stop.

Training from scratch runs ``wizard_jobs.training_run``; adapting the active model runs
``wizard_jobs.finetune_run`` (``core.finetune``), whose fits (cross-validation folds, then the
final model on all films) follow one another on the curves, each in its own band."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QElapsedTimer, QTimer, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget

from ..core.finetune import STAGE_FOLD
from ..core.training import (
    STAGE_CALIBRATE, STAGE_DECODE, STAGE_DETECTOR, STAGE_DETECTOR_CHECK, STAGE_GATE, STAGE_STRESS, BatchDone, DataReady,
    DecodeProgress, EpochDone, StatusMessage, TrainingConfig, TrainingFinished,
)
from ..paths import user_cache_dir
from .i18n import format_duration
from .latest_job import LatestJob
from .message_label import MessageLabel
from .stress_labels import stress_label
from .training_curves_canvas import TrainingCurvesCanvas
from .wizard_jobs import SplitReady, finetune_plan, finetune_run, training_run
from .wizard_page import WizardPage, num_text, pct_text


class TrainingPage(WizardPage):
    """Runs the training on a worker thread with live curves, progress, ETA and a Stop button."""

    training_ended = Signal(str)  # "finished", "cancelled" or "failed"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle(self.tr("Training"))
        self.setSubTitle(self.tr("Training runs in the background. Stopping it, or closing this window, "
                                 "leaves every saved model exactly as it was."))
        self.state = "idle"  # idle, running, finished, cancelled, failed
        self.finished: TrainingFinished | None = None
        self._job = LatestJob(self, "pneumo-training")
        self._job.yielded.connect(self._on_event)
        self._job.failed.connect(self._on_failed)
        self._job.done.connect(self._on_done)
        self._clock = QElapsedTimer()
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)
        self._eta: float | None = None
        # Adapting: the fits (folds, then the final model) and where the run is among them.
        self._adapting = False
        self._fits = 1
        self._cross_fit = False
        self._fit = -1
        self._fit_member = 0
        self._fit_batches = 0

        self.status_label = QLabel(self)
        font = QFont(self.status_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.status_label.setFont(font)
        self.status_label.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setFormat("%p%")
        self.elapsed_label = QLabel(self)
        self.eta_label = QLabel(self)
        self.batch_label = QLabel(self)
        self.stop_button = QPushButton(self.tr("Stop training"), self)
        self.stop_button.clicked.connect(self.stop_training)
        self.restart_button = QPushButton(self.tr("Train again"), self)
        self.restart_button.clicked.connect(self.start_training)
        self.restart_button.hide()
        times = QHBoxLayout()
        times.addWidget(self.elapsed_label)
        times.addSpacing(24)
        times.addWidget(self.eta_label)
        times.addSpacing(24)
        times.addWidget(self.batch_label, 1)
        times.addWidget(self.restart_button)
        times.addWidget(self.stop_button)
        self.data_label = QLabel(self)
        self.data_label.setWordWrap(True)
        self.message = MessageLabel(self)
        self.details = QPlainTextEdit(self)
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(120)
        self.details.hide()
        self.curves = TrainingCurvesCanvas(self)
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setMaximumHeight(84)
        self.log.setPlaceholderText(self.tr("One line per epoch appears here."))
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSizeF(self.log.font().pointSizeF() * 0.92)
        self.log.setFont(mono)

        layout = QVBoxLayout(self)
        layout.addWidget(self.status_label)
        layout.addWidget(self.progress)
        layout.addLayout(times)
        layout.addWidget(self.data_label)
        layout.addWidget(self.message)
        layout.addWidget(self.details)
        layout.addWidget(self.curves, 1)
        layout.addWidget(self.log)

    # ----- control --------------------------------------------------------------------------
    def initializePage(self) -> None:  # noqa: N802 - Qt API
        self.start_training()

    def cleanupPage(self) -> None:  # noqa: N802 - Qt API (Back pressed)
        self.stop_training(quiet=True)
        self.finished = None
        self.wiz().finished_training = None

    @Slot()
    def start_training(self) -> None:
        wizard = self.wiz()
        self._job.stop()
        self.finished = None
        wizard.finished_training = None
        wizard.split_table = None
        config: TrainingConfig = wizard.config
        self.state = "running"
        self._eta = None
        self._adapting = wizard.adapting()
        self.log.clear()
        self.message.clear_message()
        self.details.hide()
        self.data_label.clear()
        self.batch_label.clear()
        self.progress.setRange(0, 0)
        self.status_label.setText(self.tr("Preparing the images…"))
        self.stop_button.show()
        self.stop_button.setEnabled(True)
        self.restart_button.hide()
        self._clock.start()
        self._ticker.start()
        self._tick()
        table = wizard.table
        # No folder in the recorded command: the model file may be shared beyond this site.
        command = "PneumoDesktop training wizard"
        if self._adapting:
            parent = wizard.active_classifier
            finetune = wizard.finetune_config
            plan = finetune_plan(len(table), finetune)
            self._fits, self._cross_fit = plan.fits, plan.cross_fit
            self._fit, self._fit_member, self._fit_batches = -1, 0, 0
            self._reset_fit_curves()
            self.status_label.setText(self.tr("Preparing to adapt {name} to your films…").format(name=parent.name))
            self._job.start(lambda: finetune_run(table, parent, finetune, cache_dir=user_cache_dir(),
                                                 command=command + " (adapting the model in use)",
                                                 name=f"{parent.name}-adapted"))
        else:
            self.curves.reset(config.epochs * config.members)
            self._job.start(lambda: training_run(table, config, cache_dir=user_cache_dir(), command=command,
                                                 name="model"))
        self.completeChanged.emit()

    def _parent_members(self) -> int:
        parent = self.wiz().active_classifier
        return max(1, len(parent.members)) if parent is not None else 1

    def _reset_fit_curves(self) -> None:
        """Curves with one band per fit: the cross-validation folds, then the final model."""
        epochs = self.wiz().finetune_config.epochs
        per_fit = epochs * self._parent_members()
        self.curves.reset(per_fit * self._fits)
        if self._cross_fit and self._fits > 1:
            labels = [self.tr("fold {i}").format(i=i + 1) for i in range(self._fits - 1)] + [self.tr("all films")]
            self.curves.set_sections(per_fit, labels)

    @Slot()
    def stop_training(self, quiet: bool = False) -> None:
        """Cancel the run and wait for the worker; nothing is written either way."""
        if self.state != "running":
            self._job.stop()
            return
        self._job.stop()
        self._ticker.stop()
        self.state = "cancelled"
        self.progress.setRange(0, 1000)
        self.status_label.setText(self.tr("Training stopped."))
        self.stop_button.hide()
        self.restart_button.show()
        if not quiet:
            self.message.show_message("info", self.tr("Training was stopped. Nothing was saved and every "
                                                      "existing model is unchanged."))
        self.completeChanged.emit()
        self.training_ended.emit("cancelled")

    def is_running(self) -> bool:
        return self.state == "running"

    def threads_running(self) -> bool:
        return self._job.threads_running()

    def stop(self) -> bool:
        was_running = self.state == "running"
        ok = self._job.stop()
        self._ticker.stop()
        if was_running:
            self.state = "cancelled"
        return ok

    # ----- events ---------------------------------------------------------------------------
    @Slot()
    def _tick(self) -> None:
        if self.state == "running":
            self.elapsed_label.setText(self.tr("Elapsed: {t}").format(t=format_duration(self._clock.elapsed() / 1000)))
            eta = self.tr("estimating…") if self._eta is None else format_duration(self._eta)
            self.eta_label.setText(self.tr("Remaining: {t}").format(t=eta))

    @Slot(object)
    def _on_event(self, event: object) -> None:
        wizard = self.wiz()
        if isinstance(event, SplitReady):
            wizard.split_table = event.table
        elif isinstance(event, StatusMessage):
            if event.stage == STAGE_FOLD and event.steps and event.steps != self._fits:
                self._fits = event.steps  # unreadable files may have changed the plan
                self._cross_fit = event.steps > 1
                self._reset_fit_curves()
            self.status_label.setText(self._status_text(event))
        elif isinstance(event, DecodeProgress):
            self.status_label.setText(self.tr("Reading and preparing the images… {done} of {total}").format(
                done=f"{event.done:,}", total=f"{event.total:,}"))
            # The bar follows the reading too; DataReady resets it for the training batches.
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * event.done / max(1, event.total)))
        elif isinstance(event, DataReady) and self._adapting:
            self._show_finetune_data(event)
        elif isinstance(event, DataReady):
            train = ", ".join(f"{k} {v:,}" for k, v in event.train_counts.items())
            val = ", ".join(f"{k} {v:,}" for k, v in event.val_counts.items())
            text = self.tr("Training on {n} images ({train}); validating on {m} ({val}). "
                           "No patient appears on both sides. Images read in {t}.").format(
                n=f"{event.n_train:,}", train=train, m=f"{event.n_val:,}", val=val,
                t=format_duration(event.decode_seconds))
            self.data_label.setText(text)
            if event.unreadable:
                names = ", ".join(Path(p).name for p in list(event.unreadable)[:5])
                self.message.show_message("warning", self.tr("{n} files could not be read and are left out: {names}")
                                          .format(n=len(event.unreadable), names=names))
            self.status_label.setText(self.tr("Training…"))
            self.progress.setRange(0, 1000)
            self.progress.setValue(0)
        elif isinstance(event, BatchDone) and self._adapting:
            self._on_finetune_batch(event)
        elif isinstance(event, EpochDone) and self._adapting:
            self._on_finetune_epoch(event)
        elif isinstance(event, BatchDone):
            config = wizard.config
            total = event.n_batches * config.epochs * config.members
            done = (event.member * config.epochs + event.epoch - 1) * event.n_batches + event.batch
            self.progress.setValue(int(1000 * done / max(1, total)))
            self._eta = event.eta_s
            member = (self.tr("member {i}, ").format(i=event.member + 1) if config.members > 1 else "")
            self.status_label.setText(self.tr("Epoch {e} of {n}").format(e=event.epoch, n=config.epochs))
            self.batch_label.setText(self.tr("{member}batch {b}/{nb} · loss {loss:.3f}").format(
                member=member, b=event.batch, nb=event.n_batches, loss=event.loss))
            self._tick()
        elif isinstance(event, EpochDone):
            x = event.member * event.epochs + event.epoch
            self.curves.add_epoch(x, event.train_loss, event.val_loss, event.train_accuracy, event.val_accuracy,
                                  event.is_best)
            auc = num_text(event.val_auc)
            line = self.tr("epoch {e:>3}/{n}  train loss {tl:.3f} acc {ta:5.1%}  |  val loss {vl:.3f} "
                           "acc {va:5.1%} AUC {auc}{best}").format(
                e=event.epoch, n=event.epochs, tl=event.train_loss, ta=event.train_accuracy, vl=event.val_loss,
                va=event.val_accuracy, auc=auc, best=self.tr("  ← best so far") if event.is_best else "")
            self.log.appendPlainText(line)
            self._eta = event.eta_s
        elif isinstance(event, TrainingFinished):
            self.finished = event
            wizard.finished_training = event

    # ----- adapting -------------------------------------------------------------------------
    def _show_finetune_data(self, event: DataReady) -> None:
        self._cross_fit = event.n_train == event.n_val
        counts = ", ".join(f"{k} {v:,}" for k, v in event.train_counts.items())
        if self._cross_fit:
            text = self.tr("Adapting on {n} films ({counts}). Cross-validation: each film is predicted once by a "
                           "fine-tune that did not see it, and a patient's films stay in one part. Images read in "
                           "{t}.").format(n=f"{event.n_train:,}", counts=counts,
                                          t=format_duration(event.decode_seconds))
        else:
            val = ", ".join(f"{k} {v:,}" for k, v in event.val_counts.items())
            text = self.tr("Fine-tuning on {n} films ({counts}); {m} held out to check it ({val}). No patient "
                           "appears on both sides. Images read in {t}.").format(
                n=f"{event.n_train:,}", counts=counts, m=f"{event.n_val:,}", val=val,
                t=format_duration(event.decode_seconds))
        self.data_label.setText(text)
        if event.unreadable:
            names = ", ".join(Path(p).name for p in list(event.unreadable)[:5])
            self.message.show_message("warning", self.tr("{n} files could not be read and are left out: {names}")
                                      .format(n=len(event.unreadable), names=names))
        self.status_label.setText(self.tr("Fine-tuning…"))
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)

    def _fit_text(self, fit: int) -> str:
        """'Fine-tuning fold 2 of 5', 'Fine-tuning the final model on all films' or 'Fine-tuning'."""
        if self._cross_fit and self._fits > 1:
            if fit < self._fits - 1:
                return self.tr("Fine-tuning fold {i} of {k}").format(i=fit + 1, k=self._fits - 1)
            return self.tr("Fine-tuning the final model on all films")
        return self.tr("Fine-tuning")

    def _on_finetune_batch(self, event: BatchDone) -> None:
        """``event.member`` is the fit; a parent with several networks fine-tunes each in turn."""
        if event.member != self._fit:
            self._fit, self._fit_member, self._fit_batches = event.member, 0, 0
        elif event.epoch == 1 and event.batch == 1 and self._fit_batches:
            self._fit_member += 1
        self._fit_batches += 1
        epochs = self.wiz().finetune_config.epochs
        members = self._parent_members()
        within = ((self._fit_member * epochs + event.epoch - 1) * event.n_batches + event.batch) / max(
            1, members * epochs * event.n_batches)
        self.progress.setValue(int(1000 * min(1.0, (event.member + within) / max(1, self._fits))))
        self._eta = event.eta_s
        self.status_label.setText(self.tr("{fit}: epoch {e} of {n}").format(
            fit=self._fit_text(event.member), e=event.epoch, n=epochs))
        network = self.tr("network {i}, ").format(i=self._fit_member + 1) if members > 1 else ""
        self.batch_label.setText(self.tr("{member}batch {b}/{nb} · loss {loss:.3f}").format(
            member=network, b=event.batch, nb=event.n_batches, loss=event.loss))
        self._tick()

    def _on_finetune_epoch(self, event: EpochDone) -> None:
        x = (event.member * self._parent_members() + self._fit_member) * event.epochs + event.epoch
        self.curves.add_epoch(x, event.train_loss, event.val_loss, event.train_accuracy, event.val_accuracy, False)
        if self._cross_fit and self._fits > 1:
            fit = (self.tr("fold {i}/{k}").format(i=event.member + 1, k=self._fits - 1)
                   if event.member < self._fits - 1 else self.tr("all films"))
        else:
            fit = ""
        if fit:
            fit = f"{fit:<10} "
        train = self.tr("train loss {tl:.3f} acc {ta:5.1%}").format(tl=event.train_loss, ta=event.train_accuracy)
        if math.isfinite(event.val_loss):
            held = self.tr("held-out loss {vl:.3f} acc {va:5.1%} AUC {auc}").format(
                vl=event.val_loss, va=event.val_accuracy, auc=num_text(event.val_auc))
        else:
            held = self.tr("no films held out (final model)")
        self.log.appendPlainText(self.tr("{fit}epoch {e:>3}/{n}  {train}  |  {held}").format(
            fit=fit, e=event.epoch, n=event.epochs, train=train, held=held))
        self._eta = event.eta_s

    def _status_text(self, event: StatusMessage) -> str:
        """The core's progress step in the person's language (``event.stage`` says which step;
        an unknown stage shows the core's English line as it is)."""
        if event.stage == STAGE_STRESS:
            return self.tr("Stress-testing on the validation split: {change}…").format(
                change=stress_label(event.detail, short=True))
        if event.stage == STAGE_DETECTOR and event.step > 0:
            return self.tr("Training the check that refuses images that are not chest X-rays: epoch {e} of {n}…").format(
                e=event.step, n=event.steps)
        if event.stage == STAGE_FOLD:
            if event.step > 0:
                return self._fit_text(event.step - 1) + "…"
            return self.tr("Adapting the model in use to your films…")
        if event.stage == STAGE_CALIBRATE and self._adapting:
            return self.tr("Calibrating on the held-out films and comparing with the model in use…")
        known = {
            STAGE_DECODE: self.tr("Reading and preparing the images…"),
            STAGE_CALIBRATE: self.tr("Calibrating on the validation split…"),
            STAGE_GATE: self.tr("Fitting the unfamiliar-image check…"),
            STAGE_DETECTOR: self.tr("Training the check that refuses images that are not chest X-rays…"),
            STAGE_DETECTOR_CHECK: self.tr("Checking it on the validation split…"),
        }
        return known.get(event.stage, event.text)

    @Slot()
    def _on_done(self) -> None:
        self._ticker.stop()
        if self.finished is None:
            self._on_failed(self.tr("training ended without a model"), "")
            return
        self.state = "finished"
        self.progress.setRange(0, 1000)
        self.progress.setValue(1000)
        self.stop_button.hide()
        self.restart_button.show()
        if self._adapting:
            self._show_finetune_done()
            self.completeChanged.emit()
            self.training_ended.emit("finished")
            return
        classifier = self.finished.classifier
        training = classifier.metadata.get("training", {})
        best = training.get("best_epochs", [[None]])
        best_epoch = best[0][0] if best and best[0] else None
        vm = self.finished.validation_metrics
        self.status_label.setText(self.tr("Finished in {t}.").format(t=format_duration(self.finished.seconds)))
        self.elapsed_label.setText(self.tr("Elapsed: {t}").format(t=format_duration(self.finished.seconds)))
        self.eta_label.setText(self.tr("Remaining: done"))
        self.batch_label.clear()
        self.message.show_message("ok", self.tr(
            "The model from epoch {best} (lowest validation loss) is kept. On the validation split: "
            "accuracy {acc}, sensitivity {sens}, specificity {spec}, AUC {auc}. Operating threshold "
            "{thr:.3f}, the highest that keeps validation sensitivity at or above {target:.0%}. "
            "Press Next to evaluate it; nothing is saved yet.").format(
            best=best_epoch if best_epoch is not None else "?", acc=pct_text(vm.get("accuracy")),
            sens=pct_text(vm.get("recall")), spec=pct_text(vm.get("specificity")), auc=num_text(vm.get("auc")),
            thr=classifier.threshold, target=self.wiz().config.min_sensitivity))
        self.completeChanged.emit()
        self.training_ended.emit("finished")

    def _show_finetune_done(self) -> None:
        finished = self.finished
        classifier = finished.classifier
        self.status_label.setText(self.tr("Adapted in {t}.").format(t=format_duration(finished.seconds)))
        self.elapsed_label.setText(self.tr("Elapsed: {t}").format(t=format_duration(finished.seconds)))
        self.eta_label.setText(self.tr("Remaining: done"))
        self.batch_label.clear()
        comparison = finished.comparison
        target = ((classifier.metadata.get("training") or {}).get("config") or {}).get("min_sensitivity")
        rule = (self.tr(", the highest that keeps sensitivity on those films at or above {target:.0%}").format(
            target=target) if isinstance(target, (int, float)) else "")
        if comparison is None:
            self.message.show_message("ok", self.tr("The adapted model is ready. Press Next to evaluate it; "
                                                    "nothing is saved yet."))
            return
        a, p = comparison.adapted_report, comparison.parent_report
        where = (self.tr("the {n} films predicted by cross-validation") if self._cross_fit
                 else self.tr("the {n} held-out films")).format(n=f"{len(comparison.paths):,}")
        parent = self.wiz().active_classifier
        self.message.show_message("ok", self.tr(
            "The adapted model is ready. On {where}: AUC {aa} against {ap} for {name}, sensitivity {sa} against "
            "{sp}, specificity {pa} against {pp}. Its threshold is {thr:.3f}{rule}. Press Next to compare the two "
            "models in detail; nothing is saved yet.").format(
            where=where, aa=num_text(a.get("auc")), ap=num_text(p.get("auc")),
            name=parent.name if parent is not None else self.tr("the model in use"),
            sa=pct_text(a.get("recall")), sp=pct_text(p.get("recall")), pa=pct_text(a.get("specificity")),
            pp=pct_text(p.get("specificity")), thr=classifier.threshold, rule=rule))

    @Slot(str, str)
    def _on_failed(self, message: str, tb: str) -> None:
        self._ticker.stop()
        self.state = "failed"
        self.progress.setRange(0, 1000)
        self.stop_button.hide()
        self.restart_button.show()
        self.status_label.setText(self.tr("Training failed."))
        self.message.show_message("error", self.tr("Training could not be completed: {msg}\n"
                                                   "No model was saved; existing models are unchanged.")
                                  .format(msg=message))
        if tb:
            self.details.setPlainText(tb)
            self.details.show()
        self.completeChanged.emit()
        self.training_ended.emit("failed")

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return self.state == "finished" and self.finished is not None
