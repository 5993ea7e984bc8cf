"""The window fits the screen: a long variant title is elided, not widening the window, and
scripts/layout_check.py (every tab and dialog on a simulated 1366x768 screen) finds nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[2]


def test_every_tab_and_dialog_fits_a_1366x768_screen(tmp_path):
    env = {**os.environ, "QT_LOGGING_RULES": "qt.*=false", "MMLA_STUDIO_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "layout_check.py"),
                           "--screen", "1366x768"], capture_output=True, text=True, env=env,
                          timeout=240, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.strip() == ""


def test_a_long_title_is_elided_with_the_full_text_in_its_tooltip(window, qtbot):
    from mmla_app.clip_header import ClipHeader

    header: ClipHeader = window.header
    width = window.width()
    long_id = "demo_01~audio_swap~11c666012c" * 4
    row = window.browser.model.row_at(0)
    header.set_row(replace(row, external_id=long_id, parent_clip_id=1))
    qtbot.waitUntil(lambda: header.title.is_elided(), timeout=5_000)
    assert window.width() == width
    assert header.title.text().startswith(long_id) and "variant of #1" in header.title.text()
    assert header.title.toolTip().startswith(long_id)
