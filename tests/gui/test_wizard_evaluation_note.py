"""The note under the wizard's confusion matrix wraps inside the page instead of being cut off."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QApplication


def test_refused_images_note_wraps_within_the_page_at_the_wizards_default_size(qtbot):
    from pneumo_desktop.gui.training_wizard import TrainingWizard
    from pneumo_desktop.gui.wizard_evaluation_page import EvaluationPage

    wizard = TrainingWizard(None, None)
    wizard.ask_before_discard = False
    qtbot.addWidget(wizard)
    wizard.show()  # its default size
    qtbot.waitExposed(wizard)
    page_size = wizard.currentPage().size()
    wizard.stop_workers()

    # The evaluation page alone, at the size a page has in that wizard.
    page = EvaluationPage()
    qtbot.addWidget(page)
    page.resize(page_size)
    page.show()
    qtbot.waitExposed(page)
    note = page.tr("{n} refused images not shown (counted as wrong in the table)").format(n=37)
    page.set_confusion_note(note)
    QApplication.processEvents()

    label = page.confusion_note
    assert label.isVisible() and label.wordWrap()
    assert label.text() == note  # the whole text, not an elided one
    shown = QRect(label.mapTo(page, QPoint(0, 0)), label.size())
    assert page.rect().contains(shown), (shown, page.rect())
    # Tall enough for every wrapped line at its width: nothing is cut off.
    assert label.height() >= label.heightForWidth(label.width())
    # No narrower than the matrix column, so it wraps there rather than pushing the page wider.
    assert label.width() <= page.confusion.width() + 1
    page.set_confusion_note("")
    assert not label.isVisible()
