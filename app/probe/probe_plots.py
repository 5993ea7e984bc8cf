"""Under the probe matrix: the selected cell's label probabilities and its attention by
modality per layer (integer layer ticks, the legend beside the plot, not over the lines), and a
sentence wherever a pane is empty saying why."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from mmla_core.probe.matrix import ProbeCell

BAR_WIDTH = 20
MODALITY_PENS = (("video", "#2563eb"), ("audio", "#16a34a"), ("text", "#d97706"))
NO_CELL = "Select a cell of the matrix to see its label probabilities."
NO_ATTENTION = ("No attention for this cell: tick “Attention by modality” and run the probe "
                "again to see which modality each layer attends to.")


def layer_ticks(count: int, most: int = 12) -> list[tuple[int, str]]:
    """Whole layer numbers only (a 2-layer model gets 0 and 1, never 0.2 or 0.4)."""
    step = max(1, -(-count // most))
    return [(layer, str(layer)) for layer in range(0, count, step)]


def _attention_plot(parent: QWidget):
    import pyqtgraph as pg

    plot = pg.PlotWidget(parent, background="w")
    plot.setMinimumHeight(120)
    plot.setLabel("bottom", "layer")
    plot.setLabel("left", "attention share")
    plot.setYRange(0, 1)
    plot.setMouseEnabled(x=False, y=False)
    plot.hide()
    return plot


class ProbePlots(QWidget):
    """Bars of one cell's label probabilities and its attention plot."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.bars = QLabel(NO_CELL, self, objectName="muted", wordWrap=True)
        self.bars.setTextFormat(Qt.TextFormat.PlainText)
        self.bars.setStyleSheet("font-family: monospace;")
        self.bars.setToolTip("The labels the model could answer, most probable first (top 10); "
                             "█ bars are probabilities, ← gold marks the clip's own label")
        self.attention_plot = _attention_plot(self)
        self.attention_plot.setToolTip("Share of the answer position's attention on the video, "
                                       "audio and text tokens, per layer (sums to 1 with the "
                                       "prompt's other tokens left out)")
        self.attention_legend = QLabel(" ".join(
            f"<span style='color:{colour}'>━ {name}</span>" for name, colour in MODALITY_PENS),
            self)
        self.attention_legend.hide()
        self.attention_note = QLabel(self, objectName="muted", wordWrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.bars, self.attention_plot, self.attention_legend,
                       self.attention_note):
            layout.addWidget(widget, 1 if widget is self.attention_plot else 0)

    def clear(self) -> None:
        self.show_cell(None)

    def show_cell(self, cell: ProbeCell | None) -> None:
        self._show_bars(cell)
        self._show_attention(cell)

    def _show_bars(self, cell: ProbeCell | None) -> None:
        if cell is None:
            self.bars.setText(NO_CELL)
            return
        width = max(len(label) for label in cell.scores)
        self.bars.setText("\n".join(
            f"{label:<{width}} {'█' * round(p * BAR_WIDTH):<{BAR_WIDTH}} {p:.3f}"
            f"{'  ← gold' if label == cell.gold else ''}"
            for label, p in sorted(cell.scores.items(), key=lambda kv: -kv[1])[:10]))

    def _show_attention(self, cell: ProbeCell | None) -> None:
        """Layer x modality: the share of the answer position's attention on each modality."""
        self.attention_plot.clear()
        shares = cell.attention if cell is not None else None
        for widget in (self.attention_plot, self.attention_legend):
            widget.setVisible(bool(shares))
        self.attention_note.setText("" if shares or cell is None else NO_ATTENTION)
        self.attention_note.setVisible(bool(cell is not None and not shares))
        if not shares:
            return
        layers = list(range(len(shares)))
        for column, (name, colour) in enumerate(MODALITY_PENS):
            self.attention_plot.plot(layers, [layer[column] for layer in shares], name=name,
                                     pen=colour, symbol="o", symbolSize=5, symbolBrush=colour)
        self.attention_plot.getAxis("bottom").setTicks([layer_ticks(len(shares))])
        self.attention_plot.setXRange(-0.2, max(len(shares) - 1, 1) + 0.2, padding=0)
