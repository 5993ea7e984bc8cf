"""The window fits the screen: a long variant title is elided, not widening the window, and
scripts/layout_check.py (every tab and dialog on a simulated 1366x768 screen) finds nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("screen", ["1366x768", "1600x1000"])
def test_every_tab_and_dialog_fits_the_screen(tmp_path, screen):
    env = {**os.environ, "QT_LOGGING_RULES": "qt.*=false", "MMLA_STUDIO_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "layout_check.py"),
                           "--screen", screen], capture_output=True, text=True, env=env,
                          timeout=240, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.strip() == ""


def test_a_long_title_is_elided_with_the_full_text_in_its_tooltip(window, qtbot):
    from mmla_app.curation.clip_header import ClipHeader

    header: ClipHeader = window.header
    width = window.width()
    long_id = "demo_01~audio_swap~11c666012c" * 4
    row = window.browser.model.row_at(0)
    header.set_row(replace(row, external_id=long_id, parent_clip_id=1))
    qtbot.waitUntil(lambda: header.title.is_elided(), timeout=5_000)
    assert window.width() == width
    assert header.title.text().startswith(long_id) and "variant of #1" in header.title.text()
    assert header.title.toolTip().startswith(long_id)


def test_f1_opens_a_help_window_with_a_filter(window, qtbot):
    from mmla_app.widgets.help_window import HelpWindow

    qtbot.keyClick(window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: isinstance(getattr(window, "help_window", None), HelpWindow)
                    and window.help_window.isVisible(), timeout=5_000)
    help_window = window.help_window
    text = help_window.browser.toPlainText()
    assert "How the work goes" in text and "Play / pause" in text and "Labels 1–10" in text
    assert "Add a task… in the Labels panel" in text  # a folder imported without a manifest
    help_window.filter.setText("undo")
    assert "Ctrl+Z" in help_window.browser.toPlainText()
    assert "Play / pause" not in help_window.browser.toPlainText()
    assert help_window.height() <= window.screen().availableGeometry().height()
    help_window.close()
