"""The finding panel: the selected image's verdict, probabilities, threshold and model.

Written for a clinician reading quickly: the verdict is large and colour-coded (and always
spelled out, never colour alone); a probability close to the threshold is flagged
"Borderline — review carefully"; files the model refused say why in plain words; and the
"Research use only — not a medical device" line is always on screen.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame, QGridLayout, QLabel, QProgressBar, QSizePolicy, QVBoxLayout, QWidget,
)

from .heatmap_legend import HeatmapLegend
from .i18n import format_ms, format_percent, format_probability
from .results_model import (
    BORDERLINE_MARGIN, STATUS_OK, STATUS_UNSUPPORTED, ResultRow, class_display_name, record_note,
)

# (background, border, text) per verdict kind; text colours pass WCAG AA on their background.
STYLES = {
    "positive": ("#fdecea", "#d93025", "#8c1d18"),
    "negative": ("#e6f4ea", "#1e8e3e", "#0d5223"),
    "borderline": ("#fef7e0", "#f29900", "#7a4a00"),
    "unsupported": ("#fef7e0", "#f29900", "#7a4a00"),
    "error": ("#f1f3f4", "#80868b", "#3c4043"),
    "empty": ("#f1f3f4", "#dadce0", "#5f6368"),
}


def _section_label(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    label.setStyleSheet("color: #5f6368;")
    return label


class ResultPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("resultPanel")
        self.setMinimumWidth(280)
        self._row: ResultRow | None = None
        self._threshold: float | None = None
        self._default_threshold: float | None = None
        self._model_name = ""
        self._model_version = ""
        self._heatmap_note = ""
        self._style_kind: str | None = None
        self._normal_class: str | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)

        self._file_label = QLabel()
        self._file_label.setObjectName("fileLabel")
        self._file_label.setWordWrap(True)
        self._file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self._file_label)

        self._banner = QFrame()
        self._banner.setObjectName("verdictBanner")
        banner_layout = QVBoxLayout(self._banner)
        banner_layout.setContentsMargins(14, 10, 14, 10)
        banner_layout.setSpacing(2)
        self._verdict = QLabel()
        self._verdict.setObjectName("verdictLabel")
        self._verdict.setWordWrap(True)
        verdict_font = QFont(self.font())
        verdict_font.setPointSizeF(max(verdict_font.pointSizeF(), 9.0) * 2.0)
        verdict_font.setBold(True)
        self._verdict.setFont(verdict_font)
        self._verdict_detail = QLabel()
        self._verdict_detail.setWordWrap(True)
        banner_layout.addWidget(self._verdict)
        banner_layout.addWidget(self._verdict_detail)
        layout.addWidget(self._banner)

        self._note = QLabel()
        self._note.setObjectName("noteLabel")
        self._note.setWordWrap(True)
        self._note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self._note)

        self._prob_title = _section_label("")
        layout.addWidget(self._prob_title)
        self._prob_grid = QGridLayout()
        self._prob_grid.setHorizontalSpacing(8)
        self._prob_grid.setVerticalSpacing(4)
        self._prob_grid.setColumnStretch(1, 1)
        layout.addLayout(self._prob_grid)
        self._prob_widgets: list[QWidget] = []

        self._threshold_label = QLabel()
        self._threshold_label.setWordWrap(True)
        layout.addWidget(self._threshold_label)

        self._explain_title = _section_label("")
        layout.addWidget(self._explain_title)
        self.legend = HeatmapLegend()
        layout.addWidget(self.legend)
        self._heatmap_label = QLabel()
        self._heatmap_label.setWordWrap(True)
        self._heatmap_label.setStyleSheet("color: #5f6368;")
        layout.addWidget(self._heatmap_label)

        self._image_title = _section_label("")
        layout.addWidget(self._image_title)
        self._image_label = QLabel()
        self._image_label.setWordWrap(True)
        layout.addWidget(self._image_label)

        self._model_title = _section_label("")
        layout.addWidget(self._model_title)
        self._model_label = QLabel()
        self._model_label.setWordWrap(True)
        self._model_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self._model_label)

        layout.addStretch(1)

        self._disclaimer = QLabel()
        self._disclaimer.setObjectName("disclaimerLabel")
        self._disclaimer.setWordWrap(True)
        self._disclaimer.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._disclaimer.setStyleSheet(
            "QLabel#disclaimerLabel { background: #fff4e5; color: #7a4a00; border: 1px solid #f0b35a;"
            " border-radius: 4px; padding: 6px; font-weight: bold; }")
        self._disclaimer.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        layout.addWidget(self._disclaimer)

        self._refresh()

    # ----- public API ---------------------------------------------------------------------------------
    def set_model(self, name: str, version: str, threshold: float | None, default_threshold: float | None,
                  normal_class: str | None = None) -> None:
        self._model_name, self._model_version = name, version
        self._normal_class = normal_class
        self._threshold, self._default_threshold = threshold, default_threshold
        self._refresh()

    def set_threshold(self, threshold: float | None) -> None:
        self._threshold = threshold
        self._refresh()

    def show_row(self, row: ResultRow | None) -> None:
        self._row = row
        self._refresh()

    def current_row(self) -> ResultRow | None:
        return self._row

    def set_heatmap_note(self, text: str) -> None:
        self._heatmap_note = text
        self._heatmap_label.setText(text)
        self._heatmap_label.setVisible(bool(text) and self._judged())

    def _judged(self) -> bool:
        """True when the selected image got a verdict (or nothing is selected yet)."""
        return self._row is None or self._row.status == STATUS_OK

    def _show_judgement_sections(self) -> None:
        """The threshold and the explanation only mean something for an image the model judged;
        for a refused or unreadable file the banner and its reason say everything."""
        judged = self._judged()
        for widget in (self._threshold_label, self._explain_title, self.legend):
            widget.setVisible(judged)
        self._heatmap_label.setVisible(judged and bool(self._heatmap_label.text()))

    def verdict_text(self) -> str:
        return self._verdict.text()

    def note_text(self) -> str:
        return self._note.text() if self._note.isVisible() or self._note.text() else ""

    def disclaimer_text(self) -> str:
        return self._disclaimer.text()

    # ----- rendering ------------------------------------------------------------------------------------
    def changeEvent(self, event):  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self._refresh()
        super().changeEvent(event)

    def _set_style(self, kind: str) -> None:
        if self._style_kind == kind:
            return  # style sheets are costly to re-parse; skip when nothing changes
        self._style_kind = kind
        background, border, text = STYLES[kind]
        self._banner.setStyleSheet(
            f"QFrame#verdictBanner {{ background: {background}; border: 1px solid {border};"
            f" border-left: 6px solid {border}; border-radius: 6px; }}"
            f" QFrame#verdictBanner QLabel {{ color: {text}; background: transparent; border: none; }}")

    def _clear_probabilities(self) -> None:
        for widget in self._prob_widgets:
            widget.setVisible(False)

    def _probability_pair(self, i: int) -> tuple[QLabel, QProgressBar]:
        """The i-th (label, bar) pair, created on first use and reused afterwards."""
        while len(self._prob_widgets) < 2 * (i + 1):
            label = QLabel()
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setTextVisible(True)
            bar.setMaximumHeight(18)
            row = len(self._prob_widgets) // 2
            self._prob_grid.addWidget(label, row, 0)
            self._prob_grid.addWidget(bar, row, 1)
            self._prob_widgets += [label, bar]
        return self._prob_widgets[2 * i], self._prob_widgets[2 * i + 1]

    def _refresh(self) -> None:
        self._prob_title.setText(self.tr("Class probabilities"))
        self._explain_title.setText(self.tr("Explanation"))
        self._model_title.setText(self.tr("Model"))
        self._image_title.setText(self.tr("Image"))
        self._disclaimer.setText(self.tr("Research use only — not a medical device"))
        self._disclaimer.setToolTip(self.tr(
            "PneumoDesktop is a research tool. Its output must not be used to diagnose, treat or "
            "exclude disease; a qualified clinician must review every image."))
        self._refresh_model()
        self._clear_probabilities()
        row = self._row
        self._note.setVisible(False)
        self._note.setStyleSheet("")
        self._refresh_image_info()
        self._show_judgement_sections()
        if row is None:
            self._file_label.setText(self.tr("No image selected"))
            self._file_label.setToolTip("")
            self._set_style("empty")
            self._verdict.setText(self.tr("No result yet"))
            self._verdict_detail.setText(self.tr("Open images or a folder, or drop them on the window."))
            self._prob_title.setVisible(False)
            return
        self._file_label.setText(f"<b>{_html(Path(row.path).name)}</b>")
        self._file_label.setToolTip(row.path)
        if row.status == STATUS_OK:
            self._show_ok(row)
            return
        self._prob_title.setVisible(False)
        if row.status == STATUS_UNSUPPORTED:
            self._set_style("unsupported")
            self._verdict.setText(self.tr("Not analysed"))
            self._verdict_detail.setText(self.tr("The model only reads frontal chest X-rays."))
        else:
            self._set_style("error")
            self._verdict.setText(self.tr("Not analysed"))
            self._verdict_detail.setText(self.tr("The file could not be opened as an image."))
        self._note.setText(record_note(row.record))
        self._note.setVisible(True)

    def _show_ok(self, row: ResultRow) -> None:
        threshold = self._threshold
        if row.borderline:
            self._set_style("borderline")
        else:
            self._set_style("positive" if row.positive else "negative")
        self._verdict.setText(class_display_name(row.label))
        detail = self.tr("P(pneumonia) {p} · threshold {t}").format(
            p=format_probability(row.probability), t=format_percent(threshold) if threshold is not None else "—")
        self._verdict_detail.setText(detail)
        if row.borderline:
            self._note.setText("⚠ " + self.tr(
                "Borderline — review carefully. The probability is within {margin} points of the "
                "threshold, so a small change in the image could change the verdict.").format(
                    margin=f"{BORDERLINE_MARGIN * 100:.0f}"))
            self._note.setStyleSheet("QLabel#noteLabel { color: #7a4a00; font-weight: bold; }")
            self._note.setVisible(True)
        self._prob_title.setVisible(True)
        probabilities = row.record.probabilities or {}
        # The normal class first, then the abnormal ones in the model's order.
        ordered = sorted(probabilities.items(), key=lambda item: item[0] != self._normal_class)
        for i, (name, value) in enumerate(ordered):
            label, bar = self._probability_pair(i)
            label.setText(class_display_name(name))
            bar.setValue(int(round(float(value) * 1000)))
            bar.setFormat(format_probability(value))
            bar.setAccessibleName(self.tr("Probability of {name}").format(name=class_display_name(name)))
            label.setVisible(True)
            bar.setVisible(True)

    def _refresh_image_info(self) -> None:
        row = self._row
        size = None if row is None else row.record.image_size
        visible = row is not None
        self._image_title.setVisible(visible)
        self._image_label.setVisible(visible)
        if row is None:
            return
        parts = []
        if size:
            parts.append(self.tr("{w} × {h} pixels").format(w=size[1], h=size[0]))
        parts.append(self.tr("read in {ms} ms").format(ms=format_ms(row.record.decode_ms)))
        if row.status == STATUS_OK:
            parts.append(self.tr("analysed in {ms} ms").format(ms=format_ms(row.record.infer_ms)))
        self._image_label.setText(" · ".join(parts))
        self._image_label.setToolTip(row.path)

    def _refresh_model(self) -> None:
        if not self._model_name:
            self._model_label.setText(self.tr("No model loaded"))
            self._threshold_label.setText("")
            return
        self._model_label.setText(self.tr("{name} · version {version}").format(
            name=_html(self._model_name), version=_html(self._model_version)))
        if self._threshold is None:
            self._threshold_label.setText("")
        elif self._default_threshold is not None and abs(self._threshold - self._default_threshold) > 1e-9:
            self._threshold_label.setText(self.tr(
                "Threshold in use: {t} (set by you; the model's own is {d})").format(
                    t=format_percent(self._threshold), d=format_percent(self._default_threshold)))
        else:
            self._threshold_label.setText(self.tr("Threshold in use: {t} (the model's own)").format(
                t=format_percent(self._threshold)))


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
