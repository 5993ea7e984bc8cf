"""The alignment-check panel: the dataset's checks (MMA-Bench's four unless the curator defined
their own), Yes / No / Unsure by key or click, the current check highlighted, and the verdict.

Model answers (source 'model', written by probing runs) are a separate layer under each check,
with their confidence, and "Accept model answers" copies them into the checks the curator has not
answered. `current_check_changed(key, shown)` tells the player what to present (muted video,
black frames, or the full clip) while the curator answers.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from mmla_app import keymap
from mmla_app.ops import curation as ops
from mmla_app.runtime.runner import Runner
from mmla_app.widgets.elided_label import ElidedLabel
from mmla_app.widgets.panel_frame import BackgroundWrites, build_panel_frame
from mmla_core.store.checks import clip_check_state

ANSWERS = (("yes", "Yes", "check_yes"), ("no", "No", "check_no"),
           ("unsure", "Unsure", "check_unsure"))
MAX_ROWS_HEIGHT = 420  # px of check rows before the list scrolls
VERDICT_STYLE = {
    "accept": ("Accept", "#2e9d5b"),
    "reject": ("Reject", "#c8453b"),
    None: ("Open", "#8a8f98"),
}
PANEL_STYLE = """
QLabel#panelTitle { font-weight: 600; font-size: 11pt; }
QFrame#checkRow { border: 1px solid #d5d8de; border-radius: 6px; background: #fafbfc; }
QFrame#checkRow[current="true"] { border: 2px solid #3d6fb6; background: #eef3fb; }
QPushButton#answerButton { padding: 3px 10px; border: 1px solid #c5c9d0; border-radius: 4px;
    background: white; }
