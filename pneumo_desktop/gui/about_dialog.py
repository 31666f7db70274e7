"""Help > About: version, active model, data attribution, licence and intended use."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout

from .. import APP_NAME, __version__
from ..paths import RESOURCES_DIR

ICON_DIR = RESOURCES_DIR / "icons"


def app_icon() -> QIcon:
    """The application icon (SVG where Qt can render it, with the PNG as a fallback)."""
    icon = QIcon()
    for name in ("app.svg", "app.png"):
        path = ICON_DIR / name
        if path.is_file():
            icon.addFile(str(path))
    return icon


class AboutDialog(QDialog):
    def __init__(self, model_name: str | None, model_version: str | None, parent=None):
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(self.tr("About {app}").format(app=APP_NAME))
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(96, 96))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        top.addWidget(icon)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.text.setOpenExternalLinks(True)
        self.text.setText(self._html(model_name, model_version))
        self.text.setMinimumWidth(440)
        top.addWidget(self.text, 1)
        layout.addLayout(top)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _html(self, model_name: str | None, model_version: str | None) -> str:
        e = html.escape
        if model_name:
            model = self.tr("Model: {name} (version {version})").format(name=e(model_name), version=e(model_version or "?"))
        else:
            model = self.tr("No model loaded")
        summary = self.tr("Spots signs of pneumonia on chest X-rays, offline, and shows where the model looked.")
        intended = self.tr("Research use only — not a medical device.")
        warning = self.tr("Do not use it to diagnose, treat or rule out disease. A qualified clinician must review "
                          "every image.")
        data_title = self.tr("Training data")
        data = self.tr("Chest X-ray images from Kermany et al. 2018, “Identifying Medical Diagnoses and Treatable "
                       "Diseases by Image-Based Deep Learning”, Cell 172(5); data set licensed CC BY 4.0.")
        licence_title = self.tr("Licence")
        licence = self.tr("PneumoDesktop is free software under the MIT licence. It uses Qt for Python (LGPLv3), "
                          "PyTorch (BSD), NumPy (BSD) and Pillow (HPND).")
        return "".join([
            f"<h2>{APP_NAME} {e(__version__)}</h2>",
            f"<p>{e(summary)}</p>",
            f"<p>{model}</p>",
            f"<p style='color:#8c1d18'><b>{e(intended)}</b> {e(warning)}</p>",
            f"<p><b>{e(data_title)}</b><br>{e(data)}</p>",
            f"<p><b>{e(licence_title)}</b><br>{e(licence)}</p>",
        ])
