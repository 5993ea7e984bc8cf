"""The transcript pane: the utterance text, editable (F2), saved as an undoable edit.

For a variant whose recipe changed the text (misleading caption, long context) it says so:
the text shown is exactly what a model will be given for that clip.
"""

from __future__ import annotations

import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

TEXT_RECIPES = {"caption_misleading": "misleading caption", "context_long": "long context added"}


class _Editor(QPlainTextEdit):
    """Ctrl+Enter saves, Esc cancels; plain Enter is a newline like in any text box."""

    save_requested = Signal()
    cancel_requested = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.save_requested.emit()
        elif event.key() == Qt.Key.Key_Escape:
            self.cancel_requested.emit()
        else:
            super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        if not self.isReadOnly():
            self.save_requested.emit()


class TranscriptPane(QWidget):
    """Emits `edited(clip_id, new_text)` when the curator saves a changed transcript."""

    edited = Signal(int, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._clip_id: int | None = None
        self._saved_text = ""
        self.caption = QLabel("Transcript", self)
        self.caption.setObjectName("muted")
        self.editor = _Editor(self)
        self.editor.setReadOnly(True)
        self.editor.setMaximumHeight(90)
        self.editor.setPlaceholderText("No transcript")
        self.editor.save_requested.connect(self.save)
        self.editor.cancel_requested.connect(self.cancel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.editor)

    def set_clip(self, clip_id: int | None, text: str, recipe_json: str | None = None) -> None:
        if not self.editor.isReadOnly():
            self.save()
        self._clip_id, self._saved_text = clip_id, text
        self.editor.setPlainText(text)
        self.editor.setReadOnly(True)
        self.caption.setText(_caption(recipe_json))

    def begin_edit(self) -> None:
        if self._clip_id is None:
            return
        self.editor.setReadOnly(False)
        self.editor.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.caption.setText("Editing transcript — Ctrl+Enter saves, Esc cancels")

    def save(self) -> None:
        text = self.editor.toPlainText().strip()
        self.editor.setReadOnly(True)
        self.caption.setText("Transcript")
        if self._clip_id is not None and text != self._saved_text:
            self._saved_text = text
            self.edited.emit(self._clip_id, text)

    def cancel(self) -> None:
        self.editor.setPlainText(self._saved_text)
        self.editor.setReadOnly(True)
        self.caption.setText("Transcript")

    def is_editing(self) -> bool:
        return not self.editor.isReadOnly()


def _caption(recipe_json: str | None) -> str:
    if not recipe_json:
        return "Transcript"
    recipe = json.loads(recipe_json)
    names = [step.get("name") for step in recipe.get("steps", [])] or [recipe.get("type")]
    changed = [TEXT_RECIPES[name] for name in names if name in TEXT_RECIPES]
    if not changed:
        return "Transcript (unchanged from the original clip)"
    return f"Transcript the model sees — {', '.join(changed)}"
