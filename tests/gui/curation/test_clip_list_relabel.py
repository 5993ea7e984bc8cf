"""In the real window, the clip list's Labels column follows a relabel without a reload: a label
button clicked in the Label & check tab, then `mmla label` run in another process (it reaches
the window through the change bus). Before, the column was measured only when the rows were
(re)loaded, so a longer label stayed cut until a restart."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from mmla_app.curation.clip_table import COLUMN_KEYS
from mmla_core.store.catalog import attach_task, ensure_task
from mmla_core.store.db import open_store
from mmla_core.tasks import builtin_task

pytestmark = pytest.mark.gui
LABELS = COLUMN_KEYS.index("labels")
WAIT_MS = 15_000


@pytest.fixture
def labelled_window(make_window, tiny_project, qtbot):
    """The tiny project (MELD labels: one short word each) with MIntRec and MELD-DA attached,
    its list at its default size and the first clip selected."""
    with open_store(tiny_project.db_path) as store:
        for name in ("MIntRec", "MELD-DA"):
            attach_task(store, tiny_project.dataset_id, ensure_task(store, builtin_task(name)))
    window = make_window(tiny_project.db_path)
    window.resize(1600, 960)
    table = window.browser.table
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 3, timeout=WAIT_MS)
    table.select_position(0)
    qtbot.waitUntil(lambda: bool(window.annotation.boxes) and window.current_row is not None,
                    timeout=WAIT_MS)
    return window


def _label_button(window, task: str, label: str):
    box = next(box for box in window.annotation.boxes if box.task.name == task)
    return box.buttons[box.task.labels.index(label)]


def _needed(table) -> int:
    """What the first row's label list needs, unelided."""
    return table.sizeHintForIndex(table.model().index(0, LABELS)).width()


def test_labels_widen_after_a_relabel_here_and_from_mmla_label(labelled_window, qtbot,
                                                                tiny_project):
    window, table = labelled_window, labelled_window.browser.table
    resets: list[int] = []
    window.browser.model.modelReset.connect(lambda: resets.append(1))
    before = table.columnWidth(LABELS)
    assert before >= _needed(table)  # 'surprise' fits the default

    qtbot.mouseClick(_label_button(window, "MIntRec", "ask for help"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "ask for help" in window.current_row.label_summary, timeout=WAIT_MS)
    assert _needed(table) > before
    qtbot.waitUntil(lambda: table.columnWidth(LABELS) >= _needed(table), timeout=WAIT_MS)
    after_gui = table.columnWidth(LABELS)

    mmla = Path(sys.executable).with_name("mmla")
    done = subprocess.run(
        [str(mmla), "--db", str(tiny_project.db_path), "label", "utt_a", "MELD-DA",
         "statement-opinion", "--annotator", "bob"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    qtbot.waitUntil(lambda: "statement-opinion" in window.browser.model.row_at(0).label_summary,
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: table.columnWidth(LABELS) > after_gui, timeout=WAIT_MS)
    assert not resets  # followed by the row update, not by a reload
