"""Menus: within every menu (and the menu bar itself), each mnemonic letter leads to one item."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from PySide6.QtWidgets import QMenu, QMenuBar

from pneumo_desktop.gui import i18n


def mnemonic(text: str) -> str | None:
    """The letter after a single '&' ("&&" is a literal ampersand), lower-cased; None without one."""
    match = re.search(r"(?<!&)&([^&\s])", text.replace("&&", ""))
    return match.group(1).lower() if match else None


def clashes(container: QMenu | QMenuBar) -> dict[str, list[str]]:
    """Mnemonic letters used by more than one visible item of ``container``, with their texts."""
    texts = [a.text() for a in container.actions() if a.isVisible() and not a.isSeparator()]
    counts = Counter(m for m in map(mnemonic, texts) if m)
    return {letter: [t for t in texts if mnemonic(t) == letter] for letter, n in counts.items() if n > 1}


def all_menus(bar: QMenuBar) -> list[QMenu]:
    menus, stack = [], [a.menu() for a in bar.actions() if a.menu() is not None]
    while stack:
        menu = stack.pop()
        menus.append(menu)
        stack += [a.menu() for a in menu.actions() if a.menu() is not None]
    return menus


def test_mnemonic_helper():
    assert mnemonic("Set thres&hold…") == "h"
    assert mnemonic("&Train new model…") == "t"
    assert mnemonic("Salt && pepper") is None
    assert mnemonic("Cancel") is None


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_menu_has_unique_mnemonics(qtbot, language):
    from pneumo_desktop.gui.main_window import MainWindow

    i18n.install_language(language)
    window = MainWindow(load_default_model=False)
    qtbot.addWidget(window)
    try:
        bar = window.menuBar()
        menus = all_menus(bar)
        assert len(menus) >= 7  # File, Open recent, View, Panels, Language, Model, Models, Help
        assert clashes(bar) == {}
        for menu in menus:
            assert clashes(menu) == {}, f"{menu.title()!r}: {clashes(menu)}"
        # The two Model menu items that once shared T: Alt+M, T now opens the wizard.
        if language == "en":
            assert mnemonic(window.act_train.text()) == "t"
            assert mnemonic(window.act_threshold.text()) != "t"
    finally:
        window.close()
        i18n.install_language("en")
