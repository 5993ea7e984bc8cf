"""What the side panels share: the frame (title row, empty-state line, scrolling body) and the
bookkeeping of their background writes."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from mmla_app.ops.op import submit


@dataclass
class PanelFrame:
    layout: QVBoxLayout       # the panel's own layout: add footers below the body
    empty_label: QLabel       # shown instead of the body when there is nothing to show
    scroll: QScrollArea
    body: QVBoxLayout         # add rows here (a stretch keeps them at the top)


def build_panel_frame(panel: QWidget, title: str, empty_text: str,
                      corner: QWidget) -> PanelFrame:
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(0, 0, 0, 0)
    header = QHBoxLayout()
    header.addWidget(QLabel(title, panel, objectName="panelTitle"))
    header.addStretch(1)
    header.addWidget(corner)
    layout.addLayout(header)
    empty_label = QLabel(empty_text, panel, objectName="muted")
    layout.addWidget(empty_label)
    scroll = QScrollArea(panel, widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area = QWidget(scroll)
    # never squeeze the rows below their natural height: scroll instead
    area.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    body = QVBoxLayout(area)
    body.setContentsMargins(0, 0, 0, 0)
    body.addStretch(1)
    scroll.setWidget(area)
    layout.addWidget(scroll, 1)
    return PanelFrame(layout, empty_label, scroll, body)


class BackgroundWrites:
    """Mixin for a side panel whose edits go through the app's writer thread.

    The panel shows an edit at once; this submits the edit's op (mmla_app.ops), counts the
    writes still in flight, says "Saved" when the last one has committed (what the curator may
    rely on), naming what each write since the last "Saved" changed (`what=`, or a write
    returning (clip id, what)), then reloads the shown state. It reads through the project's
    runner, handed to `set_context` (never one of its own). The panel provides `db_path`,
    `status` (QLabel), `message` and `changed` signals, `refresh()`.
    """

    _pending_writes = 0
    _saved_what: list[str] | None = None
    _runner = None  # reads: the project's Runner (the window closes it), set by `_use_runner`

    def _use_runner(self, runner) -> None:
        """Read through `runner`: the project's (a test builds a Project for a lone panel)."""
        if runner is None:
            raise ValueError(f"{type(self).__name__} reads through the project's runner")
        self._runner = runner

    def _write(self, op, what: str | None = None) -> None:
        """Submit `op` (mmla_app.ops) through the writer thread; its changes go on the bus
        with this panel as initiator once committed."""
        self._pending_writes += 1
        self.status.setText("Saving…")
        submit(self.db_path, op, initiator=self,
               on_success=lambda result: self._on_written(result, what),
               on_error=self._on_write_error)

    def _on_written(self, result, what: str | None = None) -> None:
        if not isValid(self):
            return
        clip_id, what = result if isinstance(result, tuple) else (result, what)
        if self._saved_what is None:
            self._saved_what = []
        if what:
            self._saved_what.append(what)
        self._pending_writes = max(self._pending_writes - 1, 0)
        if not self._pending_writes:
            said, self._saved_what = self._saved_what, []
            self.status.setText("Saved: " + "; ".join(said) if said else "Saved")
            self.refresh()
        self.changed.emit(clip_id)

    def _on_write_error(self, exc: Exception) -> None:
        if not isValid(self):
            return
        self._pending_writes = max(self._pending_writes - 1, 0)
        self._say(f"Could not save: {exc}")
        self.refresh()

    def _say(self, text: str) -> None:
        if isValid(self):
            self.status.setText(text)
            self.message.emit(text)
