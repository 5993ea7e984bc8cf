"""The window's menus and keyboard actions.

Every key is a QAction with a window-wide shortcut, named by an action id whose key sequence
comes from `keymap` (defaults + the curator's remaps). Text boxes (filter, transcript, note)
keep plain typing keys: Qt gives a focused text box first claim on printable keys.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox
from shiboken6 import isValid

from mmla_app import __version__, keymap, settings
from mmla_app.curation.agreement_dialog import AgreementDialog
from mmla_app.curation.export_dialog import ExportDialog
from mmla_app.curation.project_dialogs import open_delete_dataset, open_new_project
from mmla_app.evaluate.evaluate_dialog import EvaluateDialog
from mmla_app.evaluate.results_view import ResultsView
from mmla_app.probe.probe_checks_dialog import open_model_checks
from mmla_app.probe.probe_set_dialog import open_probe_set
from mmla_app.settings_dialog import SettingsDialog
from mmla_app.training.train_dialog import TrainDialog
from mmla_app.widgets.help_window import HelpWindow
from mmla_core.words import count


def _player_actions(w) -> list[tuple[str, str, Callable[[], None]]]:
    p = w.player
    return [
        ("play_pause", "Play / pause", p.toggle_play),
        ("frame_back", "Previous frame", lambda: p.step_frames(-1)),
        ("frame_forward", "Next frame", lambda: p.step_frames(1)),
        ("jump_back", "Back 1 s", lambda: p.jump(-1.0)),
        ("jump_forward", "Forward 1 s", lambda: p.jump(1.0)),
        ("speed_down", "Slower", p.speed_down),
        ("speed_up", "Faster", p.speed_up),
        ("speed_reset", "Normal speed", lambda: p.set_speed(1.0)),
        ("loop", "Loop selection", p.toggle_loop),
        ("zoom_in", "Zoom waveform in", lambda: w.waveform.zoom(0.5)),
        ("zoom_out", "Zoom waveform out", lambda: w.waveform.zoom(2.0)),
        ("spectrogram", "Spectrogram on/off", w.waveform.toggle_spectrogram),
    ]


def _review_actions(w) -> list[tuple[str, str, Callable[[], None]]]:
    actions = [
        ("prev_clip", "Previous clip", lambda: w.browser.table.move(-1)),
        ("next_clip", "Next clip", lambda: w.browser.table.move(1)),
        ("next_unreviewed", "Next unreviewed clip", w.browser.select_next_unreviewed),
        ("review_next", "Mark reviewed and go to next", w.edits.mark_reviewed_and_next),
        ("next_task", "Next task", w.annotation.next_task),
        ("check_yes", "Answer check: Yes", lambda: w.checks.answer_current("yes")),
        ("check_no", "Answer check: No", lambda: w.checks.answer_current("no")),
        ("check_unsure", "Answer check: Unsure", lambda: w.checks.answer_current("unsure")),
        ("check_view", "Play each check's view",
         lambda: w.statusBar().showMessage(w.check_views.toggle(), 5000)),
        ("edit_transcript", "Edit transcript", w.transcript.begin_edit),
        ("filter", "Find clips", w.browser.focus_filter),
    ]
    for action_id, index in keymap.label_actions():
        actions.append((action_id, keymap.action(action_id).text,
                        lambda _checked=False, i=index: w.annotation.choose_label(i)))
    return actions


def _edit_actions(w) -> list[tuple[str, str, Callable[[], None]]]:
    return [
        ("undo", "Undo", w.edits.undo),
        ("redo", "Redo", lambda: w.edits.undo(redo=True)),
    ]


def install_actions(w) -> None:
    """Build the menus and bind every action's key from the keymap."""
    bindings = keymap.current_bindings()
    w.key_actions: dict[str, QAction] = {}
    menus = _build_file_menu(w), w.menuBar().addMenu("&Edit"), w.menuBar().addMenu("&Play"), \
        w.menuBar().addMenu("&Review")
    label_menu = menus[3].addMenu("Label &keys")
    for menu, group in zip(menus[1:], (_edit_actions(w), _player_actions(w), _review_actions(w)),
                           strict=True):
        for action_id, text, callback in group:
            action = QAction(text, w)
            action.setShortcut(QKeySequence(bindings.get(action_id, "")))
            action.triggered.connect(callback)
            (label_menu if action_id.startswith("label_") else menu).addAction(action)
            w.key_actions[action_id] = action
    _build_tools_menu(w)
    _build_help_menu(w)


