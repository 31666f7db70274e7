"""The results table: one row per predicted file, a filter/sort proxy, and display helpers.

``ResultsTableModel`` keeps the ``PredictionRecord`` of each file (probabilities included) and
its current verdict. The verdict is recomputed from the stored probabilities whenever the
threshold changes (``relabel``), with ``Classifier.decide``, so the table never disagrees
with the model's own decision rule. Rows arrive in batches while a prediction job streams.

``ResultsFilterProxy`` sorts numerically (``SORT_ROLE``) and filters by kind (all, positives,
negatives, unsupported, errors) and by a piece of the file name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel, QCoreApplication, QModelIndex, QSortFilterProxyModel, Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont

from .i18n import format_ms, format_probability

STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_UNSUPPORTED = "unsupported"

COL_FILE, COL_VERDICT, COL_PROBABILITY, COL_STATUS, COL_TIME = range(5)
N_COLUMNS = 5

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2  # the ResultRow itself

FILTER_ALL, FILTER_POSITIVE, FILTER_NEGATIVE, FILTER_UNSUPPORTED, FILTER_ERROR = range(5)

BORDERLINE_MARGIN = 0.1

# Verdict colours: dark enough for text on white, distinguishable without colour by their words.
POSITIVE_COLOUR = QColor("#b3261e")
NEGATIVE_COLOUR = QColor("#1b6e3a")
BORDERLINE_COLOUR = QColor("#9a5b00")
UNSUPPORTED_COLOUR = QColor("#8a5a00")
ERROR_COLOUR = QColor("#5f6368")



def class_display_name(name: str | None) -> str:
    """A class name from the model file as a person reads it (translated when known)."""
    if name is None:
        return "—"
    known = {
        "NORMAL": QCoreApplication.translate("Results", "Normal"),
        "PNEUMONIA": QCoreApplication.translate("Results", "Pneumonia"),
        "BACTERIA": QCoreApplication.translate("Results", "Bacterial pneumonia"),
        "VIRUS": QCoreApplication.translate("Results", "Viral pneumonia"),
    }
    return known.get(name.upper(), name.replace("_", " ").capitalize())


def status_display_name(status: str) -> str:
    return {
        STATUS_OK: QCoreApplication.translate("Results", "OK"),
        STATUS_UNSUPPORTED: QCoreApplication.translate("Results", "Unsupported"),
        STATUS_ERROR: QCoreApplication.translate("Results", "Error"),
    }.get(status, status)


def record_note(record) -> str:
    """The plain-language note for a record that has no verdict ("Not a chest X-ray: …")."""
    message = (record.message or "").strip()
    if record.status == STATUS_UNSUPPORTED:
        reason = message.split(":", 1)[1].strip() if message.lower().startswith("not a chest x-ray:") else message
        return QCoreApplication.translate("Results", "Not a chest X-ray: {reason}").format(reason=reason)
    if record.status == STATUS_ERROR:
        reason = message.split(":", 1)[1].strip() if message.lower().startswith("cannot read file:") else message
        return QCoreApplication.translate("Results", "Cannot read file: {reason}").format(reason=reason)
    return message


@dataclass
class ResultRow:
    """One table row: the prediction record plus the verdict under the current threshold."""

    record: object  # core.predict.PredictionRecord
    label: str | None
    positive: bool = False
    borderline: bool = False

    @property
    def path(self) -> str:
        return self.record.path

    @property
    def status(self) -> str:
        return self.record.status

    @property
    def probability(self) -> float | None:
        return self.record.probability

    @property
    def total_ms(self) -> float:
        return float(self.record.decode_ms) + float(self.record.infer_ms)

    def current_record(self):
        """A copy of the record carrying the current verdict, without the image or heatmap."""
        return dataclasses.replace(self.record, label=self.label, heatmap=None, image_u8=None)


class ResultsTableModel(QAbstractTableModel):
    """Rows of ``ResultRow`` in arrival order; a file predicted again replaces its row."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[ResultRow] = []
        self._index: dict[str, int] = {}
        self._normal_class: str | None = None
        self._threshold: float | None = None

    # ----- Qt model interface ---------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else N_COLUMNS

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt API
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return [QCoreApplication.translate("Results", "File"), QCoreApplication.translate("Results", "Verdict"), QCoreApplication.translate("Results", "P(pneumonia)"), QCoreApplication.translate("Results", "Status"), QCoreApplication.translate("Results", "Time (ms)")][section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return [
                QCoreApplication.translate("Results", "Image file name (hover a row for the full path)"),
                QCoreApplication.translate("Results", "The model's verdict at the current threshold"),
                QCoreApplication.translate("Results", "The model's calibrated probability that the image is not normal"),
                QCoreApplication.translate("Results", "Whether the file could be analysed"),
                QCoreApplication.translate("Results", "Time to read and analyse the file, in milliseconds"),
            ][section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, col)
        if role == SORT_ROLE:
            return self._sort_key(row, col, index.row())
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_FILE:
                return row.path
            if row.status != STATUS_OK:
                return record_note(row.record)
            if col == COL_VERDICT and row.borderline:
                return QCoreApplication.translate("Results", "Borderline — review carefully")
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_VERDICT:
                return QBrush(self._colour(row))
            if col == COL_STATUS and row.status != STATUS_OK:  # "OK" stays in the normal text colour
                return QBrush(self._colour(row))
        if role == Qt.ItemDataRole.FontRole and col == COL_VERDICT and row.status == STATUS_OK:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_PROBABILITY, COL_TIME):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, row: ResultRow, col: int) -> str:
        if col == COL_FILE:
            return Path(row.path).name
        if col == COL_VERDICT:
            if row.status == STATUS_UNSUPPORTED:
                return QCoreApplication.translate("Results", "Not a chest X-ray")
            if row.status == STATUS_ERROR:
                return QCoreApplication.translate("Results", "Cannot read file")
            text = class_display_name(row.label)
            return text + " ⚠" if row.borderline else text
        if col == COL_PROBABILITY:
            return format_probability(row.probability) if row.probability is not None else "—"
        if col == COL_STATUS:
            return status_display_name(row.status)
        if col == COL_TIME:
            return format_ms(row.total_ms)
        return ""

    def _sort_key(self, row: ResultRow, col: int, position: int):
        if col == COL_FILE:
            return Path(row.path).name.lower()
        if col == COL_VERDICT:
            rank = {STATUS_OK: 0, STATUS_UNSUPPORTED: 1, STATUS_ERROR: 2}.get(row.status, 3)
            return f"{rank}{'0' if row.positive else '1'}{class_display_name(row.label) if row.label else ''}"
        if col == COL_PROBABILITY:
            return -1.0 if row.probability is None else float(row.probability)
        if col == COL_STATUS:
            return status_display_name(row.status)
        if col == COL_TIME:
            return row.total_ms
        return position

    def _colour(self, row: ResultRow) -> QColor:
        if row.status == STATUS_ERROR:
            return ERROR_COLOUR
        if row.status == STATUS_UNSUPPORTED:
            return UNSUPPORTED_COLOUR
        if row.borderline:
            return BORDERLINE_COLOUR
        return POSITIVE_COLOUR if row.positive else NEGATIVE_COLOUR

    # ----- content ---------------------------------------------------------------------------
    def set_decision_rule(self, normal_class: str | None, threshold: float | None) -> None:
        """What counts as negative, and the threshold used for the borderline flag."""
        self._normal_class = normal_class
        self._threshold = threshold

    def _make_row(self, record) -> ResultRow:
        row = ResultRow(record, record.label)
        self._flag(row)
        return row

    def _flag(self, row: ResultRow) -> None:
        ok = row.status == STATUS_OK and row.label is not None
        row.positive = bool(ok and self._normal_class is not None and row.label != self._normal_class)
        row.borderline = bool(ok and self._threshold is not None and row.probability is not None
                              and abs(row.probability - self._threshold) <= BORDERLINE_MARGIN)

    def add_records(self, records: list) -> None:
        """Append new files; a file already in the table has its row replaced in place."""
        new = []
        for record in records:
            position = self._index.get(record.path)
            if position is not None:
                self._rows[position] = self._make_row(record)
                self.dataChanged.emit(self.index(position, 0), self.index(position, N_COLUMNS - 1))
            else:
                new.append(record)
        if not new:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        for record in new:
            self._index[record.path] = len(self._rows)
            self._rows.append(self._make_row(record))
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self._index.clear()
        self.endResetModel()

    def relabel(self, classifier, threshold: float) -> None:
        """Recompute every verdict from the stored probabilities at ``threshold``."""
        self.set_decision_rule(classifier.classes[classifier.normal_index], threshold)
        ok_rows = [r for r in self._rows if r.status == STATUS_OK and r.record.probabilities]
        if ok_rows:
            probs = np.array([[r.record.probabilities.get(c, 0.0) for c in classifier.classes] for r in ok_rows],
                             dtype=np.float64)
            decisions = classifier.decide(probs, threshold)
            for row, decision in zip(ok_rows, decisions):
                row.label = classifier.classes[int(decision)]
        for row in self._rows:
            self._flag(row)
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, N_COLUMNS - 1))

    def retranslate(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, N_COLUMNS - 1)
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, N_COLUMNS - 1))

    # ----- queries -----------------------------------------------------------------------------
    def row(self, position: int) -> ResultRow:
        return self._rows[position]

    def rows(self) -> list[ResultRow]:
        return list(self._rows)

    def paths(self) -> list[str]:
        return [r.path for r in self._rows]

    def position_of(self, path: str) -> int | None:
        return self._index.get(path)

    def counts(self) -> dict[str, int]:
        out = {"total": len(self._rows), "positive": 0, "negative": 0, "unsupported": 0, "error": 0}
        for r in self._rows:
            if r.status == STATUS_ERROR:
                out["error"] += 1
            elif r.status == STATUS_UNSUPPORTED:
                out["unsupported"] += 1
            elif r.positive:
                out["positive"] += 1
            else:
                out["negative"] += 1
        return out


