"""Languages: the Spanish translation file, live switching, persistence and locale-aware numbers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QLocale, Qt

from pneumo_desktop.gui import i18n

REPO = Path(__file__).resolve().parents[2]
TS_FILE = REPO / "resources" / "i18n" / "pneumo_desktop_es.ts"
MY_CONTEXTS = {"MainWindow", "ViewController", "ExportController", "ResultPanel", "Results", "Report", "HeatmapLegend",
               "ModelInfoDialog", "ThresholdDialog", "AboutDialog", "Duration", "StressLabels"}


@pytest.fixture(autouse=True)
def back_to_english():
    yield
    i18n.install_language("en")


def test_spanish_qm_is_shipped_and_loads(qapp):
    assert i18n.qm_path("es").is_file()
    assert i18n.install_language("es") == "es"
    assert QCoreApplication.translate("MainWindow", "&File") == "&Archivo"
    assert QCoreApplication.translate("Results", "Pneumonia") == "Neumonía"
    assert i18n.install_language("en") == "en"
    assert QCoreApplication.translate("MainWindow", "&File") == "&File"


def test_every_main_window_string_has_a_spanish_translation():
    root = ET.parse(TS_FILE).getroot()
    missing = []
    count = 0
    for context in root.iter("context"):
        name = context.find("name").text
        if name not in MY_CONTEXTS:
            continue
        for message in context.iter("message"):
            translation = message.find("translation")
            if translation.get("type") in ("vanished", "obsolete"):
                continue
            count += 1
            source = message.find("source").text
            text = translation.text or ""
            if translation.get("type") == "unfinished" or not text.strip():
                missing.append(f"[{name}] {source}")
            # Placeholders must survive translation, or .format() would fail at run time.
            for placeholder in ("{n}", "{name}", "{path}", "{t}", "{p}", "{message}", "{error}"):
                if placeholder in source:
                    assert placeholder in text, f"{placeholder} lost in translation of {source!r}: {text!r}"
    assert count > 200
    assert not missing, "untranslated: " + "; ".join(missing[:10])


def test_window_opens_in_spanish_from_settings(qtbot):
    from pneumo_desktop.gui.main_window import MainWindow
    from pneumo_desktop.gui.settings import Settings

    Settings().set_language("es")
    assert i18n.install_language(Settings().language()) == "es"
    window = MainWindow(load_default_model=False)
    window.show()
    try:
        assert window.file_menu.title() == "&Archivo"
        assert window.model_menu.title() == "&Modelo"
        assert window.act_overlay.text() == "Superposición &Grad-CAM"
        assert window.panel.disclaimer_text() == "Solo para uso en investigación — no es un producto sanitario"
        assert window.results.headerData(2, Qt.Orientation.Horizontal) == \
            "P(neumonía)"
        assert window.language_actions["es"].isChecked()
        # Numbers follow the Spanish locale.
        assert QLocale().decimalPoint() == ","
        assert i18n.format_percent(0.973) == "97,3\u00a0%"
    finally:
        window.close()


def test_language_menu_switches_live_and_persists(qtbot):
    from pneumo_desktop.gui.main_window import MainWindow
    from pneumo_desktop.gui.settings import Settings

    i18n.install_language("en")
    window = MainWindow(load_default_model=False)
    window.show()
    try:
        assert window.file_menu.title() == "&File"
        window.language_actions["es"].trigger()
        qtbot.waitUntil(lambda: window.file_menu.title() == "&Archivo", timeout=3000)
        assert window.filter_combo.itemText(1) == "Positivos"
        assert Settings().language() == "es"
        window.language_actions["en"].trigger()
        qtbot.waitUntil(lambda: window.file_menu.title() == "&File", timeout=3000)
        assert window.filter_combo.itemText(1) == "Positives"
        assert i18n.format_percent(0.973) == "97.3%"
        window.language_actions[""].trigger()
        assert Settings().language() == ""
        assert i18n.current_language() in i18n.LANGUAGES
    finally:
        window.close()


def test_language_resolution():
    assert i18n.resolve_language("es") == "es"
    assert i18n.resolve_language("xx") == "en"
    assert i18n.resolve_language("") in i18n.LANGUAGES
    assert i18n.format_duration(42) == "42 s"
    assert i18n.format_duration(200) == "3 min 20 s"
    assert i18n.format_duration(3 * 3600 + 300) == "3 h 05 min"


def test_probabilities_never_display_as_certain(qapp):
    from PySide6.QtCore import QLocale

    from pneumo_desktop.gui.i18n import format_probability

    previous = QLocale()
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
    try:
        assert format_probability(0.9996) == "> 99.9%"
        assert format_probability(1.0) == "100.0%"
        assert format_probability(0.0004) == "< 0.1%"
        assert format_probability(0.0) == "0.0%"
        assert format_probability(0.973) == "97.3%"
        assert format_probability(None) == "—"
    finally:
        QLocale.setDefault(previous)
