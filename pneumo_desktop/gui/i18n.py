"""Interface language and number formatting.

English is the source language. Spanish comes from ``resources/i18n/pneumo_desktop_es.qm``,
compiled from ``resources/i18n/pneumo_desktop_es.ts`` at the repository root with
``pyside6-lrelease``. The language follows the system locale unless the person picks one in
View > Language; the choice is stored in the settings and applied live: installing a
translator sends every widget a ``LanguageChange`` event and our widgets re-read their texts.

Numbers (percentages, thresholds, times) follow the language's locale through ``QLocale``, so
Spanish shows ``97,3 %`` where English shows ``97.3%``.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from ..paths import RESOURCES_DIR

I18N_DIR = RESOURCES_DIR / "i18n"
SOURCE_LANGUAGE = "en"
# Language code -> its own name (never translated: a person looks for their own language).
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}

_installed: list[QTranslator] = []
_current = SOURCE_LANGUAGE


def qm_path(code: str):
    return I18N_DIR / f"pneumo_desktop_{code}.qm"


def system_language() -> str:
    """The system locale's language if we have it, else English."""
    code = QLocale.system().name().split("_")[0].lower()
    return code if code in LANGUAGES else SOURCE_LANGUAGE


def resolve_language(choice: str | None) -> str:
    """``""``/None -> the system's language; an unknown code -> English."""
    if not choice:
        return system_language()
    return choice if choice in LANGUAGES else SOURCE_LANGUAGE


def current_language() -> str:
    return _current


def install_language(choice: str | None) -> str:
    """Switch the running application to ``choice`` (``""`` = system). Returns the code used.

    Removes translators installed before, installs ours (and Qt's own, for standard buttons,
    when Qt ships one) and makes the matching ``QLocale`` the default for number formatting.
    """
    global _current
    app = QCoreApplication.instance()
    code = resolve_language(choice)
    for translator in _installed:
        if app is not None:
            QCoreApplication.removeTranslator(translator)
    _installed.clear()
    if code != SOURCE_LANGUAGE and app is not None:
        ours = QTranslator(app)
        if ours.load(str(qm_path(code))):
            QCoreApplication.installTranslator(ours)
            _installed.append(ours)
        qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        qtbase = QTranslator(app)
        if qtbase.load(f"qtbase_{code}", qt_dir):
            QCoreApplication.installTranslator(qtbase)
            _installed.append(qtbase)
    system = QLocale.system()
    if system.name().split("_")[0].lower() == code:
        QLocale.setDefault(system)  # keep the person's own country conventions
    else:
        QLocale.setDefault(QLocale(code))
    _current = code
    return code


# ----- formatting ------------------------------------------------------------------------------
def format_number(value: float, decimals: int = 2) -> str:
    return QLocale().toString(float(value), "f", decimals)


def format_percent(probability: float | None, decimals: int = 1) -> str:
    """0.973 -> ``97.3%`` (English) / ``97,3 %`` (Spanish, which separates the sign)."""
    if probability is None:
        return "—"
    number = QLocale().toString(float(probability) * 100.0, "f", decimals)
    separator = "\u00a0" if QLocale().language() in (QLocale.Language.Spanish, QLocale.Language.French,
                                                       QLocale.Language.German) else ""
    return f"{number}{separator}%"


def format_probability(probability: float | None, decimals: int = 1) -> str:
    """A model probability as a percentage that never overstates certainty: a value that would
    round to 100% (or 0%) but is not exactly 1 (or 0) reads ``> 99.9%`` (``< 0.1%``)."""
    if probability is None:
        return "—"
    p = float(probability)
    step = 10.0 ** -(decimals + 2)  # 0.001 for one decimal of a percentage
    if p < 1.0 and round(p * 100.0, decimals) >= 100.0:
        return "> " + format_percent(1.0 - step, decimals)
    if p > 0.0 and round(p * 100.0, decimals) <= 0.0:
        return "< " + format_percent(step, decimals)
    return format_percent(p, decimals)


def format_ms(ms: float) -> str:
    return QLocale().toString(float(ms), "f", 0 if ms >= 100 else 1)


def format_duration(seconds: float | None) -> str:
    """A short human duration: ``45 s``, ``3 min 20 s``, ``1 h 05 min``; "–" when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return QCoreApplication.translate("Duration", "{s} s").format(s=seconds)
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return QCoreApplication.translate("Duration", "{m} min {s:02d} s").format(m=minutes, s=secs)
    hours, minutes = divmod(minutes, 60)
    return QCoreApplication.translate("Duration", "{h} h {m:02d} min").format(h=hours, m=minutes)
