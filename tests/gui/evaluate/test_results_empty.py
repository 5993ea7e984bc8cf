"""Results on a project without evaluation runs says why it is empty and what to do; the window
closes from the keyboard (Esc, Ctrl+W) like a dialog."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui


def _open_results(window, qtbot):
    qtbot.keyClick(window.browser.table, Qt.Key.Key_R,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: getattr(window, "results_view", None) is not None
                    and window.results_view.isVisible(), timeout=5_000)
    return window.results_view


@pytest.mark.parametrize("close_key", [(Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
                                       (Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)])
def test_no_runs_says_what_to_do_and_esc_or_ctrl_w_closes(window, qtbot, close_key):
    view = _open_results(window, qtbot)
    qtbot.waitUntil(lambda: "No evaluation run" in view.status.text(), timeout=5_000)
    assert "Tools > Evaluate" in view.status.text() and "mmla eval" in view.status.text()
    assert view.runs_table.rowCount() == 0 and not view.export_button.isEnabled()
    view.activateWindow()
    qtbot.keyClick(view.runs_table, *close_key)
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=5_000)


def test_the_fine_tune_table_says_what_fills_it(window, qtbot):
    view = _open_results(window, qtbot)
    tab = view.finetune
    view.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: "No zero-shot or fine-tuned run yet" in tab.flags.text(),
                    timeout=5_000)
    assert "Tools > Evaluate" in tab.flags.text() and "Train LoRA" in tab.flags.text()
    view.close()
