"""Key bindings: the defaults, remaps stored in QSettings, conflict detection, and the settings
dialog that edits them (keys pressed into its key editors)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDialogButtonBox

from mmla_app import keymap, settings

pytestmark = pytest.mark.gui

BRIEF_DEFAULTS = {
    "play_pause": "Space", "frame_back": "Left", "frame_forward": "Right",
    "jump_back": "Shift+Left", "jump_forward": "Shift+Right", "speed_down": "[",
    "speed_up": "]", "speed_reset": "\\", "loop": "L", "prev_clip": "Up", "next_clip": "Down",
    "review_next": "Return", "next_task": "T", "check_yes": "Y", "check_no": "N",
    "check_unsure": "U", "undo": "Ctrl+Z", "redo": "Ctrl+Shift+Z", "filter": "Ctrl+F",
    "edit_transcript": "F2", "next_unreviewed": "Shift+N",
}




def test_defaults_match_the_brief_and_have_no_conflicts():
    defaults = keymap.default_bindings()
    assert {k: defaults[k] for k in BRIEF_DEFAULTS} == BRIEF_DEFAULTS
    assert [defaults[f"label_{d}"] for d in "1234567890"] == list("1234567890")
    assert defaults["label_ctrl_1"] == "Ctrl+1" and defaults["label_alt_0"] == "Alt+0"
    assert keymap.find_conflicts(defaults) == {}
    assert len({a.id for a in keymap.ACTIONS}) == len(keymap.ACTIONS)


def test_label_actions_cover_thirty_labels_in_order():
    actions = keymap.label_actions()
    assert len(actions) == 30
    assert actions[0] == ("label_1", 0) and actions[9] == ("label_0", 9)
    assert actions[10] == ("label_ctrl_1", 10) and actions[29] == ("label_alt_0", 29)
    defaults = keymap.default_bindings()
    assert [keymap.label_key_text(i, defaults) for i in (0, 9, 10, 29, 30)] == [
        "1", "0", "^1", "Alt 0", ""]


def test_remaps_persist_only_what_differs(tmp_path):
    bindings = keymap.current_bindings()
    bindings["loop"] = "ctrl+l"  # normalised
    bindings["spectrogram"] = ""  # deliberately unbound
    keymap.save_bindings(bindings)
    stored = QSettings()
    stored.beginGroup(keymap.SETTINGS_GROUP)
    assert sorted(stored.childKeys()) == ["loop", "spectrogram"]
    stored.endGroup()
    again = keymap.current_bindings()
    assert again["loop"] == "Ctrl+L" and again["spectrogram"] == "" and again["undo"] == "Ctrl+Z"
    keymap.reset_bindings()
    assert keymap.current_bindings() == keymap.default_bindings()


def test_conflicts_name_every_action_on_the_key_including_menus():
    bindings = keymap.default_bindings()
    assert keymap.conflicts_for(bindings, "loop", "y") == ["check_yes"]
    assert keymap.conflicts_for(bindings, "loop", "Ctrl+O") == ["menu: Open project"]
    assert keymap.conflicts_for(bindings, "loop", "") == []
    assert keymap.conflicts_for(bindings, "loop", "K") == []
    bindings["loop"] = "Y"
    bindings["label_1"] = "y"
    conflicts = keymap.find_conflicts(bindings)
    assert conflicts == {"Y": ["loop", "label_1", "check_yes"]}
    assert "Loop selection / Label 1 of the active task / Answer check: Yes" in \
        keymap.describe_conflicts(conflicts)
    with pytest.raises(ValueError, match="key conflicts"):
        keymap.save_bindings(bindings)
    assert keymap.current_bindings()["loop"] == "L"  # nothing stored


def test_a_stored_remap_for_an_unknown_action_is_ignored():
    stored = QSettings()
    stored.setValue(f"{keymap.SETTINGS_GROUP}/no_such_action", "K")
    assert "no_such_action" not in keymap.current_bindings()
    with pytest.raises(KeyError):
        keymap.action("no_such_action")


# --- the settings dialog ------------------------------------------------------------------------

@pytest.fixture
def dialog(qtbot):
    from mmla_app.settings_dialog import SettingsDialog

    settings.set_annotator("alice")
    dlg = SettingsDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    return dlg


def ok_button(dlg):
    return dlg.buttons.button(QDialogButtonBox.StandardButton.Ok)


def press_into(qtbot, dlg, action_id: str, key, modifier=Qt.KeyboardModifier.NoModifier):
    editor = dlg.editors[action_id]
    editor.setFocus()
    editor.clear()
    qtbot.keyClick(editor, key, modifier)


def test_pressing_a_taken_key_warns_and_blocks_ok(qtbot, dialog):
    press_into(qtbot, dialog, "loop", Qt.Key.Key_Y)
    assert dialog.bindings["loop"] == "Y"
    warning = dialog.warning.text()
    assert "Answer check: Yes" in warning and "Loop selection" in warning
    assert not ok_button(dialog).isEnabled()
    row = [a.id for a in keymap.ACTIONS].index("loop")
    assert dialog.table.item(row, 0).background().color().name() == "#f6d5d2"
    press_into(qtbot, dialog, "loop", Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert dialog.bindings["loop"] == "Ctrl+K"
    assert dialog.warning.text() == "" and ok_button(dialog).isEnabled()
    assert dialog.table.item(row, 0).background().style() == Qt.BrushStyle.NoBrush


def test_ok_stores_name_auto_play_and_keys(qtbot, dialog):
    dialog.annotator_edit.setText("")
    assert not ok_button(dialog).isEnabled() and "annotator name" in dialog.warning.text()
    dialog.annotator_edit.setText("import")
    assert not ok_button(dialog).isEnabled()
    dialog.annotator_edit.setText(" carol ")
    dialog.auto_play_box.setChecked(True)
    press_into(qtbot, dialog, "next_unreviewed", Qt.Key.Key_G)
    dialog.placement_combo.setCurrentIndex(dialog.placement_combo.findData("auto"))
    qtbot.mouseClick(ok_button(dialog), Qt.MouseButton.LeftButton)
    assert settings.annotator() == "carol" and settings.auto_play()
    assert settings.model_load_kwargs() == {"device_map": "auto"}   # what the worker gets
    assert keymap.current_bindings()["next_unreviewed"] == "G"


def test_restore_defaults_and_cancel_store_nothing(qtbot, dialog):
    press_into(qtbot, dialog, "undo", Qt.Key.Key_Z)
    dialog.restore_defaults()
    assert dialog.bindings == keymap.default_bindings()
    assert dialog.editors["undo"].keySequence().toString() == "Ctrl+Z"
    press_into(qtbot, dialog, "undo", Qt.Key.Key_Z)
    dialog.reject()
    assert keymap.current_bindings()["undo"] == "Ctrl+Z"


def test_every_menu_shortcut_is_reserved_so_remaps_see_the_conflict(window):
    from PySide6.QtGui import QAction

    from mmla_app.keymap import RESERVED, normalise

    bound = set(window.key_actions.values())
    menu_keys = {normalise(a.shortcut()) for a in window.findChildren(QAction)
                 if a not in bound and not a.shortcut().isEmpty()}
    assert menu_keys, "the menus have shortcuts"
    assert menu_keys <= {normalise(k) for k in RESERVED}
