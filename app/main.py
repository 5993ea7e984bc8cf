"""Start MMLA Studio: parse the command line, set the app identity, show the main window.

Only Qt and the light parts of the core load here; torch/transformers stay lazy (imported by the
jobs that need them), so the window shows in about a second.

Qt and the window are imported inside `main()` on purpose: every process the app spawns (the
model worker, media-probe and variant pools: spawn / forkserver) re-imports the entry script,
hence this module, and must not load Qt and the whole GUI for nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

from mmla_app import __version__
from mmla_core.config import default_db_path, prepared_default_db_path, resources_dir
from mmla_core.store.db import missing_folder_message

APP_NAME = "MMLA Studio"
ORGANISATION = "MMLA Studio"
DESKTOP_FILE = "mmla-studio"
ICON_FILE = "mmla-studio.svg"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mmla-studio", description="MMLA Studio desktop app")
    parser.add_argument("project", type=Path, nargs="?", default=None,
                        help="project database to open (the same as --db; the desktop entry "
                             "passes a file dropped on the launcher here)")
    parser.add_argument("--db", type=Path, default=None, metavar="PATH",
                        help=f"project database (default: {default_db_path()})")
    parser.add_argument("--demo", action="store_true",
                        help="import the bundled demo clips if absent and show them (without "
                             "it, a project named here starts empty; only the default "
                             "project gets the demo on its first start)")
    parser.add_argument("--quit-after", type=int, default=None, metavar="MS",
                        help="close the window after MS milliseconds (smoke tests)")
    parser.add_argument("--smoke-test", action="store_true",
                        help="open the demo project, print a line once the window shows its "
                             "clips, then quit (exit code 0; 1 if the project failed to load)")
    args = parser.parse_args(argv)
    if args.project is not None and args.db is not None:
        parser.error("give the project either as an argument or with --db, not both")
    args.named = (args.db or args.project) is not None
    args.db = args.db or args.project or prepared_default_db_path()
    if not args.db.parent.is_dir():   # a typo: refused, never made into folders + a project
        parser.error(missing_folder_message(args.db))
    return args


def demo_choice(args: argparse.Namespace) -> bool | None:
    """True: import the demo. None: only into an empty default project (a first start).
    False: a project the user named starts as it is, empty or not."""
    if args.demo or args.smoke_test:
        return True
    return False if args.named else None


def _fix_frozen_streams() -> None:
    """Windowed frozen builds have no stdout/stderr; logging and print must not crash there."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115


def set_app_identity(app) -> None:
    """Name, organisation and desktop file: QSettings, the .desktop StartupWMClass and the
    Wayland app id all follow from these."""
    from PySide6.QtGui import QIcon  # no Qt in spawned workers: see top

    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName(ORGANISATION)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(DESKTOP_FILE)
    icon = resources_dir() / "icons" / ICON_FILE
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))


class SmokeTest:
    """`--smoke-test`: proof that a (frozen) build starts, finds its resources and opens the demo
    project. Prints one line when the clip list is on screen, then closes the window."""

    TIMEOUT_MS = 120_000

    def __init__(self, app, window):
        from PySide6.QtCore import QTimer  # no Qt in spawned workers

        self.app, self.window = app, window
        self.exit_code, self.done = 1, False
        window.clips_loaded.connect(self._shown)
        window.load_failed.connect(lambda message: self._finish(1, f"FAILED: {message}"))
        QTimer.singleShot(self.TIMEOUT_MS, lambda: self._finish(
            2, f"FAILED: no clips on screen after {self.TIMEOUT_MS // 1000} s"))

    def _shown(self, count: int) -> None:
        visible = self.window.isVisible()
        ok = visible and count > 0
        self._finish(0 if ok else 1, f"window shown={visible}, {count} clips of the demo "
                                     f"project loaded, app id {self.app.desktopFileName()}, "
                                     f"resources in {resources_dir()}")

    def _finish(self, code: int, message: str) -> None:
        if self.done:
            return
        self.done, self.exit_code = True, code
        sys.stdout.write(f"mmla-studio smoke test: {message}\n")  # the line the script greps
        sys.stdout.flush()
        self.window.close()
        self.app.exit(code)


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()
    _fix_frozen_streams()
    args = parse_args(argv)

    # Qt and the GUI only here, in the window's process (spawned workers import this module)
    from PySide6.QtCore import QThreadPool, QTimer
    from PySide6.QtWidgets import QApplication

    from mmla_app.main_window import MainWindow
    from mmla_app.runtime.write_queue import write_queue
    from mmla_app.theme import apply_theme

    # argv[0] names the X11 WM_CLASS instance: "mmla-studio" (the .desktop StartupWMClass)
    # however the app was started (`python -m mmla_app`, the entry point, the frozen binary)
    app = QApplication.instance() or QApplication([DESKTOP_FILE])
    set_app_identity(app)
    apply_theme(app)
    window = MainWindow(args.db, demo=demo_choice(args))
    smoke = SmokeTest(app, window) if args.smoke_test else None
    window.show()
    if args.quit_after is not None:
        QTimer.singleShot(max(args.quit_after, 0), window.close)
    code = app.exec()
    if smoke is not None:
        code = code or smoke.exit_code
    window.project.close()
    write_queue().drain()  # every acknowledged edit is committed before the process exits
    _drain_workers(QThreadPool.globalInstance(), timeout_s=10.0)
    return int(code)


def _drain_workers(pool, timeout_s: float) -> None:
    """Let a job still running (say, the demo import) commit before the process exits.

    Sleep-polls instead of `QThreadPool.waitForDone`, which holds the GIL while it blocks and so
    starves the very Python worker it waits for.
    """
    deadline = time.monotonic() + timeout_s
    while pool.activeThreadCount() > 0 and time.monotonic() < deadline:
        time.sleep(0.02)


if __name__ == "__main__":
    sys.exit(main())
