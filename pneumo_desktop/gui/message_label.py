"""A word-wrapped, coloured message box for errors, warnings, notes and success."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

# Explicit foreground/background pairs, so every kind reads in light and dark themes.
MESSAGE_STYLES = {
    "error": "background:#FDECEA; color:#611A15; border:1px solid #F1A39B;",
    "warning": "background:#FFF4E5; color:#5F3B00; border:1px solid #F0B46E;",
    "info": "background:#E8F1FB; color:#0B3A66; border:1px solid #9CC3EA;",
    "ok": "background:#EAF6EC; color:#1E4620; border:1px solid #9BD0A0;",
}


class MessageLabel(QLabel):
    """A word-wrapped coloured box for errors, warnings and notes; hidden while empty.

    ``kind`` is one of ``MESSAGE_STYLES`` ("error", "warning", "info", "ok"), or "" while empty.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.kind = ""
        self.hide()

    def show_message(self, kind: str, text: str) -> None:
        self.kind = kind
        self.setStyleSheet(f"QLabel {{ {MESSAGE_STYLES[kind]} border-radius:4px; padding:6px; }}")
        self.setText(text)
        self.setVisible(bool(text))

    def clear_message(self) -> None:
        self.kind = ""
        self.setText("")
        self.hide()
