"""Attaching a task to a dataset (a folder of clips imported without a manifest has none): MMLA's
tasks by name, a new custom one, and what is refused; `mmla tasks --attach / --add --dataset`."""

from __future__ import annotations

import pytest

from mmla_core.cli import main
from mmla_core.store.catalog import tasks_for_dataset, upsert_dataset
from mmla_core.store.dataset_tasks import attach_new_task, attach_task_named, tasks_to_attach
from mmla_core.store.db import open_store
from mmla_core.tasks import MMLA_TASKS, TaskError, make_custom_task


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "p.sqlite") as opened:
        yield opened


def _names(store, dataset_id) -> list[str]:
    return [task.name for _, task in tasks_for_dataset(store, dataset_id)]


def test_mmla_and_custom_tasks_attach_once_and_leave_the_offer(store):
    dataset_id = upsert_dataset(store, "clips", "/data/clips", "folder")
    assert _names(store, dataset_id) == []
    assert [t.name for t in tasks_to_attach(store, dataset_id)] == [t.name for t in MMLA_TASKS]
    attach_task_named(store, dataset_id, "MELD")
    attach_task_named(store, dataset_id, "MELD")  # twice: still once
    attach_new_task(store, dataset_id, make_custom_task("Politeness", ["polite", "rude"]))
    assert _names(store, dataset_id) == ["MELD", "Politeness"]
    offered = [t.name for t in tasks_to_attach(store, dataset_id)]
    assert "MELD" not in offered and "Politeness" not in offered and "MIntRec" in offered
    other = upsert_dataset(store, "more", "/data/more", "folder")
    assert "Politeness" in [t.name for t in tasks_to_attach(store, other)]


def test_unknown_names_clashing_labels_and_mmla_names_are_refused(store):
    dataset_id = upsert_dataset(store, "clips", "/data/clips", "folder")
    with pytest.raises(TaskError, match="no task named 'Nope'"):
        attach_task_named(store, dataset_id, "Nope")
    with pytest.raises(TaskError, match="one of MMLA's tasks"):
        attach_new_task(store, dataset_id, make_custom_task("meld", ["a", "b"]))
    attach_new_task(store, dataset_id, make_custom_task("Politeness", ["polite", "rude"]))
    with pytest.raises(ValueError, match="already exists with labels"):
        attach_new_task(store, dataset_id, make_custom_task("Politeness", ["a", "b"]))
    assert _names(store, dataset_id) == ["Politeness"]


def test_cli_attaches_to_the_named_dataset(tmp_path, capsys):
    db = tmp_path / "p.sqlite"
    with open_store(db) as store:
        dataset_id = upsert_dataset(store, "clips", str(tmp_path), "folder")
    run = lambda *args: main(["--db", str(db), "tasks", *args])  # noqa: E731
    assert run("--attach", "MIntRec", "--dataset", "clips") == 0
    assert "task 'MIntRec' attached (20 labels)" in capsys.readouterr().out
    assert run("--add", "Politeness", "--labels", "polite,rude", "--dataset", "clips") == 0
    assert run("--attach", "MELD") == 2          # without --dataset: usage
    assert run("--attach", "MELD", "--dataset", "nope") == 1
    assert run("--attach", "Nope", "--dataset", "clips") == 1
    with open_store(db) as store:
        assert _names(store, dataset_id) == ["MIntRec", "Politeness"]
