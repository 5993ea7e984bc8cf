"""A pane that asks for the height its word-wrapped labels need at its current width.

A splitter gives a pane at least its `minimumSizeHint`, which a wrapped label computes for a
comfortable width, not the pane's own: narrower, the label wraps to more lines, and the layout,
given less than it needs, draws its children over each other (the Probe tab's legend over the
matrix's last row once a three-line status came under it, at 1366x768 and at 1600x1000 alike).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QWidget


class WrapFitPane(QWidget):
    """Its minimum height follows its layout's height for its width, as its texts change
    (a label's new text posts a layout request here) and as it is resized."""

    def event(self, event) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.LayoutRequest:
            self._fit()
        return handled

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        layout = self.layout()
        if layout is None or not layout.hasHeightForWidth():
            return
        needed = layout.totalHeightForWidth(self.width())
        if needed != self.minimumHeight():
            self.setMinimumHeight(needed)
