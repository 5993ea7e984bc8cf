"""Words on screen: undo names the check by its title, the model layer says "model NAME" once,
counts take the right plural."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from mmla_app.runtime.write_queue import write_queue
from mmla_core.store.db import open_store
from mmla_core.store.labels import set_check_answer
from mmla_core.words import count

pytestmark = pytest.mark.gui
WAIT = 10_000


@pytest.fixture
def on_clip(window, qtbot, tiny_project):
    window.browser.table.select_clip(tiny_project.clip_ids[0])
    qtbot.waitUntil(lambda: window.checks.state is not None
                    and window.checks.state.clip_id == tiny_project.clip_ids[0], timeout=WAIT)
    return window


def test_undo_names_the_check_by_its_title(on_clip, qtbot, tiny_project):
    window = on_clip
    shown: list[str] = []
    window.statusBar().messageChanged.connect(shown.append)
    window.checks.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Y)
    write_queue().drain()
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: any("Undid" in m for m in shown), timeout=WAIT)
    message = next(m for m in shown if "Undid" in m)
    assert message == f"Undid the check “Visual only” on clip #{tiny_project.clip_ids[0]}"
    assert "visual_only" not in message


def test_the_model_layer_names_the_model_once(on_clip, qtbot, tiny_project):
    window = on_clip
    with open_store(tiny_project.db_path) as store:
        set_check_answer(store, tiny_project.clip_ids[0], "visual_only", "yes",
                         "model:tiny-qwen2_5_omni", source="model", confidence=0.8)
    window.checks.refresh()
    layer = window.checks.rows[0].layer
    qtbot.waitUntil(lambda: layer.text() != "", timeout=WAIT)
    assert layer.text() == "model tiny-qwen2_5_omni: yes · 80%"


def test_counts_take_the_right_plural():
    assert [count(1, "sample"), count(2, "sample"), count(0, "problem"),
            count(1, "match")] == ["1 sample", "2 samples", "0 problems", "1 match"]
    assert count(3, "match") == "3 matches"
