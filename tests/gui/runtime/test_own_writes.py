"""The window's own long writes (`run_job`: variants, imports, a dataset delete, training ops)
reach the views once, through their op's announcement: the change poll takes their commits as
the window's own, and still reports an outside write made meanwhile or right after."""

from __future__ import annotations

import threading
import time

import pytest

from mmla_app.ops.op import Op, run_job
from mmla_core.changes import DATASETS, MODELS, Changes
from mmla_core.store.catalog import upsert_dataset
from mmla_core.store.db import open_store
from mmla_core.store.results import add_model
from tests.support.gui import confirm_delete, dataset_names, menu_action

pytestmark = pytest.mark.gui
WAIT = 15_000
LIVE_MS = 2_000 + 8_000  # the 2 s promise, plus room for a loaded CI machine (as test_live_refresh)


def counted_reloads(window) -> list:
    """Every browser reload from now on (LiveRefresh calls `window.browser.reload`)."""
    calls: list = []
    reload = window.browser.reload
    window.browser.reload = lambda *a, **k: (calls.append(a), reload(*a, **k))[1]
    return calls


def settled(qtbot, window) -> None:
    """The change poll has looked at the file now (not on its next tick) and every job it or a
    reload started has answered."""
    runner = window.project.runner
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
    window.project.watcher.poll()  # an echo of the op's commits would be read here
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)


def outside_dataset(db_path, name: str) -> None:
    with open_store(db_path) as store:  # another connection: the CLI's way
        upsert_dataset(store, name, "/elsewhere", "folder")


def test_a_variant_made_in_the_panel_reloads_the_browser_once(qtbot, window, tiny_project):
    clip_a, panel = tiny_project.clip_ids[0], window.variants
    window.browser.table.select_clip(clip_a)
    qtbot.waitUntil(lambda: panel.clip_id == clip_a and panel.dataset_id is not None,
                    timeout=WAIT)
    settled(qtbot, window)
    reloads = counted_reloads(window)
    panel.checks["frames_black"].setChecked(True)
    with qtbot.waitSignal(panel.variants_changed, timeout=WAIT):
        panel.create_button.click()
    settled(qtbot, window)
    assert len(reloads) == 1
    outside_dataset(tiny_project.db_path, "from-the-cli")
    combo = window.browser.dataset_combo
    qtbot.waitUntil(lambda: combo.findText("from-the-cli") >= 0, timeout=LIVE_MS)
    assert len(reloads) == 2


def test_a_dataset_delete_reloads_the_browser_once(qtbot, window, tiny_project):
    settled(qtbot, window)
    reloads = counted_reloads(window)
    menu_action(window, "Delete dataset").trigger()
    confirm_delete(qtbot, window.delete_dataset_dialog)
    qtbot.waitUntil(lambda: dataset_names(tiny_project.db_path) == [], timeout=WAIT)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 0, timeout=WAIT)
    settled(qtbot, window)
    assert len(reloads) == 1
    start = time.monotonic()
    outside_dataset(tiny_project.db_path, "from-the-cli")
    combo = window.browser.dataset_combo
    qtbot.waitUntil(lambda: combo.findText("from-the-cli") >= 0, timeout=LIVE_MS)
    assert len(reloads) == 2, time.monotonic() - start


def _held_write(store, started: threading.Event, release: threading.Event) -> int:
    dataset_id = upsert_dataset(store, "ours", "/ours", "folder")
    started.set()
    release.wait(10)
    return dataset_id


def test_outside_writes_beside_and_after_an_own_job_are_announced(qtbot, tiny_project,
                                                                  project_of):
    project = project_of(tiny_project.db_path)
    heard: list = []
    project.bus.listen(recorder := lambda changes, who: heard.append((changes, who)))
    project.watch()
    qtbot.waitUntil(lambda: project.watcher._baseline is not None, timeout=WAIT)
    started, release, me = threading.Event(), threading.Event(), object()
    run_job(project, Op(_held_write, (started, release), Changes.of(DATASETS)), initiator=me)
    try:
        qtbot.waitUntil(started.is_set, timeout=WAIT)
        with open_store(tiny_project.db_path) as store:  # another area, while the job runs
            add_model(store, "outside-model", "qwen2_5_omni", "/models/x")
        qtbot.waitUntil(lambda: any(c.touches(MODELS) for c, _ in heard), timeout=LIVE_MS)
    finally:
        release.set()
    qtbot.waitUntil(lambda: any(who is me for _, who in heard), timeout=WAIT)
    outside_dataset(tiny_project.db_path, "right-after")
    qtbot.waitUntil(lambda: [who for c, who in heard if c.touches(DATASETS)] == [me, None],
                    timeout=LIVE_MS)
    project.bus.forget(recorder)
    assert not any(c.touches(DATASETS) for c, who in heard[:-1] if who is None)


def test_an_outside_label_right_after_a_key_press_is_announced(qtbot, tiny_project, project_of):
    """A label written on the writer thread is the window's own; another process's label on
    another clip in the same second still reaches the views (it was taken as our echo)."""
    from mmla_app.ops.curation import set_label
    from mmla_app.ops.op import submit
    from mmla_core.changes import LABELS
    from mmla_core.store.catalog import task_by_name
    from mmla_core.store.labels import set_label as store_set_label

    project = project_of(tiny_project.db_path)
    heard: list = []
    project.bus.listen(recorder := lambda changes, who: heard.append((changes, who)))
    project.watch()
    qtbot.waitUntil(lambda: project.watcher._baseline is not None, timeout=WAIT)
    with open_store(tiny_project.db_path) as store:
        task_id, task = task_by_name(store, "MELD")
    me = object()
    submit(project.db_path, set_label(1, task_id, task.labels[0], "ana"), initiator=me)
    qtbot.waitUntil(lambda: any(who is me for _, who in heard), timeout=WAIT)
    with open_store(tiny_project.db_path) as store:  # the CLI, at once
        store_set_label(store, 2, task_id, task.labels[1], "bob")
    qtbot.waitUntil(lambda: any(who is None and c.touches(LABELS) for c, who in heard),
                    timeout=LIVE_MS)
    project.bus.forget(recorder)
    (outside,) = [c for c, who in heard if who is None]
    assert 2 in outside.clip_ids  # (clip 1 too: labels stamped in the same instant are re-read)
