"""Model > Model details: everything a model file says about itself, in plain language."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

from .i18n import format_number, format_percent
from .metric_labels import metric_label
from .results_model import class_display_name
from .stress_labels import STRESS_NAMES, stress_label

# The figures of the metrics table, in order (names in metric_labels.py).
METRIC_KEYS = ("n", "accuracy", "recall", "specificity", "precision", "f1", "auc", "ece")


class ModelInfoDialog(QDialog):
    """Everything the model file says about itself, in plain language."""

    def __init__(self, classifier, version: str, threshold: float | None, parent=None):
        super().__init__(parent)
        self.setObjectName("modelInfoDialog")
        self.setWindowTitle(self.tr("Model information"))
        self.resize(640, 620)
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setHtml(self.build_html(classifier, version, threshold))
        layout.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)

    def _metric(self, metrics: dict | None, key: str) -> str:
        if not metrics or metrics.get(key) is None:
            return "—"
        value = metrics[key]
        if key == "n":
            return str(int(value))
        text = format_percent(value) if key != "ece" else format_number(value, 3)
        ci = (metrics.get("ci") or {}).get(key)
        if ci and ci[0] is not None and ci[1] is not None and key != "ece":
            text += f" <span style='color:#5f6368'>({format_percent(ci[0])}–{format_percent(ci[1])})</span>"
        return text

    def stress_labels(self) -> dict[str, str]:
        """Plain-language names of the stress changes (core/stress.py), by their key."""
        return {key: stress_label(key) for key in STRESS_NAMES}

    def weakness_html(self, stress: dict | None) -> list[str]:
        """The stress validation as a table, weakest first; nothing when the file has none."""
        if not stress or not stress.get("changes"):
            return []
        e = html.escape
        labels = self.stress_labels()
        parts = ["<h3>" + e(self.tr("Known weaknesses (stress test on validation images)")) + "</h3>",
                 "<p>" + e(self.tr(
                     "Each change was applied to the validation X-rays of healthy children only, as if they "
                     "came from another machine or exposure. Where specificity falls, the model tends to call "
                     "such healthy chests abnormal: review its positive verdicts on images like these with "
                     "extra care.")) + "</p>",
                 "<table cellspacing='0' cellpadding='3' border='1' style='border-collapse:collapse'>",
                 "<tr><th>" + e(self.tr("Change to healthy chests")) + "</th><th>" + e(self.tr("Specificity"))
                 + "</th><th>" + e(self.tr("ROC AUC")) + "</th></tr>"]
        changes = sorted(stress["changes"].items(),
                         key=lambda item: (item[1].get("specificity") is None, item[1].get("specificity") or 0.0))
        for key, figures in changes:
            spec, auc = figures.get("specificity"), figures.get("auc")
            spec_text = "—" if spec is None else e(format_percent(spec))
            if spec is not None and spec < 0.8:
                spec_text = f"<b style='color:#B3261E'>{spec_text}</b>"
            auc_text = "—" if auc is None else e(format_number(auc, 3))
            parts.append(f"<tr><td>{e(labels.get(key, stress_label(key)))}</td><td>{spec_text}</td><td>{auc_text}</td></tr>")
        parts.append("</table>")
        parts.append("<p style='color:#5f6368'>" + e(self.tr(
            "These figures describe how the model reacts to each change. They did not predict its accuracy "
            "on the official test split (docs/experiments.md).")) + "</p>")
        return parts

    def image_check_html(self, detector: dict | None) -> list[str]:
        """How the model refuses images that are not chest X-rays (the gate's stages)."""
        e = html.escape
        parts = ["<h3>" + e(self.tr("Images it refuses")) + "</h3>"]
        text = self.tr("Colour images, blank frames, noise, scanned pages and odd shapes are refused before the "
                       "model runs, and so are images whose features lie far from those of its training images.")
        if detector:
            refused = detector.get("validation_refused")
            stressed = [v for v in (detector.get("validation_stress_refused") or {}).values() if v is not None]
            text += " " + self.tr(
                "A small second network, trained to tell frontal chest X-rays from other images (photographs, "
                "other scans, maps, rotated or inverted X-rays), refuses what does not look like one.")
            if refused is not None:
                text += " " + self.tr("On its validation X-rays it refused {plain}; under simulated acquisition "
                                      "changes, at most {worst}.").format(
                    plain=format_percent(refused), worst=format_percent(max(stressed) if stressed else refused))
        else:
            text += " " + self.tr("This model file has no chest X-ray detector, so grayscale images that are not "
                                  "X-rays may get a verdict: check what you open.")
        parts.append("<p>" + e(text) + "</p>")
        return parts

    def lineage_html(self, lineage: dict | None) -> list[str]:
        """Where an adapted model comes from: its parent, the local films, and both models on the
        same held-out local films. Empty for a model trained from scratch."""
        if not isinstance(lineage, dict) or not isinstance(lineage.get("parent"), dict):
            return []
        e = html.escape
        parent = lineage["parent"]
        counts = lineage.get("local_counts") or {}
        films = ", ".join(f"{e(class_display_name(k))}: {int(v)}" for k, v in counts.items())
        text = self.tr("Adapted from {name} (version {version}) on {n} local films ({films}) on {date}.").format(
            name=e(str(parent.get("name", "?"))), version=e(str(parent.get("version", "?"))),
            n=sum(int(v) for v in counts.values()), films=films, date=e(str(lineage.get("date", "?"))[:10]))
        parts = ["<h3>" + e(self.tr("Adapted to local films")) + "</h3>", f"<p>{text}</p>"]
        comparison = lineage.get("comparison") or {}
        if comparison.get("parent") and comparison.get("adapted"):
            parts.append("<table cellspacing='0' cellpadding='3' border='1' style='border-collapse:collapse'>")
            parts.append("<tr><th></th><th>" + e(self.tr("Adapted")) + "</th><th>" + e(self.tr("Parent"))
                         + "</th></tr>")
            for key in ("auc", "accuracy", "recall", "specificity"):
                parts.append("<tr><td>" + e(metric_label(key)) + "</td>"
                             f"<td>{self._metric(comparison['adapted'], key)}</td>"
                             f"<td>{self._metric(comparison['parent'], key)}</td></tr>")
            parts.append("</table>")
            if comparison.get("how"):
                parts.append(f"<p style='color:#5f6368'>{e(self.tr('Both on the same held-out local films'))}: "
                             f"{e(str(comparison['how']))}</p>")
        return parts

    def build_html(self, classifier, version: str, threshold: float | None) -> str:
        meta = classifier.metadata
        training = meta.get("training") or {}
        data = training.get("data") or {}
        e = html.escape
        rows = []

        def row(label: str, value: str) -> None:
            rows.append(f"<tr><td style='padding:2px 12px 2px 0; color:#5f6368'>{e(label)}</td><td>{value}</td></tr>")

        row(self.tr("Name"), e(classifier.name))
        row(self.tr("Version"), f"<code>{e(version)}</code>")
        row(self.tr("Created"), e(str(meta.get("created", "—"))))
        row(self.tr("File"), e(str(classifier.source_path or "—")))
        row(self.tr("Classes"), e(", ".join(class_display_name(c) for c in classifier.classes)))
        row(self.tr("Threshold in use"), e(format_percent(threshold)) if threshold is not None else "—")
        row(self.tr("Model's own threshold"), e(format_percent(classifier.threshold)))
        if meta.get("threshold_rule"):
            row(self.tr("How it was chosen"), e(str(meta["threshold_rule"])))
        row(self.tr("Temperature (calibration)"), e(format_number(classifier.temperature, 3)))
        arch = meta.get("architecture") or {}
        if arch:
            row(self.tr("Architecture"), e(self.tr("{type} {widths}, ensemble of {n}").format(
                type=arch.get("type", "?"), widths=arch.get("widths", ""), n=arch.get("n_members", 1))))
        prep = meta.get("preprocessing") or {}
        if prep:
            equalise = {"hist": self.tr("histogram-equalised"), "clahe": self.tr("local (CLAHE) equalisation"),
                        "none": self.tr("no equalisation")}.get(prep.get("equalise"), str(prep.get("equalise", "")))
            text = f"{prep.get('input_size', '?')} px, {equalise}"
            hidden = float(prep.get("border_mask", 0.0) or 0.0)
            if hidden > 0:
                text += self.tr(", outer {percent} of each side hidden").format(
                    percent=format_percent(hidden, 1))
            row(self.tr("Input"), e(text))
        if meta.get("tta_shifts"):
            row(self.tr("Test-time views"), e(str(len(meta["tta_shifts"]))))
        parts = [f"<h2>{e(classifier.name)}</h2>", "<table>", *rows, "</table>"]

        label_style = "padding:2px 12px 2px 0; color:#5f6368"

        def row2(label: str, value: str) -> str:
            return f"<tr><td style='{label_style}'>{e(label)}</td><td>{value}</td></tr>"

        parts.extend(self.lineage_html(meta.get("lineage")))
        parts.append("<h3>" + e(self.tr("Training data")) + "</h3><table>")
        for title, key in ((self.tr("Training images"), "train_counts"), (self.tr("Validation images"), "val_counts")):
            counts = data.get(key) or {}
            text = ", ".join(f"{e(class_display_name(k))}: {int(v)}" for k, v in counts.items()) or "—"
            parts.append(row2(title, text))
        if data.get("split"):
            parts.append(row2(self.tr("Split"), e(str(data["split"]))))
        if training.get("seconds") is not None:
            parts.append(row2(self.tr("Training time"), e(format_number(float(training["seconds"]), 1)) + " s"))
        if training.get("seed") is not None:
            parts.append(row2(self.tr("Seed"), e(str(training["seed"]))))
        if training.get("command"):
            parts.append(row2(self.tr("Command"), "<code>" + e(str(training["command"])) + "</code>"))
        parts.append("</table>")

        val = meta.get("validation_metrics")
        test = meta.get("test_metrics")
        parts.append("<h3>" + e(self.tr("Performance")) + "</h3>")
        parts.append("<table cellspacing='0' cellpadding='3' border='1' style='border-collapse:collapse'>")
        parts.append("<tr><th></th><th>" + e(self.tr("Validation")) + "</th><th>" + e(self.tr("Test")) + "</th></tr>")
        for key in METRIC_KEYS:
            parts.append("<tr><td>" + e(metric_label(key)) + "</td>"
                         f"<td>{self._metric(val, key)}</td><td>{self._metric(test, key)}</td></tr>")
        parts.append("</table>")
        note = self.tr("Ranges in brackets are 95% confidence intervals. Test figures are shown only when the "
                       "model file records an evaluation on a held-out test set.")
        parts.append(f"<p style='color:#5f6368'>{e(note)}</p>")
        parts.extend(self.weakness_html(meta.get("validation_stress_metrics")))
        parts.extend(self.image_check_html(meta.get("detector")))
        disclaimer = self.tr("Research use only — not a medical device")
        parts.append(f"<p><b>{e(disclaimer)}</b></p>")
        return "".join(parts)
