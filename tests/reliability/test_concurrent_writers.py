"""Labelling, a training job and an evaluation writing to one project at once lose nothing.

The curator's labels go through the GUI's real write path
(mmla_app.runtime.write_queue.submit_write: the writer thread, results back on the GUI thread)
while a "training" process logs events and an "evaluation" process writes predictions, and a
GUI-style reader pages the clip browser. No "database is locked" (or any other) error may reach
anyone, and every row each writer was told
was committed is in the database.
"""

from __future__ import annotations

import json
import random
import subprocess
import time

import pytest

from mmla_core.store.db import open_store
from mmla_core.tasks import builtin_task
from tests.support.children import child_env, python_child

pytestmark = pytest.mark.gui


def _set_label(store, clip_id: int, task_id: int, label: str) -> None:
    from mmla_core.store.labels import set_label

    set_label(store, clip_id, task_id, label, "alice")


def _browse(store) -> int:
    from mmla_core.store.browse import browse_rows

    return len(browse_rows(store, "alice"))


def label_for(qtbot, db_path, seconds: float) -> dict:
    """Label clip after clip through the GUI write queue, reading the browser in between."""
    from mmla_app.runtime.runner import Runner
    from mmla_app.runtime.write_queue import submit_write, write_queue

    with open_store(db_path) as store:
        task_id = store.scalar("SELECT id FROM tasks WHERE name = 'MELD'")
        clip_ids = [r["id"] for r in store.query("SELECT id FROM clips")]
    labels, rng = builtin_task("MELD").labels, random.Random(3)
    outcome = {"acked": 0, "refused": 0, "errors": [], "reads": 0, "last": {}, "changes": 0,
               "submitted": 0}
    runner = Runner(db_path)
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        clip_id, label = rng.choice(clip_ids), rng.choice(labels)
        outcome["changes"] += outcome["last"].get(clip_id) != label  # a repeat logs no edit
        outcome["submitted"] += 1
        outcome["last"][clip_id] = label
        submit_write(db_path, _set_label, clip_id, task_id, label,
                     on_success=lambda _: outcome.update(acked=outcome["acked"] + 1),
                     on_error=lambda exc: (outcome["errors"].append(repr(exc)),
                                           outcome.update(refused=outcome["refused"] + 1)))
        runner.submit(_browse, channel="browse",
                      on_success=lambda _: outcome.update(reads=outcome["reads"] + 1),
                      on_error=lambda exc: outcome["errors"].append(repr(exc)))
        qtbot.wait(5)
    write_queue().drain()  # committed; each write's answer is still queued for this thread
    qtbot.waitUntil(lambda: outcome["acked"] + outcome["refused"] == outcome["submitted"],
                    timeout=30_000)
    qtbot.waitUntil(lambda: not runner.busy, timeout=30_000)  # its last result came first
    return outcome


def run_concurrently(qtbot, db_path, seconds: float, tmp_path) -> dict:
    children = {kind: subprocess.Popen(python_child("writers.py", kind, db_path, seconds),
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       env=child_env(tmp_path))
                for kind in ("training", "evaluation")}
    gui = label_for(qtbot, db_path, seconds)
    results = {"gui": gui}
    for kind, child in children.items():
        out, err = child.communicate(timeout=seconds + 120)
        assert child.returncode == 0, err[-2000:]
        results[kind] = json.loads(out.strip().splitlines()[-1])
    return results


def check_nothing_lost(db_path, results: dict) -> None:
    gui = results["gui"]
    with open_store(db_path) as store:
        assert store.integrity_ok()
        events = store.scalar("SELECT count(*) FROM training_events")
        predictions = store.scalar("SELECT count(*) FROM predictions")
        edits = store.scalar("SELECT count(*) FROM edit_history WHERE kind = 'label'")
        stored = dict(store.conn.execute(
            "SELECT clip_id, label FROM annotations WHERE annotator = 'alice'").fetchall())
    print(f"\nconcurrent writers: {gui['acked']} labels, {gui['reads']} browser reads, "
          f"{results['training']['written']} training events, "
          f"{results['evaluation']['written']} predictions; errors: gui {len(gui['errors'])}, "
          f"training {len(results['training']['errors'])}, "
          f"evaluation {len(results['evaluation']['errors'])}")
    assert gui["errors"] == [] and results["training"]["errors"] == []
    assert results["evaluation"]["errors"] == []
    assert 0 < gui["acked"] == gui["submitted"] and results["training"]["written"] > 0
    assert (events, predictions) == (results["training"]["written"],
                                     results["evaluation"]["written"])
    assert edits == gui["changes"]  # every change is in the undo log...
    assert stored == gui["last"]  # ...and the last label per clip is the one on screen


def test_labelling_training_and_evaluation_at_once(qtbot, labelled_project, tmp_path):
    results = run_concurrently(qtbot, labelled_project, 6.0, tmp_path)
    check_nothing_lost(labelled_project, results)


@pytest.mark.long
def test_three_minutes_of_concurrent_writers(qtbot, labelled_project, tmp_path):
    results = run_concurrently(qtbot, labelled_project, 180.0, tmp_path)
    check_nothing_lost(labelled_project, results)
