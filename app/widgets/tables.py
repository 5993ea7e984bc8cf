"""The read-only result tables the dialogs show (agreement, results)."""

from __future__ import annotations

from PySide6.QtWidgets import QHeaderView, QTableWidget, QTabWidget, QVBoxLayout, QWidget


def read_only_table(columns, parent: QWidget) -> QTableWidget:
    """Whole-row selection, no editing, columns sized to their contents, the last one stretched."""
    return make_read_only(QTableWidget(0, len(columns), parent), columns)


def make_read_only(table: QTableWidget, columns) -> QTableWidget:
    """`read_only_table`'s look, given to a table made elsewhere (a subclass's)."""
    table.setColumnCount(len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def stack(*widgets: QWidget) -> QWidget:
    """Widgets one above the other, tables and tab widgets taking the spare height."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, QTableWidget | QTabWidget) else 0)
    return box