class ResultsFilterProxy(QSortFilterProxyModel):
    """Sorts by ``SORT_ROLE``; filters by kind and by a case-insensitive piece of the file name."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._mode = FILTER_ALL
        self._text = ""
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def filter_mode(self) -> int:
        return self._mode

    def set_filter_mode(self, mode: int) -> None:
        if mode != self._mode:
            self._begin_filter_change()
            self._mode = mode
            self._end_filter_change()

    def set_filter_text(self, text: str) -> None:
        text = text.strip().lower()
        if text != self._text:
            self._begin_filter_change()
            self._text = text
            self._end_filter_change()

    # Qt 6.9 replaced invalidateFilter() by a begin/end pair around the change.
    def _begin_filter_change(self) -> None:
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()

    def _end_filter_change(self) -> None:
        if hasattr(self, "endFilterChange"):
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:  # noqa: N802 - Qt API
        model = self.sourceModel()
        if not isinstance(model, ResultsTableModel) or source_row >= model.rowCount():
            return True
        row = model.row(source_row)
        if self._text and self._text not in Path(row.path).name.lower():
            return False
        if self._mode == FILTER_POSITIVE:
            return row.status == STATUS_OK and row.positive
        if self._mode == FILTER_NEGATIVE:
            return row.status == STATUS_OK and not row.positive
        if self._mode == FILTER_UNSUPPORTED:
            return row.status == STATUS_UNSUPPORTED
        if self._mode == FILTER_ERROR:
            return row.status == STATUS_ERROR
        return True

    def lessThan(self, left, right) -> bool:  # noqa: N802 - Qt API
        a = left.data(SORT_ROLE)
        b = right.data(SORT_ROLE)
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)

    def row_at(self, proxy_row: int) -> ResultRow | None:
        index = self.index(proxy_row, 0)
        return index.data(ROW_ROLE) if index.isValid() else None


__all__ = [
    "ResultsTableModel", "ResultsFilterProxy", "ResultRow", "class_display_name",
    "status_display_name", "record_note",
]
