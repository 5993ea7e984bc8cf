"""Render the main window on the demo project to docs/img/main_window.png (offscreen is fine).

    .venv/bin/python scripts/screenshot.py [--db PATH] [--out PNG] [--row N] [--filter TEXT]

Without --db the demo is imported into a throw-away database, so the user's project is untouched.
The grab happens after the selected clip's frame, waveform and labels have loaded.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "docs" / "img" / "main_window.png"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="project database (default: a temporary demo)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--row", type=int, default=0,
                        help="table row to select (-1: none, to show the empty state)")
    parser.add_argument("--filter", default="", help="text for the filter box")
    parser.add_argument("--size", default="1600x960", help="window size, WxH")
    parser.add_argument("--at", type=float, default=1.2, help="seconds into the clip to show")
    return parser.parse_args(argv)


def wait_until(predicate: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    """Run the event loop until `predicate()` holds (QEventLoop.exec lets worker threads run;
    a QTest.qWait polling loop keeps the GIL and starves them)."""
    from PySide6.QtCore import QEventLoop, QTimer

    if predicate():
        return
    loop, poll = QEventLoop(), QTimer()
    deadline = time.monotonic() + timeout_s
    poll.timeout.connect(lambda: (predicate() or time.monotonic() > deadline) and loop.quit())
    poll.start(20)
    loop.exec()
    poll.stop()
    if not predicate():
        raise TimeoutError(f"timed out waiting for {what}")


def select_row(window, row: int, at_s: float) -> None:
    """Select a row, wait for its frame, waveform and labels, then show the frame at `at_s`."""
    window.browser.table.setFocus()
    window.browser.table.select_position(min(row, window.browser.model.rowCount() - 1))
    wait_until(lambda: window.player.is_ready() and window.waveform.point_count() > 0,
               "the clip's frame and waveform")
    window.player.seek(at_s)
    frame = window.player.current_frame_index()
    wait_until(lambda: window.player.shown_frame_index() == frame, "the frame at the seek")
    wait_until(lambda: not window.runner.busy, "background jobs")


def render(db_path: Path, args: argparse.Namespace) -> Path:
    from PySide6.QtWidgets import QApplication

    from mmla_app.main import set_app_identity
    from mmla_app.main_window import MainWindow
    from mmla_app.theme import apply_theme

    app = QApplication.instance() or QApplication(["mmla-studio"])
    set_app_identity(app)
    apply_theme(app)
    window = MainWindow(db_path, demo=True if args.db is None else None)
    width, height = (int(v) for v in args.size.lower().split("x"))
    window.resize(width, height)
    window.show()
    model = window.browser.model
    wait_until(lambda: model.rowCount() > 0, "the clip list")
    if args.filter:
        window.browser.text_edit.setText(args.filter)
        wait_until(lambda: model.rowCount() < model.total_count(), "the filter")
    if args.row >= 0:
        select_row(window, args.row, args.at)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(args.out)):
        raise OSError(f"could not write {args.out}")
    window.close()
    return args.out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="mmla-shot-") as tmp:
        os.environ.setdefault("MMLA_STUDIO_HOME", tmp)
        out = render(args.db or Path(tmp) / "demo.sqlite", args)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