def rebind(w) -> None:
    """Re-read the keymap after the settings dialog changed it."""
    bindings = keymap.current_bindings()
    for action_id, action in w.key_actions.items():
        action.setShortcut(QKeySequence(bindings.get(action_id, "")))


def _build_file_menu(w) -> QMenu:
    menu = w.menuBar().addMenu("&File")
    _add(menu, w, "&New project…", lambda: open_new_project(w), QKeySequence.StandardKey.New)
    _add(menu, w, "&Open project…", w_open_dialog(w), QKeySequence.StandardKey.Open)
    w.recent_menu = menu.addMenu("Open &recent")
    w.recent_menu.aboutToShow.connect(lambda: _fill_recent(w))
    menu.addSeparator()
    _add(menu, w, "&Import dataset folder…", w.importer.choose_and_import, "Ctrl+I")
    _add(menu, w, "Import &file (ELAN .eaf, sharegpt)…", w.importer.choose_file_and_import)
    _add(menu, w, "&Add the demo clips", w.add_demo)  # D is Delete dataset…
    _add(menu, w, "Re-check &media files", w.media_check.start)
    _add(menu, w, "&Delete dataset…", lambda: open_delete_dataset(w))
    _add(menu, w, "&Export…", lambda: _open_export(w), "Ctrl+E")
    menu.addSeparator()
    quit_action = _add(menu, w, "&Quit", lambda: quit_app(w), QKeySequence.StandardKey.Quit)
    quit_action.setMenuRole(QAction.MenuRole.QuitRole)
    return menu


def w_open_dialog(w) -> Callable[[], None]:
    """File > Open project…: an existing project, or a new name (then an empty project is made,
    as File > New project does, instead of "File not found")."""
    def choose() -> None:
        dialog = w.open_dialog = QFileDialog(
            w, "Open project (or type a new name for an empty one)", str(w.db_path.parent),
            "MMLA Studio projects (*.sqlite *.sqlite3 *.db);;All files (*)")
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda path: open_chosen(w, path))
        dialog.open()
    return choose


def open_chosen(w, path: str) -> None:
    chosen = Path(path)
    if chosen.is_dir() or not chosen.parent.is_dir():
        w.statusBar().showMessage(f"Not a project file: {chosen}", 8000)
        return
    w.open_database(chosen, demo=False)  # a new name: an empty project (the status bar says)


def _fill_recent(w) -> None:
    w.recent_menu.clear()
    for path in settings.recent_projects():
        action = w.recent_menu.addAction(f"{path.name}   ({path.parent})")
        action.setToolTip(str(path))
        action.setEnabled(path.exists() and path != w.db_path)
        action.triggered.connect(lambda _=False, p=path: w.open_database(p, demo=False))
    if w.recent_menu.isEmpty():
        w.recent_menu.addAction("(none yet)").setEnabled(False)


def _build_tools_menu(w) -> None:
    menu = w.menuBar().addMenu("&Tools")
    _add(menu, w, "&Evaluate…", lambda: _open_evaluate(w), "Ctrl+Shift+E")
    _add(menu, w, "&Results", lambda: _open_results(w), "Ctrl+Shift+R")
    _add(menu, w, "&Train LoRA…", lambda: open_train_dialog(w), "Ctrl+Shift+T")
    menu.addSeparator()
    _add(menu, w, "&Probe a set of clips…", lambda: _open_probe_set(w))
    _add(menu, w, "&Model answers the checks for the whole dataset…",
         lambda: _open_model_checks(w))
    menu.addSeparator()
    _add(menu, w, "&Agreement…", lambda: _open_agreement(w))
    _add(menu, w, "&Settings…", lambda: _open_settings(w), QKeySequence.StandardKey.Preferences)


def _build_help_menu(w) -> None:
    menu = w.menuBar().addMenu("&Help")
    _add(menu, w, "&Help and keyboard shortcuts", lambda: open_help(w), "F1")
    about = _add(menu, w, "&About MMLA Studio", lambda: _show_about(w))
    about.setMenuRole(QAction.MenuRole.AboutRole)