QPushButton#answerButton[answer="yes"]:checked { background: #2e9d5b; color: white; }
QPushButton#answerButton[answer="no"]:checked { background: #c8453b; color: white; }
QPushButton#answerButton[answer="unsure"]:checked { background: #d08a1c; color: white; }
QLabel#modelLayer { color: #7a4fb0; font-style: italic; }
QLabel#checkTitle { font-weight: 600; }
QLabel#checkQuestion { color: #40444b; font-size: 9pt; }
QLabel#verdict { color: white; border-radius: 9px; padding: 2px 10px; font-weight: 600; }
QLabel#muted { color: #6b7079; }
"""


def load_check_state(store, clip_id: int, annotator: str):
    return clip_check_state(store, clip_id, annotator)


class CheckRow(QFrame):
    """One check: its question, what is shown while answering, the buttons, the model layer."""

    answered = Signal(int, str)  # row index, answer

    def __init__(self, index: int, check, keys: dict[str, str], parent: QWidget | None = None):
        super().__init__(parent, objectName="checkRow")
        self.index, self.check = index, check
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(2)
        top = QHBoxLayout()
        top.setSpacing(4)
        # the title shares its line with the buttons and gives way first (elided, full text in
        # its tooltip), so the four checks fit a 1366x768 screen without scrolling
        title = ElidedLabel(f"{index + 1}. {check.label}", self, objectName="checkTitle")
        title.setToolTip(f"{check.label}: {check.shown_text}")
        top.addWidget(title, 1)
        self.buttons: dict[str, QPushButton] = {}
        for answer, text, action_id in ANSWERS:
            key = keys.get(action_id, "")
            button = QPushButton(f"{text} ({key})" if key else text, self,
                                 objectName="answerButton", checkable=True)
            button.setProperty("answer", answer)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, a=answer: self.answered.emit(self.index, a))
            top.addWidget(button)
            self.buttons[answer] = button
        layout.addLayout(top)
        question = QLabel(check.question, self, wordWrap=True, objectName="checkQuestion")
        question.setToolTip(f"Shown while answering: {check.shown_text}")
        layout.addWidget(question)
        self.layer = QLabel(self, objectName="modelLayer", wordWrap=True)
        layout.addWidget(self.layer)

    def show_answers(self, mine: str | None, model: dict | None,
                     others: list[tuple[str, str]]) -> None:
        for answer, button in self.buttons.items():
            button.setChecked(answer == mine)
        lines = []
        if model is not None:
            confidence = model.get("confidence")
            shown = f" · {confidence:.0%}" if confidence is not None else ""
            name = str(model["annotator"]).removeprefix("model:")
            lines.append(f"model {name}: {model['answer']}{shown}")
        if others:
            lines.append(" · ".join(f"{who}: {a}" for who, a in others))
        self.layer.setText("<br>".join(lines))
        self.layer.setVisible(bool(lines))

    def set_current(self, current: bool) -> None:
        self.setProperty("current", "true" if current else "false")
        self.style().unpolish(self)
        self.style().polish(self)


class ChecksPanel(BackgroundWrites, QWidget):
    """The clip's alignment checks, answered by Y / N / U (or clicks); writes commit at once."""

    changed = Signal(int)
    current_check_changed = Signal(str, str)  # check key, SHOWN key (muted|black_frames|full)
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setStyleSheet(PANEL_STYLE)
        self.db_path: Path | None = None
        self.annotator = ""
        self.clip_id: int | None = None
        self.state = None
        self.rows: list[CheckRow] = []
        self.current = 0
        self._pending_writes = 0
        self._build()

    def _build(self) -> None:
        self.verdict_label = QLabel(self, objectName="verdict")
        frame = build_panel_frame(self, "Alignment checks", "Select a clip to check it.",
                                  self.verdict_label)
        layout, self.empty_label, self.scroll = frame.layout, frame.empty_label, frame.scroll
        self.row_layout = frame.body
        footer = QHBoxLayout()
        self.accept_model_button = QPushButton("Accept model answers", self)
        self.accept_model_button.setToolTip("Copy the model's answers into the checks you have "
                                            "not answered yourself")
        self.accept_model_button.clicked.connect(self.accept_model_answers)
        footer.addWidget(self.accept_model_button)
        self.status = QLabel(self, objectName="muted")
        footer.addWidget(self.status, 1)
        layout.addLayout(footer)
        self._show_empty()

    # --- public API -------------------------------------------------------------------------

    def set_context(self, db_path: str | Path, annotator: str, runner: Runner) -> None:
        """Point the panel at a project and a curator (reading through `runner`, the project's)."""
        self.db_path, self.annotator = Path(db_path), annotator
        self._pending_writes = 0
        self._use_runner(runner)
        previous, self.clip_id = self.clip_id, None
        self.set_clip(previous)

    def set_clip(self, clip_id: int | None) -> None:
        if clip_id != self.clip_id:
            self.state = None  # keys wait for this clip's answers: never write to the last one
            for row in self.rows:
                row.show_answers(None, None, [])
        self.clip_id = clip_id
        if clip_id is None or self._runner is None:
            self._show_empty()
            return
        self.refresh()

    def refresh(self) -> None:
        if self.clip_id is None or self._runner is None:
            return
        self._runner.submit(load_check_state, self.clip_id, self.annotator,
                            channel=f"checks-{id(self)}", on_success=self._on_state,
                            on_error=lambda exc: self._say(f"Could not load checks: {exc}"))

    def answer_current(self, answer: str) -> bool:
        """Answer the current check ('yes' | 'no' | 'unsure') and move to the next one."""
        if self.state is None and self.clip_id is not None and self.annotator:
            # The clip is still loading: the writer thread answers the first open check, in
            # the order of every key pressed in any panel (undo stays in order).
            self._write(ops.answer_checks_in_order(self.clip_id, [answer], self.annotator))
            return True
        if self.state is None or not self.rows or not self.annotator:
            self._say("No clip loaded yet")
            return False
        row = self.rows[self.current]
        self.state.mine[row.check.key] = answer  # shown at once; the database follows
        self._show_state()
        self._write(ops.answer_check(self.state.clip_id, row.check.key, answer, self.annotator))
        if self.current < len(self.rows) - 1:
            self.set_current(self.current + 1)
        return True

    def set_current(self, index: int) -> None:
        if not self.rows:
            return
        self.current = max(0, min(index, len(self.rows) - 1))
        for i, row in enumerate(self.rows):
            row.set_current(i == self.current)
        row = self.rows[self.current]
        self.scroll.ensureWidgetVisible(row)
        self.current_check_changed.emit(row.check.key, row.check.shown)

    def accept_model_answers(self) -> None:
        if self.state is None or not self.state.model_to_accept():
            self._say("No model answers to accept")
            return
        self.state.mine.update(self.state.model_to_accept())
        self._show_state()
        self._write(ops.accept_model_answers(self.state.clip_id, self.annotator))

    def verdict(self) -> str | None:
        return None if self.state is None else self.state.verdict

    def shutdown(self) -> None:
        """Nothing of its own to stop: it reads through the project's runner, which the
        window closes, and its answers are already on the writer thread."""

    # --- showing ------------------------------------------------------------------------------

    def _on_state(self, state) -> None:
        if not isValid(self) or state.clip_id != self.clip_id or self._pending_writes:
            return
        new_clip = self.state is None
        self.state = state
        self._ensure_rows(state.checks)
        self._show_state()
        if new_clip:
            self.set_current(state.first_open_index())

    def _ensure_rows(self, checks) -> None:
        self.empty_label.hide()
        self.scroll.show()
        if list(checks) == [r.check for r in self.rows]:
            return
        for row in self.rows:
            row.deleteLater()
        bindings = keymap.current_bindings()
        keys = {action_id: keymap.display_text(bindings.get(action_id, ""))
                for _, _, action_id in ANSWERS}
        self.rows = []
        for i, check in enumerate(checks):
            row = CheckRow(i, check, keys, self.scroll.widget())
            row.answered.connect(self._on_row_answered)
            self.row_layout.insertWidget(self.row_layout.count() - 1, row)
            self.rows.append(row)
        QTimer.singleShot(0, self._fit_rows)  # new rows are shown (and measurable) after a turn


    def _fit_rows(self) -> None:
        """Ask for the rows' whole height (capped), so the checks show without scrolling and the
        labels above give way; many custom checks still scroll."""
        if not isValid(self):
            return
        area = self.scroll.widget()
        width = max(self.scroll.viewport().width(), 200)
        height = area.layout().heightForWidth(width) if area.layout().hasHeightForWidth() \
            else area.sizeHint().height()
        self.scroll.setMinimumHeight(min(height + 4, MAX_ROWS_HEIGHT))  # +4: rounding, no bar

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.rows:
            self._fit_rows()

    def _show_state(self) -> None:
        state = self.state
        for row in self.rows:
            key = row.check.key
            row.show_answers(state.mine.get(key), state.model.get(key), state.others.get(key, []))
        text, colour = VERDICT_STYLE[state.verdict]
        if state.verdict is None:
            text = f"{text} · {state.answered} of {len(state.checks)}"
        self.verdict_label.setText(text)
        self.verdict_label.setStyleSheet(f"background: {colour};")
        self.verdict_label.show()
        self.accept_model_button.setEnabled(bool(state.model_to_accept()))

    def _show_empty(self) -> None:
        self.empty_label.show()
        self.scroll.hide()
        self.verdict_label.hide()
        self.accept_model_button.setEnabled(False)

    def _on_row_answered(self, index: int, answer: str) -> None:
        self.set_current(index)
        self.answer_current(answer)

    # --- writing ------------------------------------------------------------------------------

    def has_unsaved(self) -> bool:
        """True while an answer shown on screen has not been committed yet."""
        return self._pending_writes > 0
