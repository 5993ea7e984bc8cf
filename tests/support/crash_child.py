"""The app under test for the kill test: the real main window, driven from the keyboard.

`python crash_child.py DB SCRIPT_JSON START` opens the window on DB and performs the scripted
edits from index START on, as a curator would: select the clip, press a label key (1-7), answer
the current alignment check (Y / N / U) or edit the transcript (F2, type, Ctrl+Enter). After each
edit it waits for what the curator sees as "saved" (the panel says "Saved" with nothing pending;
"Transcript saved" in the status bar) and prints `ACK <index> <kind> <clip> <key> <value>`.
The parent kills it (SIGKILL) whenever it likes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.support.qt_wait import run_until


def wait_until(window, predicate, what: str, timeout_s: float = 30.0) -> None:
    if not run_until(predicate, timeout_s):
        raise SystemExit(f"timed out waiting for {what}: {window.annotation.status.text()!r} "
                         f"{window.checks.status.text()!r} {window.statusBar().currentMessage()!r}")


def go_to(window, position: int) -> int:
    """Select the clip at `position` and wait until both panels have loaded it."""
    clip_id = window.browser.model.row_at(position).id
    window.browser.table.select_position(position)
    wait_until(window, lambda: window.annotation.clip_id == clip_id
               and window.annotation.state is not None and window.checks.state is not None
               and window.checks.state.clip_id == clip_id
               and not window.transcript.is_editing(), f"clip {clip_id} to load")
    window.browser.table.setFocus()
    return clip_id


def edit_label(window, value: int) -> tuple[str, str]:
    QTest.keyClick(window.browser.table, Qt.Key(Qt.Key.Key_1 + value))
    wait_until(window, lambda: not window.annotation.has_unsaved()
               and window.annotation.status.text().startswith("Saved"), "the label to save")
    box = window.annotation.boxes[window.annotation.active]
    return box.task.name, box.task.labels[value]


def edit_check(window, value: str) -> tuple[str, str]:
    checks = window.checks
    key = checks.rows[checks.current].check.key
    QTest.keyClick(window.browser.table, {"yes": Qt.Key.Key_Y, "no": Qt.Key.Key_N,
                                          "unsure": Qt.Key.Key_U}[value])
    wait_until(window, lambda: not checks.has_unsaved() and checks.status.text() == "Saved",
               "the check answer to save")
    return key, value


def edit_transcript(window, text: str, acks: list[str]) -> tuple[str, str]:
    window.statusBar().clearMessage()  # an earlier "Transcript saved" may still be showing
    acks.clear()
    if window.transcript.editor.toPlainText() == text:  # saved before the last kill: shown
        return "transcript", text
    QTest.keyClick(window.browser.table, Qt.Key.Key_F2)
    editor = window.transcript.editor
    editor.selectAll()
    QTest.keyClicks(editor, text)
    QTest.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    wait_until(window, lambda: "Transcript saved" in acks, "the transcript to save")
    window.browser.table.setFocus()
    return "transcript", text


def main(db_path: str, script_path: str, start: int) -> None:
    app = QApplication(["mmla-kill-test"])
    app.setOrganizationName("mmla-kill-test")
    QSettings().setValue("review/annotator", "alice")
    from mmla_app.main_window import MainWindow

    script = json.loads(Path(script_path).read_text(encoding="utf-8"))
    window = MainWindow(db_path, demo=False)
    window.show()
    wait_until(window, lambda: window.browser.model.rowCount() > 0, "the clip table")
    acks: list[str] = []
    window.statusBar().messageChanged.connect(acks.append)
    ids = [window.browser.model.row_at(r).id for r in range(window.browser.model.rowCount())]
    print("CLIPS", json.dumps(ids), flush=True)
    for index in range(start, len(script)):
        position, kind, value = script[index]
        clip_id = go_to(window, position)
        if kind == "label":
            key, saved = edit_label(window, value)
        elif kind == "check":
            key, saved = edit_check(window, value)
        else:
            key, saved = edit_transcript(window, value, acks)
        print("ACK", json.dumps([index, kind, clip_id, key, saved], ensure_ascii=False),
              flush=True)
    print("DONE", flush=True)
    app.exec()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
