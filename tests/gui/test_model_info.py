"""Model > Model details: the known-weaknesses table built from the stress validation."""

from __future__ import annotations

import re

from pneumo_desktop.core.classifier import Classifier
from pneumo_desktop.core.stress import STRESSES
from pneumo_desktop.gui.model_info_dialog import ModelInfoDialog


def _rows(html_text: str) -> list[str]:
    section = html_text.split("Known weaknesses", 1)[1]
    return re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td>", section)


def test_weaknesses_are_listed_weakest_first_with_plain_names(qtbot, tiny_model_path):
    classifier = Classifier.load(tiny_model_path)
    stress = classifier.metadata["validation_stress_metrics"]
    assert set(stress["changes"]) == set(STRESSES), "training stores the stress validation"
    # Give the changes distinct specificities, so the order is known.
    for i, key in enumerate(STRESSES):
        stress["changes"][key] = {"auc": 0.9, "specificity": 1.0 - 0.1 * i}
    dialog = ModelInfoDialog(classifier, classifier.version, None)
    qtbot.addWidget(dialog)
    html_text = dialog.build_html(classifier, classifier.version, None)
    rows = _rows(html_text)
    labels = dialog.stress_labels()
    assert [name for name, _ in rows] == [labels[k] for k in reversed(list(STRESSES))]
    assert all(key not in {name for name, _ in rows} for key in STRESSES), "raw keys leak into the table"
    # Below 80% specificity is flagged; 100% and 90% are not.
    flagged = [name for name, spec in rows if "<b" in spec]
    assert len(flagged) == sum(1.0 - 0.1 * i < 0.8 for i in range(len(STRESSES)))
    assert "Known weaknesses" in dialog.browser.toHtml()


def test_no_weakness_section_without_stress_figures(qtbot, tiny_model_path):
    classifier = Classifier.load(tiny_model_path)
    classifier.metadata.pop("validation_stress_metrics")
    dialog = ModelInfoDialog(classifier, classifier.version, None)
    qtbot.addWidget(dialog)
    assert "Known weaknesses" not in dialog.build_html(classifier, classifier.version, None)


def test_stress_names_cover_every_change_of_the_core():
    """A change added to core/stress.py without a plain-language name would show its raw key."""
    from pneumo_desktop.gui.stress_labels import STRESS_NAMES, stress_label

    assert list(STRESS_NAMES) == list(STRESSES)
    assert stress_label("a change from a newer file") == "a change from a newer file"
    assert all(stress_label(k, short=True) != stress_label(k) for k in STRESSES)


def test_image_check_section_says_whether_a_detector_guards_the_model(qtbot, tiny_model_path):
    classifier = Classifier.load(tiny_model_path)
    classifier.metadata["detector"].update(validation_refused=0.0,
                                           validation_stress_refused={"zoom 1.2": 0.004, "haze 0.8": 0.002})
    dialog = ModelInfoDialog(classifier, classifier.version, None)
    qtbot.addWidget(dialog)
    section = dialog.build_html(classifier, classifier.version, None).split("Images it refuses", 1)[1]
    assert "frontal chest X-rays" in section and "at most 0.4%" in section.replace("\u00a0", " ")

    classifier.metadata.pop("detector")
    section = dialog.build_html(classifier, classifier.version, None).split("Images it refuses", 1)[1]
    assert "no chest X-ray detector" in section and "frontal chest X-rays from other images" not in section


def test_input_row_says_when_the_model_hides_the_frame(qtbot, tiny_model_path):
    classifier = Classifier.load(tiny_model_path)
    dialog = ModelInfoDialog(classifier, classifier.version, None)
    qtbot.addWidget(dialog)
    plain = dialog.build_html(classifier, classifier.version, None)
    assert "Input" in plain and "hidden" not in plain
    assert "histogram-equalised" in plain, "the equalisation is named in plain words"
    classifier.metadata["preprocessing"]["border_mask"] = 0.125
    masked = dialog.build_html(classifier, classifier.version, None)
    assert "outer 12.5% of each side hidden" in masked
    # The metric names come from the shared labels, in the table's order.
    assert re.search(r"Accuracy.*Sensitivity \(recall\).*Specificity.*ROC AUC.*Calibration error", masked, re.S)


def test_an_adapted_model_shows_its_parent_and_both_models_on_the_local_films(qtbot, tiny_model_path):
    classifier = Classifier.load(tiny_model_path)
    assert "Adapted to local films" not in ModelInfoDialog(classifier, classifier.version, None).build_html(
        classifier, classifier.version, None), "a model trained from scratch has no lineage"
    figures = {"n": 48, "auc": 0.81, "accuracy": 0.75, "recall": 0.9, "specificity": 0.6,
               "ci": {"auc": [0.7, 0.9], "accuracy": [0.6, 0.85], "recall": [0.7, 0.97], "specificity": [0.4, 0.77]}}
    classifier.metadata["lineage"] = {
        "parent": {"name": "default", "version": "924933eb5f3a"}, "local_counts": {"NORMAL": 24, "PNEUMONIA": 24},
        "date": "2026-12-04T18:00:00+00:00",
        "comparison": {"how": "cross-fitted: 5 fine-tunes", "parent": dict(figures, auc=0.52),
                       "adapted": figures}}
    dialog = ModelInfoDialog(classifier, classifier.version, None)
    qtbot.addWidget(dialog)
    section = dialog.build_html(classifier, classifier.version, None).split("Adapted to local films", 1)[1]
    assert "Adapted from default (version 924933eb5f3a) on 48 local films" in section and "2026-12-04" in section
    auc_row = re.search(r"<tr><td>[^<]*AUC[^<]*</td><td>(.*?)</td><td>(.*?)</td></tr>", section)
    assert auc_row and "81" in auc_row.group(1) and "52" in auc_row.group(2)
    assert "cross-fitted: 5 fine-tunes" in section
