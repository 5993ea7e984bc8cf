"""Open every tab and dialog of the app on a simulated screen and report what does not fit.

    .venv/bin/python scripts/layout_check.py --screen 1366x768 [--shots DIR]

Qt's offscreen platform is given a screen of that size (a JSON screen config), the window is
maximized on it, each side tab is shown with a clip selected (a variant with a long title),
and every dialog the menus open is opened. Reported, one JSON line each:
  - a window wider or taller than the screen's available area,
  - a visible button not wholly inside each of its ancestors (clipped), up to the window or
    the scroll area that holds it,
  - a browser column before the Transcript (Id to Reviewed by) not wholly on screen, or less
    than MIN_TRANSCRIPT_WIDTH px of the transcript in view without scrolling sideways,
  - a column of the Results window's run list that is not wholly on screen.
Exit code 0 when nothing is reported. `--shots` also saves a PNG of every window (a grab).
The GUI layout test runs this script at 1366x768 and 1600x1000.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def configure_screen(width: int, height: int, folder: Path) -> None:
    """Before QApplication exists: an offscreen screen of this size (96 dpi)."""
    config = folder / "screen.json"
    config.write_text(json.dumps({"screens": [{
        "name": "check", "x": 0, "y": 0, "width": width, "height": height,
        "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"


def wait_until(predicate, timeout_s: float = 60.0) -> bool:
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.monotonic() + timeout_s
    loop, poll = QEventLoop(), QTimer()
    poll.timeout.connect(lambda: (predicate() or time.monotonic() > deadline) and loop.quit())
    poll.start(20)
    if not predicate():
        loop.exec()
    poll.stop()
    return bool(predicate())


def settle(ms: int = 250) -> None:
    deadline = time.monotonic() + ms / 1000
    wait_until(lambda: time.monotonic() > deadline)


def _exempt(button) -> bool:
    """Buttons Qt places and scrolls itself (tab bar arrows, header and view internals)."""
    from PySide6.QtWidgets import QAbstractItemView, QAbstractSpinBox, QComboBox, QTabBar

    parent = button.parentWidget()
    return isinstance(parent, QTabBar | QAbstractItemView | QAbstractSpinBox | QComboBox) or \
        button.objectName().startswith("qt_")


def clipped_buttons(window) -> list[str]:
    """Visible buttons that some ancestor (up to the window or a scroll area) cuts."""
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QAbstractButton, QAbstractScrollArea

    found = []
    for button in window.findChildren(QAbstractButton):
        if not button.isVisible() or _exempt(button):
            continue
        rect, widget = button.rect(), button
        while widget is not window and widget.parentWidget() is not None:
            parent = widget.parentWidget()
            rect = QRect(widget.mapTo(parent, rect.topLeft()), rect.size())
            if isinstance(parent.parentWidget(), QAbstractScrollArea):
                break  # inside a scroll area's viewport: scrolling reaches it
            if not parent.rect().contains(rect):
                found.append(f"button {button.text() or button.toolTip()!r} "
                             f"({button.metaObject().className()}) cut by "
                             f"{parent.metaObject().className()} {parent.objectName()!r}")
                break
            widget = parent
    return found


def wide_forms(window) -> list[str]:
    """A resizable scroll area (a form) whose content is wider than it: fields are cut at the
    right and need sideways scrolling."""
    from PySide6.QtWidgets import QScrollArea

    return [f"{area.widget().metaObject().className()} is wider than its scroll area "
            f"({area.widget().minimumSizeHint().width()} > {area.viewport().width()} px)"
            for area in window.findChildren(QScrollArea)
            if area.isVisible() and area.widgetResizable() and area.widget() is not None
            and area.horizontalScrollBar().isVisible()]


def window_problems(window) -> list[str]:
    from PySide6.QtGui import QGuiApplication

    area = QGuiApplication.primaryScreen().availableGeometry()
    frame = window.frameGeometry()
    name = window.windowTitle() or window.metaObject().className()
    problems = []
    if frame.width() > area.width() or frame.height() > area.height():
        problems.append(f"window {name!r} is {frame.width()}x{frame.height()}, the screen "
                        f"{area.width()}x{area.height()}")
    # a title bar holds the title beside the window buttons (about 150 px on common desktops)
    title_width = window.fontMetrics().horizontalAdvance(window.windowTitle()) + 150
    if window.isWindow() and title_width > frame.width():
        problems.append(f"window title {name!r} needs {title_width} px, the window is "
                        f"{frame.width()} px wide")
    problems += [f"{name!r}: {p}" for p in clipped_buttons(window)]
    problems += [f"{name!r}: {p}" for p in wide_forms(window)]
    return problems


def columns_off_screen(table, columns: list[int], what: str) -> list[str]:
    """Columns of a table view that are hidden or not wholly inside its viewport."""
    from PySide6.QtCore import Qt
    header, width = table.horizontalHeader(), table.viewport().width()
    problems = []
    for column in columns:
        left = header.sectionViewportPosition(column)
        if header.isSectionHidden(column) or left < 0 or \
                left + header.sectionSize(column) > width:
            name = table.model().headerData(column, Qt.Orientation.Horizontal)
            problems.append(f"{what} column {name!r} not on screen ({left}+"
                            f"{header.sectionSize(column)} of {width} px)")
    return problems


def browser_problems(window) -> list[str]:
    """The clip's id, name, labels, verdict and reviewers wholly on screen, and the start of its
    transcript (at least MIN_TRANSCRIPT_WIDTH px of it) without scrolling sideways."""
    from mmla_app.curation.clip_columns import COLUMN_KEYS, LEAD, MIN_TRANSCRIPT_WIDTH

    table = window.browser.table
    problems = columns_off_screen(table, [COLUMN_KEYS.index(k) for k in LEAD], "browser")
    column = COLUMN_KEYS.index("transcript")
    left = table.horizontalHeader().sectionViewportPosition(column)
    shown = min(left + table.columnWidth(column), table.viewport().width()) - max(left, 0)
    if shown < MIN_TRANSCRIPT_WIDTH:
        problems.append(f"browser column 'Transcript': {max(shown, 0)} px in view (from {left} "
                        f"px of {table.viewport().width()}), not {MIN_TRANSCRIPT_WIDTH}")
    return problems


def results_problems(view) -> list[str]:
    from mmla_app.evaluate.results_view import RUN_COLUMNS

    return columns_off_screen(view.runs_table, list(range(len(RUN_COLUMNS))), "results")


def checks_problems(window) -> list[str]:
    """Every alignment check's buttons inside the checks list's visible area (no scrolling)."""
    from PySide6.QtCore import QRect

    viewport = window.checks.scroll.viewport()
    problems = []
    for row in window.checks.rows:
        for button in row.buttons.values():
            rect = QRect(button.mapTo(viewport, button.rect().topLeft()), button.size())
            if not button.isVisible() or not viewport.rect().contains(rect):
                problems.append(f"check {row.check.key!r}: button {button.text()!r} not in view")
    return problems


def probe_problems(window) -> list[str]:
    """The probe matrix shows every one of its rows, and Run probe (with the buttons beside and
    below it) is wholly in view, without scrolling."""
    matrix = window.probe.matrix
    viewport = matrix.viewport().rect()
    hidden = [matrix.verticalHeaderItem(r).text() for r in range(matrix.rowCount())
              if not viewport.contains(matrix.visualRect(matrix.model().index(r, 0)))]
    problems = [f"probe matrix rows out of view: {', '.join(hidden)}"] if hidden else []
    probe = window.probe
    return problems + [f"probe button {button.text()!r} not wholly in view (scroll to reach it)"
                       for button in (probe.run_button, probe.checks_button, probe.set_button)
                       if button.visibleRegion().boundingRect() != button.rect()]


def build_project(db_path: Path) -> int:
    """The demo, one written variant (the long title) and two evaluation runs, one with an
    adapter (Results rows; "+ adapter" makes the Model column wide)."""
    from mmla_core.demo import ensure_demo
    from mmla_core.store import open_store
    from mmla_core.store.results import add_model, finish_run, start_run
    from mmla_core.variants.store_ops import create_variant

    with open_store(db_path) as store:
        dataset_id = ensure_demo(store)
        first = store.scalar("SELECT min(id) FROM clips WHERE dataset_id = ?", (dataset_id,))
        variant = create_variant(store, first, ["audio_swap"], seed=11)
        model_id = add_model(store, "tiny-qwen2_5_omni", "qwen2_5_omni", str(db_path.parent))
        task_id = store.scalar("SELECT id FROM tasks WHERE name = 'MIntRec'")
        finish_run(store, start_run(store, "eval", name="zero-shot MIntRec on demo test",
                                    dataset_id=dataset_id, split="test", total=0,
                                    model_id=model_id, task_id=task_id))
        finish_run(store, start_run(store, "eval", name="SFT MIntRec on demo test",  # + adapter
                                    dataset_id=dataset_id, split="test", total=0,
                                    model_id=model_id, task_id=task_id,
                                    adapter_path=str(db_path.parent / "adapter")))
    return variant.clip_id


def dialogs(window) -> list[tuple[str, object]]:
    """(name, opener) for every window the menus open; an opener returns the shown widget."""
    from mmla_app import actions
    from mmla_app.curation import project_dialogs
    from mmla_app.curation.agreement_dialog import AgreementDialog
    from mmla_app.curation.export_dialog import ExportDialog
    from mmla_app.curation.task_dialog import AddTaskDialog
    from mmla_app.evaluate.download_dialog import DownloadDialog
    from mmla_app.evaluate.evaluate_dialog import EvaluateDialog
    from mmla_app.probe.probe_checks_dialog import open_model_checks
    from mmla_app.probe.probe_set_dialog import open_probe_set
    from mmla_app.settings_dialog import SettingsDialog
    from mmla_core.tasks import MMLA_TASKS

    def shown(widget):
        widget.show()
        return widget

    return [
        ("new_project", lambda: project_dialogs.open_new_project(window)),
        ("delete_dataset", lambda: project_dialogs.open_delete_dataset(window)),
        ("import_folder", lambda: (window.importer.choose_and_import(), window.import_dialog)[1]),
        ("export", lambda: shown(ExportDialog(window.project, window))),
        ("evaluate", lambda: shown(EvaluateDialog(window.project, window))),
        ("results", lambda: (actions._open_results(window), window.results_view)[1]),
        ("train", lambda: (actions.open_train_dialog(window), window.train_dialog)[1]),
        ("probe_set", lambda: open_probe_set(window, window.project)),
        ("model_checks", lambda: open_model_checks(window, window.project)),
        ("agreement", lambda: shown(AgreementDialog(window.project, window))),
        ("add_task", lambda: shown(AddTaskDialog(window.project.db_path, 1, "demo",
                                                 list(MMLA_TASKS), window))),
        ("settings", lambda: shown(SettingsDialog(window))),
        ("download", lambda: shown(DownloadDialog(window.project, window))),
        ("help", lambda: actions.open_help(window)),
    ]


def check(window, shots: Path | None, variant_id: int) -> list[str]:
    problems: list[str] = []

    def look(widget, name: str) -> None:
        settle(400)
        problems.extend(f"[{name}] {p}" for p in window_problems(widget))
        if shots is not None:
            widget.grab().save(str(shots / f"{name}.png"))

    window.browser.table.select_clip(variant_id)
    wait_until(lambda: window.current_row is not None and window.current_row.id == variant_id
               and window.checks.state is not None and window.checks.state.clip_id == variant_id
               and not window.runner.busy)
    for index in range(window.side_tabs.count()):
        window.side_tabs.setCurrentIndex(index)
        look(window, f"tab_{index}_{window.side_tabs.tabText(index).split()[0].lower()}")
        if window.side_tabs.currentWidget() is window.probe:
            window.probe.attention_box.setChecked(True)
            settle(200)
            problems.extend(probe_problems(window))
    problems += browser_problems(window)
    window.side_tabs.setCurrentIndex(0)
    settle(200)
    problems += checks_problems(window)
    for name, opener in dialogs(window):
        widget = opener()
        look(widget, name)
        if name == "results":
            wait_until(lambda w=widget: w.runs_table.rowCount() > 0)
            problems.extend(results_problems(widget))
        widget.close()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screen", default="1366x768", help="WIDTHxHEIGHT")
    parser.add_argument("--shots", type=Path, help="save a PNG of every window here")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.screen.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="mmla-layout-") as tmp:
        folder = Path(tmp)
        configure_screen(width, height, folder)
        os.environ["MMLA_STUDIO_HOME"] = str(folder / "home")
        os.environ["XDG_CONFIG_HOME"] = str(folder / "config")
        variant_id = build_project(folder / "layout.sqlite")
        from PySide6.QtWidgets import QApplication

        from mmla_app.main import DESKTOP_FILE, set_app_identity
        from mmla_app.main_window import MainWindow
        from mmla_app.theme import apply_theme

        app = QApplication.instance() or QApplication([DESKTOP_FILE])
        set_app_identity(app)
        apply_theme(app)
        window = MainWindow(folder / "layout.sqlite", demo=False)
        window.showMaximized()
        wait_until(lambda: window.browser.model.rowCount() > 0)
        if args.shots:
            args.shots.mkdir(parents=True, exist_ok=True)
        problems = check(window, args.shots, variant_id)
        window.close()
        window.runner.shutdown()
    for problem in problems:
        print(json.dumps(problem))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
