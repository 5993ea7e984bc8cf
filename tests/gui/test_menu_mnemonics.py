"""Every menu's Alt-letters are its own: File had "Add the &demo clips" and "&Delete dataset…",
so Alt+F, D highlighted the demo item instead of opening Delete dataset."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu

pytestmark = pytest.mark.gui


def _mnemonic(text: str) -> str | None:
    found = re.search(r"&([^&])", text.replace("&&", ""))
    return found.group(1).lower() if found else None


def _clashes(menu: QMenu, where: str) -> list[str]:
    seen: dict[str, str] = {}
    clashes = []
    for action in menu.actions():
        letter = _mnemonic(action.text())
        if letter and letter in seen:
            clashes.append(f"{where}: {seen[letter]!r} and {action.text()!r} share Alt+{letter}")
        elif letter:
            seen[letter] = action.text()
        if action.menu() is not None:
            clashes += _clashes(action.menu(), f"{where} > {action.text()}")
    return clashes


def test_no_two_items_of_a_menu_share_a_letter(window):
    bar = window.menuBar()
    assert _clashes(bar, "menu bar") == []
    assert [_mnemonic(a.text()) for a in bar.actions()] == ["f", "e", "p", "r", "t", "h"]


def test_alt_f_then_d_opens_delete_dataset(window, qtbot):
    from mmla_app.curation.project_dialogs import DeleteDatasetDialog

    file_menu = window.menuBar().actions()[0].menu()
    file_menu.popup(window.mapToGlobal(window.rect().topLeft()))
    qtbot.waitUntil(file_menu.isVisible, timeout=5_000)
    qtbot.keyClick(file_menu, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(DeleteDatasetDialog)),
                    timeout=5_000)
    for dialog in window.findChildren(DeleteDatasetDialog):
        dialog.reject()
