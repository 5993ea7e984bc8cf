"""The clip list is the largest pane: empty, it says why and what to do (a new project said so
only in the status bar, where the next message replaced it)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui
WAIT = 10_000


def test_an_empty_project_says_how_to_bring_clips_in(make_window, tmp_path, qtbot):
    window = make_window(tmp_path / "new.sqlite")
    hint = window.browser.empty_hint
    qtbot.waitUntil(hint.isVisible, timeout=WAIT)
    text = hint.text()
    assert "No clips yet" in text and "File > Import" in text and "demo clips" in text
    table = window.browser.table.viewport()
    assert table.rect().contains(hint.geometry())  # inside the clip list, not cut
    assert hint.width() >= table.width() // 2


def test_filters_that_match_nothing_say_so_and_the_hint_goes_with_rows(window, qtbot):
    browser = window.browser
    assert not browser.empty_hint.isVisible()  # three clips listed
    browser.text_edit.setText("no clip says this")
    qtbot.waitUntil(lambda: browser.model.rowCount() == 0, timeout=WAIT)
    qtbot.waitUntil(browser.empty_hint.isVisible, timeout=WAIT)
    assert "No clip matches the filters" in browser.empty_hint.text()
    browser.text_edit.clear()
    qtbot.waitUntil(lambda: browser.model.rowCount() == 3, timeout=WAIT)
    assert not browser.empty_hint.isVisible()
