"""Curation ops (app/ops): each write runs on the writer thread and, once committed, puts the
`Changes` it declares on the project's bus with the acting panel as initiator; the window skips
its own panes' echo and refreshes for a dialog's write (an adjudication)."""

from __future__ import annotations

import pytest

from mmla_app.ops import curation as ops
from mmla_app.ops.op import submit
from mmla_app.runtime.change_bus import change_bus
from mmla_app.runtime.write_queue import write_queue
from mmla_core.changes import CLIPS, LABELS
from mmla_core.store.catalog import task_by_name
from mmla_core.store.db import open_store
from mmla_core.store.labels import labels_for_clip

pytestmark = pytest.mark.gui
WAIT = 10_000


def label_of(db_path, clip_id: int, task_id: int, annotator: str) -> str | None:
    with open_store(db_path) as store:
        rows = labels_for_clip(store, clip_id)
    return next((r["label"] for r in rows
                 if r["task_id"] == task_id and r["annotator"] == annotator), None)


def _show_first_clip(qtbot, window) -> int:
    window.browser.table.selectRow(0)
    qtbot.waitUntil(lambda: window.annotation.state is not None, timeout=WAIT)
    return window.annotation.state.clip_id


def test_a_label_key_is_an_op_announced_with_the_panel_as_initiator(qtbot, window):
    clip_id = _show_first_clip(qtbot, window)
    # the project's one runner, not one of their own
    assert window.annotation._runner is window.checks._runner is window.variants.runner \
        is window.runner
    task_id, task = window.annotation.state.tasks[0]
    with qtbot.waitSignal(change_bus().changed, timeout=WAIT) as heard:
        assert window.annotation.choose_label(1)
    changes, initiator = heard.args
    assert initiator is window.annotation
    assert changes.areas == {LABELS} and changes.clip_ids == {clip_id}
    assert label_of(window.db_path, clip_id, task_id, window.annotator) == task.labels[1]


def test_undo_names_the_clip_it_undid_in_its_change_record(qtbot, tiny_project):
    clip_id = tiny_project.clip_ids[1]
    with open_store(tiny_project.db_path) as store:
        task_id = task_by_name(store, "MELD")[0]
    initiator = object()
    heard = []
    change_bus().listen(recorder := lambda changes, who: heard.append((changes, who)))
    try:
        submit(tiny_project.db_path, ops.set_label(clip_id, task_id, "joy", "dora"),
               initiator=initiator)
        submit(tiny_project.db_path, ops.undo("dora"), initiator=initiator)
        qtbot.waitUntil(lambda: len(heard) == 2, timeout=WAIT)
    finally:
        change_bus().forget(recorder)
    undone, who = heard[1]
    assert who is initiator and undone.areas == {LABELS, CLIPS}
    assert undone.clip_ids == {clip_id}  # known only after it ran: from the undone edit
    assert label_of(tiny_project.db_path, clip_id, task_id, "dora") is None
    write_queue().drain()


def test_an_adjudication_from_a_dialog_reaches_the_open_window_at_once(qtbot, window):
    clip_id = _show_first_clip(qtbot, window)
    task_id, task = window.annotation.state.tasks[0]
    dialog = object()  # any initiator that is not one of the window's own panes
    submit(window.db_path, ops.adjudicate(clip_id, task_id, task.labels[2], "carol"),
           initiator=dialog)
    qtbot.waitUntil(lambda: "adjudicated:carol" in window.annotation.state.labels.get(
        task_id, {}), timeout=WAIT)
