"""Model > Set threshold: the operating threshold as a percentage, with a slider and a spin box."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout,
)

from .i18n import format_percent


class ThresholdDialog(QDialog):
    """Pick the operating threshold (as a percentage) with a slider and a spin box."""

    def __init__(self, current: float, model_default: float, parent=None):
        super().__init__(parent)
        self.setObjectName("thresholdDialog")
        self.setWindowTitle(self.tr("Set threshold"))
        self._default = float(model_default)
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr(
            "An image is called abnormal when the model's probability of pneumonia is at or above the "
            "threshold. A lower threshold misses fewer cases (higher sensitivity) but raises more false "
            "alarms; a higher one does the opposite. The model's own threshold is {d}, chosen on its "
            "validation data. Your choice is remembered for this model only.").format(d=format_percent(model_default)))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, 999)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(0.1, 99.9)
        self.spin.setDecimals(1)
        self.spin.setSingleStep(0.5)
        self.spin.setSuffix(" %")
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        layout.addLayout(row)
        self.slider.valueChanged.connect(self._on_slider)
        self.spin.valueChanged.connect(self._on_spin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        restore = QPushButton(self.tr("Restore model's threshold"))
        buttons.addButton(restore, QDialogButtonBox.ButtonRole.ResetRole)
        restore.clicked.connect(self._restore)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.set_value(current)
        self.resize(480, self.sizeHint().height())

    def set_value(self, value: float) -> None:
        self.spin.setValue(float(value) * 100.0)

    def value(self) -> float:
        """The chosen threshold in [0, 1]; exactly the model's own when the box shows it."""
        if abs(self.spin.value() - round(self._default * 100.0, 1)) < 1e-6:
            return self._default
        return round(self.spin.value() / 100.0, 4)

    @Slot(int)
    def _on_slider(self, value: int) -> None:
        if abs(self.spin.value() - value / 10.0) > 1e-6:
            self.spin.setValue(value / 10.0)

    @Slot(float)
    def _on_spin(self, value: float) -> None:
        position = int(round(value * 10))
        if self.slider.value() != position:
            self.slider.blockSignals(True)
            self.slider.setValue(position)
            self.slider.blockSignals(False)

    @Slot()
    def _restore(self) -> None:
        self.set_value(self._default)
