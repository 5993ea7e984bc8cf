"""A one-line label that never widens its window: long text is elided ("…") to the width it
gets, and the full text is in its tooltip. Its minimum width is a few characters, so a long
variant title cannot push the main window past the screen."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """`text()` is the full text; what is painted is cut to fit, with the rest in the tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight, **kwargs):
        super().__init__(parent, **kwargs)
        self._full, self._mode, self._tip = "", mode, ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text or ""
        self.updateGeometry()
        self._elide()

    def text(self) -> str:
        return self._full

    def setToolTip(self, tip: str) -> None:
        """A tooltip of its own; the full text is added above it when the text is cut."""
        self._tip = tip or ""
        self._elide()

    def is_elided(self) -> bool:
        return QLabel.text(self) != self._full

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + 4, hint.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance("M…") * 3, super().sizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.contentsRect().width(), 1)
        shown = self.fontMetrics().elidedText(self._full, self._mode, width)
        if shown != QLabel.text(self):
            QLabel.setText(self, shown)
        tip = "\n".join(t for t in ((self._full if shown != self._full else ""), self._tip) if t)
        QLabel.setToolTip(self, tip)
