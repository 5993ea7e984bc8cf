"""Open every clip of a project in the real main window (player + waveform), one after another.

`python gui_corpus_child.py DB` selects each clip in the clip table, waits until the player is
ready and the waveform has loaded (or said why not), plays a moment, and prints one JSON line per
clip: what the video area, the waveform and the status bar showed. The parent checks the window
survived every clip and that broken ones show an error.
"""

from __future__ import annotations

import json
import sys
import time

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from tests.support.qt_wait import run_until

CLIP_TIMEOUT_S = 60.0


def wait(predicate, timeout_s: float) -> bool:
    return run_until(predicate, timeout_s, poll_ms=10)


def show_clip(window, position: int, notices: list[str], loaded: list[float]) -> dict:
    row = window.browser.model.row_at(position)
    notices.clear()
    loaded.clear()
    started = time.monotonic()
    window.browser.table.select_position(position)
    ok = wait(lambda: window.current_row is not None and window.current_row.id == row.id
              and window.player.is_ready() and bool(loaded), CLIP_TIMEOUT_S)
    if ok and window.player.duration() > 0:
        window.player.play()
        wait(lambda: False, 0.15)
        window.player.pause()
    return {"clip": row.id, "ready": ok, "seconds": round(time.monotonic() - started, 2),
            "video": window.player.view.message(), "frame": window.player.view.image() is not None,
            "waveform": window.waveform.message.toPlainText(), "notices": list(notices)}


def main(db_path: str, start: int) -> None:
    app = QApplication(["mmla-corpus-test"])
    app.setOrganizationName("mmla-corpus-test")
    QSettings().setValue("review/annotator", "alice")
    from mmla_app.main_window import MainWindow

    window = MainWindow(db_path, demo=False)
    window.show()
    wait(lambda: window.browser.model.rowCount() > 0, 30)
    notices: list[str] = []
    loaded: list[float] = []
    window.statusBar().messageChanged.connect(lambda text: text and notices.append(text))
    window.waveform.loaded.connect(loaded.append)
    for position in range(start, window.browser.model.rowCount()):
        print(json.dumps(show_clip(window, position, notices, loaded), ensure_ascii=False),
              flush=True)
    window.close()
    print("DONE", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0)
