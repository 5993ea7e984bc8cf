"""Panes and dialogs that take the height their word-wrapped labels need at their width.

A top-level window does not grow when a wrapped label's text gets longer (Qt sizes it from its
layout's size hint, not its height for the width it has): a dialog sized at opening to its
short texts cut a long error's last lines, or squeezed the rows above it. `grow_with_text`
makes a dialog grow to fit, within the screen, whenever one of its texts changes.

A splitter gives a pane at least its `minimumSizeHint`, which a wrapped label computes for a
comfortable width, not the pane's own: narrower, the label wraps to more lines, and the layout,
given less than it needs, draws its children over each other (the Probe tab's legend over the
matrix's last row once a three-line status came under it, at 1366x768 and at 1600x1000 alike).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

from mmla_app.widgets.screen_fit import available_size, fit_resize


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


def grow_with_text(window: QWidget) -> None:
    """From now on `window` (a dialog with a layout) grows to the height its layout needs at
    its width each time a text in it changes or it is resized (never shrinking below what the
    person made it), within the screen; its minimum height follows, so nothing is squeezed."""
    window.installEventFilter(_GrowWithText(window))


class _GrowWithText(QObject):
    def eventFilter(self, watched, event) -> bool:
        if event.type() in (QEvent.Type.LayoutRequest, QEvent.Type.Resize):
            fit_height(watched)
        return False


def fit_height(window: QWidget) -> None:
    """Grow `window` to its layout's height for its width (screen permitting), now."""
    layout = window.layout()
    if layout is None:
        return
    layout.activate()
    needed = (layout.totalHeightForWidth(window.width()) if layout.hasHeightForWidth()
              else layout.totalSizeHint().height())
    needed = min(needed, available_size(window)[1])
    if needed != window.minimumHeight():
        window.setMinimumHeight(needed)
    if needed > window.height():
        fit_resize(window, window.width(), needed)