def _add(menu: QMenu, w, text: str, callback, shortcut=None) -> QAction:
    action = QAction(text, w)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(callback)
    menu.addAction(action)
    return action


def _open_settings(w) -> None:
    dialog = SettingsDialog(w)
    if dialog.exec():
        w.set_annotator(settings.annotator())
        rebind(w)


def _open_probe_set(w) -> None:
    open_probe_set(w, w.project, model=w.probe.model_combo.currentData(),
                   task=w.probe.task_combo.currentData())


def _open_model_checks(w) -> None:
    open_model_checks(w, w.project)


def _open_agreement(w) -> None:
    dialog = AgreementDialog(w.project, w)
    dialog.clip_requested.connect(w.browser.table.select_clip)
    dialog.show()


def _open_evaluate(w) -> None:
    dialog = EvaluateDialog(w.project, w)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.run_finished.connect(lambda run_id: _open_results(w, select=[run_id]))
    dialog.show()


def open_train_dialog(w) -> None:
    """The launch form; a launched job is shown at once in the Training tab."""
    dialog = w.train_dialog = TrainDialog(w.project, w)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.launched.connect(w.training.select_job)
    dialog.launched.connect(lambda _job: w.side_tabs.setCurrentWidget(w.training))
    dialog.show()


def _open_results(w, select=None) -> None:
    """One results window per project; a double-clicked sample opens its clip in the player."""
    view = getattr(w, "results_view", None)
    if view is None or not isValid(view) or view.db_path != w.db_path:
        view = w.results_view = ResultsView(w.project, w)
        view.setWindowFlag(Qt.WindowType.Window)
        view.clip_requested.connect(w.browser.table.select_clip)
    view.reload(select=select)
    view.show()
    view.raise_()


def _open_export(w) -> None:
    ExportDialog(w.project, w).show()


def open_help(w):
    """F1: one help window per main window, raised if already open."""
    window = getattr(w, "help_window", None)
    if window is None or not isValid(window):
        window = w.help_window = HelpWindow(w)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.refresh()
    window.show()
    window.raise_()
    return window


def _show_about(w) -> None:
    QMessageBox.about(
        w, "About MMLA Studio",
        f"<b>MMLA Studio</b> {__version__}<p>A workbench for multimodal language analysis: "
        "curate utterance clips, probe multimodal LLMs with modality-conflict variants, and "
        f"fine-tune them with LoRA.</p><p>Project:<br><code>{w.db_path}</code></p>",
    )


def quit_app(w) -> None:
    """File > Quit (Ctrl+Q), and closing the window while imports wait: say first what goes on
    (training runs, detached) and what would be dropped (imports not started yet)."""
    lines = quit_notes(w)
    if not lines:
        w.close()
        return
    box = w.quit_box = QMessageBox(QMessageBox.Icon.Information, "Quit MMLA Studio",
                                   "\n\n".join(lines), QMessageBox.StandardButton.Cancel, w)
    quit_button = box.addButton("Quit", QMessageBox.ButtonRole.AcceptRole)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.buttonClicked.connect(lambda button: button is quit_button and _close_confirmed(w))
    box.open()  # window-modal, never blocks the event loop


def quit_notes(w) -> list[str]:
    """What quitting now means for work in progress; empty when nothing is at stake."""
    lines = []
    active = w.training.active_jobs()
    if active:
        names = ", ".join(f"#{j['id']} {j['name']}" for j in active)
        many = len(active) > 1
        lines.append(f"Training {'runs' if many else 'run'} {names} {'go' if many else 'goes'} "
                     f"on after you quit: {'they run' if many else 'it runs'} in a process of "
                     "its own. Open this project again to follow it, or stop it first in the "
                     "Training tab.")
    waiting = w.importer.waiting
    if waiting:
        lines.append(f"{count(waiting, 'import')} waiting for the one running will not start "
                     "(the running one finishes). Import them again after you reopen the "
                     "project, or wait for them.")
    return lines


def _close_confirmed(w) -> None:
    w.close_confirmed = True
    w.close()
