"""Live curves of one training job: train and dev loss on top, dev (and the final test) accuracy
below (pyqtgraph).

Points are appended as the monitor polls new events (`add_events`), so a curve is drawn from the
first logged step (LlamaBoard users asked for exactly that: "too few steps to plot"). The x axis
is the optimizer step, shared by both plots; checkpoints are thin vertical ticks on the loss plot.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

REDRAW_MS = 1000  # points are taken at every poll; the plots redraw at most once a second
TRAIN_PEN, EVAL_PEN, ACC_PEN, CHECKPOINT_PEN = "#3d6fb6", "#d97706", "#2e9d5b", "#b8bcc4"
TEST_PEN = "#7c3aed"
# one legend for both plots, in a row of its own above them: inside a plot it covered the last
# points (the accuracy curve ends top right, where the curves grow)
LEGEND = (("loss", "train loss"), ("eval_loss", "dev loss"), ("eval_accuracy", "dev acc."),
          ("test_accuracy", "test acc."))
# (series, event kind, event column): the final test accuracy is its own point, not dev
SERIES = (("loss", "train", "loss"), ("eval_loss", "eval", "eval_loss"),
          ("eval_accuracy", "eval", "eval_accuracy"), ("test_accuracy", "test", "eval_accuracy"))


class TrainingCurves(QWidget):
    """Two linked plots; `add_events(events)` appends, `clear()` starts a new job."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        import pyqtgraph as pg

        self._pg = pg
        self.points: dict[str, _Series] = {}
        self._dirty: set[str] = set()
        self._redraw = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._redraw.timeout.connect(self.redraw)
        self.checkpoints: list = []
        self.loss_plot = self._plot("loss")
        self.acc_plot = self._plot("accuracy")
        self.acc_plot.setXLink(self.loss_plot)
        self.acc_plot.setLabel("bottom", "step")
        self.acc_plot.setYRange(0, 1, padding=0.15)  # room to label 0 and 1
        # a short plot (1366x768): 0, 0.5, 1 only (labels every 0.2 touched each other; a minor
        # level at 0.25 was labelled "0.2")
        self.acc_plot.getAxis("left").setTickSpacing(levels=[(0.5, 0)])
        self.items = {
            "loss": self.loss_plot.plot(name="train", pen=pg.mkPen(TRAIN_PEN, width=1.5)),
            "eval_loss": self.loss_plot.plot(
                name="dev", pen=pg.mkPen(EVAL_PEN, width=2), symbol="o", symbolSize=5,
                symbolBrush=EVAL_PEN, symbolPen=None),
            "eval_accuracy": self.acc_plot.plot(
                name="dev", pen=pg.mkPen(ACC_PEN, width=2), symbol="o", symbolSize=5,
                symbolBrush=ACC_PEN, symbolPen=None),
            "test_accuracy": self.acc_plot.plot(
                name="test", pen=None, symbol="star", symbolSize=12, symbolBrush=TEST_PEN,
                symbolPen=None),
        }
        self.legend = self._legend()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.loss_plot, 3)
        layout.addWidget(self.acc_plot, 2)
        self.clear()

    def _legend(self):
        """The series in one line over the loss plot, in its title row (kept that high)."""
        legend = self._pg.LegendItem(colCount=len(LEGEND), labelTextSize="8pt", horSpacing=8)
        plot_item = self.loss_plot.getPlotItem()
        legend.setParentItem(plot_item)
        legend.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=(-4, 0))
        for name, text in LEGEND:
            legend.addItem(self.items[name], text)
        plot_item.layout.setRowFixedHeight(0, legend.boundingRect().height())
        return legend

    def _plot(self, y_label: str):
        plot = self._pg.PlotWidget(self, background="w")
        plot.setMinimumHeight(90)
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setLabel("left", y_label)
        for side in ("left", "bottom"):  # a loss of 0.9, not 900 (x0.001); steps as counted
            plot.getAxis(side).enableAutoSIPrefix(False)
        plot.setMouseEnabled(x=True, y=False)
        # a long run has tens of thousands of steps: draw ~2 points per pixel (peaks kept)
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        return plot

    def clear(self) -> None:
        self.points = {name: _Series() for name, _kind, _column in SERIES}
        self._dirty.clear()
        self._redraw.stop()
        for item in self.items.values():
            item.setData([], [])
        for line in self.checkpoints:
            self.loss_plot.removeItem(line)
        self.checkpoints = []

    def add_events(self, events: list[dict]) -> None:
        """Append the new events of the job (in id order); what changed is redrawn at once the
        first time (a job just opened), then at most once every REDRAW_MS (drawing two plots
        twice a second was half of what watching a run cost)."""
        first = not any(series.size for series in self.points.values())
        changed = self._dirty
        for event in events:
            if event.get("kind") == "checkpoint":
                self._add_checkpoint(event["step"])
                continue
            for name, kind, column in SERIES:
                value = event.get(column)
                if value is not None and (event.get("kind") or "train") == kind:
                    self.points[name].append(event["step"], value)
                    changed.add(name)
        if first:
            self.redraw()
        elif changed and not self._redraw.isActive():
            self._redraw.start()

    def redraw(self) -> None:
        for name in self._dirty:
            self.items[name].setData(*self.points[name].arrays())
        self._dirty.clear()

    def _add_checkpoint(self, step: int) -> None:
        pg = self._pg
        line = pg.InfiniteLine(step, angle=90, movable=False,
                               pen=pg.mkPen(CHECKPOINT_PEN, width=1, style=Qt.PenStyle.DashLine))
        line.setToolTip(f"checkpoint-{step}")
        self.loss_plot.addItem(line, ignoreBounds=True)
        self.checkpoints.append(line)

    def set_planned_steps(self, steps: int | None) -> None:
        """Fix the step axis to the whole run when its length is known: the axis then stays put
        while points arrive (no tick relayout per poll), and the curve shows how far along it is."""
        if steps:
            self.loss_plot.setXRange(0, steps, padding=0.02)
        else:
            self.loss_plot.enableAutoRange(x=True)

    def point_count(self, name: str) -> int:
        return self.points[name].size


class _Series:
    """x/y arrays that grow by doubling: each poll appends a few points to a long run's curve
    without converting the whole history again."""

    def __init__(self) -> None:
        self.data = np.empty((2, 256))
        self.size = 0

    def append(self, x: float, y: float) -> None:
        if self.size == self.data.shape[1]:
            self.data = np.concatenate([self.data, np.empty_like(self.data)], axis=1)
        self.data[:, self.size] = (x, y)
        self.size += 1

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self.data[0, :self.size], self.data[1, :self.size]
