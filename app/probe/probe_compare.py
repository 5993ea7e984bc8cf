"""Two probes of one clip side by side (Probe tab > Compare…): zero-shot against a fine-tuned
adapter, or one model against another. Each cell shows A's answer and B's; a cell where they
differ is outlined and marked ≠, with "fixed" / "broken" when B turned a wrong answer right or a
right one wrong, and B's change of P(gold) in the tooltip."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mmla_app.probe.probe_figure import RIGHT, WRONG
from mmla_app.runtime.project import Project
from mmla_app.widgets.screen_fit import fit_resize
from mmla_core.probe.compare import compare_probes
from mmla_core.probe.matrix import load_probe

DIFFERS = QColor("#fff1c2")
LEGEND = ("Each cell: A's answer | B's answer. ≠ marks a cell where they differ (highlighted); "
          "“fixed”: B right where A was wrong, “broken”: the reverse. Hover a cell for both "
          "probabilities and B's change of P(gold).")


def load_comparison(store, run_a: int, run_b: int):
    return compare_probes(load_probe(store, run_a), load_probe(store, run_b))


def _answer(cell) -> str:
    return "—" if cell is None else f"{cell.predicted} {cell.p_predicted:.2f}"


def cell_text(pair) -> str:
    mark = "≠ " if pair.differs else ""
    change = f"  ({pair.correctness_changed})" if pair.correctness_changed else ""
    return f"{mark}{_answer(pair.a)} | {_answer(pair.b)}{change}"


def cell_tip(pair) -> str:
    def side(name, cell):
        if cell is None:
            return f"{name}: not run"
        p_gold = "—" if cell.p_gold is None else f"{cell.p_gold:.3f}"
        return f"{name}: {cell.predicted} (P {cell.p_predicted:.3f}), P(gold) {p_gold}"

    delta = "" if pair.delta_p_gold is None else f"\nB − A in P(gold): {pair.delta_p_gold:+.3f}"
    return f"{side('A', pair.a)}\n{side('B', pair.b)}{delta}"


class ProbeCompareDialog(QDialog):
    """Pick probes A and B of the clip; the matrix of both fills in the background."""

    def __init__(self, project: Project, probes: list[int], run_a: int, run_b: int,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Compare two probes")
        self.runner = project.runner.scope("probe_compare")
        self.comparison = None
        self.combo_a, self.combo_b = QComboBox(self), QComboBox(self)
        for combo, chosen in ((self.combo_a, run_a), (self.combo_b, run_b)):
            for run_id in probes:
                combo.addItem(f"probe #{run_id}", run_id)
            combo.setCurrentIndex(max(combo.findData(chosen), 0))
            combo.currentIndexChanged.connect(self.refresh)
        self.title = QLabel(self, wordWrap=True)
        self.table = QTableWidget(0, 0, self)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.summary = QLabel(self, wordWrap=True)
        form = QFormLayout()
        form.addRow("A", self.combo_a)
        form.addRow("B", self.combo_b)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        for widget in (self.title, self.table, self.summary,
                       QLabel(LEGEND, self, wordWrap=True, objectName="muted")):
            layout.addWidget(widget, 1 if widget is self.table else 0)
        fit_resize(self, 820, 520)
        self.refresh()

    def refresh(self) -> None:
        a, b = self.combo_a.currentData(), self.combo_b.currentData()
        self.summary.setText("Reading the probes…")
        self.runner.submit(load_comparison, a, b, channel="compare", on_success=self.show,
                           on_error=lambda exc: self.summary.setText(str(exc)))

    def show(self, comparison=None) -> None:  # QDialog.show() too, when called without one
        if comparison is None:
            super().show()
            return
        self.comparison = comparison
        self.title.setText(f"<b>A</b> {comparison.a.title()}<br><b>B</b> "
                           f"{comparison.b.title()}<br>clip {comparison.a.clip_id}, task "
                           f"{comparison.a.task}, gold {comparison.a.gold or '—'}")
        self.table.setRowCount(len(comparison.rows))
        self.table.setColumnCount(len(comparison.prompts))
        self.table.setHorizontalHeaderLabels([p.replace("_", " ") for p in comparison.prompts])
        self.table.setVerticalHeaderLabels([r.replace("_", " ") for r in comparison.rows])
        for r, row in enumerate(comparison.rows):
            for c, prompt in enumerate(comparison.prompts):
                self.table.setItem(r, c, self._item(comparison.pair(row, prompt)))
        self.summary.setText(comparison.summary())

    def _item(self, pair) -> QTableWidgetItem:
        item = QTableWidgetItem(cell_text(pair))
        item.setToolTip(cell_tip(pair))
        item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
        colour = {"fixed": RIGHT, "broken": WRONG}.get(pair.correctness_changed,
                                                       DIFFERS if pair.differs else None)
        if colour is not None:
            item.setBackground(QBrush(colour))
        if pair.differs:
            font = QFont(item.font())
            font.setBold(True)
            item.setFont(font)
        return item

    def done(self, result: int) -> None:
        self.runner.close()
        super().done(result)


def open_probe_compare(window, project: Project, probes: list[int], run_a: int,
                       run_b: int) -> ProbeCompareDialog:
    dialog = window.probe_compare = ProbeCompareDialog(project, probes, run_a, run_b, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
