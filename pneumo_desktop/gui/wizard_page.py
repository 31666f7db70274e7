"""The base class of the training wizard's pages, and the small helpers they share."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget, QWizardPage

from .wizard_jobs import is_finite


def pct_text(value) -> str:
    """A fraction in [0, 1] as '93.2%', or a translated 'n/a' when it is missing or not finite."""
    return f"{100 * value:.1f}%" if is_finite(value) else QCoreApplication.translate("TrainingWizard", "n/a")


def num_text(value, digits: int = 3) -> str:
    """A number with ``digits`` decimals, or a translated 'n/a' when it is missing or not finite."""
    return f"{value:.{digits}f}" if is_finite(value) else QCoreApplication.translate("TrainingWizard", "n/a")


def epochs_text(n: int) -> str:
    """'1 epoch', '15 epochs' (translated)."""
    if n == 1:
        return QCoreApplication.translate("TrainingWizard", "{n} epoch").format(n=n)
    return QCoreApplication.translate("TrainingWizard", "{n} epochs").format(n=n)


def heading(text: str) -> QLabel:
    """A bold label for a section of a page."""
    label = QLabel(text)
    font = QFont(label.font())
    font.setBold(True)
    label.setFont(font)
    return label


def browse_row(parent: QWidget, placeholder: str, button_text: str) -> tuple[QLineEdit, QPushButton, QHBoxLayout]:
    """A path field with a clear button and a 'Browse…' button beside it, laid out in a row."""
    edit = QLineEdit(parent)
    edit.setPlaceholderText(placeholder)
    edit.setClearButtonEnabled(True)
    button = QPushButton(button_text, parent)
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return edit, button, row


class WizardPage(QWizardPage):
    """A page of ``TrainingWizard``; ``wiz()`` is the wizard, which holds the state pages share."""

    def wiz(self):
        return self.wizard()
