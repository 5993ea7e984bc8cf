"""The change record's core half: which areas another connection wrote, and which clips."""

from __future__ import annotations

import pytest

from mmla_core import changes as areas
from mmla_core.changes import Changes
from mmla_core.store.changes import (
    DataVersion,
    area_fingerprints,
    changed_areas,
    labelled_clips_since,
)
from mmla_core.store.db import open_store


@pytest.fixture
def project(tmp_path):
    db = tmp_path / "p.sqlite"
    with open_store(db) as store, store.write() as conn:
        conn.execute("INSERT INTO datasets (name, root, source_kind) VALUES ('d', '/x', 'folder')")
        conn.executemany("INSERT INTO clips (dataset_id, external_id) VALUES (1, ?)",
                         [("a",), ("b",), ("c",)])
        conn.execute("INSERT INTO tasks (name, task_key, dimension, labels_json) "
                     "VALUES ('T', 'intent', 'semantics', ?)", ('["x", "y"]',))
    return db


def label(db, clip_id: int, value: str, annotator: str = "ana") -> None:
    from mmla_core.store.labels import set_label

    with open_store(db) as store:
        set_label(store, clip_id, 1, value, annotator)


def test_data_version_moves_only_when_another_connection_commits(project):
    watch = DataVersion(project)
    assert not watch.changed()
    label(project, 1, "x")
    assert watch.changed()
    assert not watch.changed()  # read once, reported once
    watch.close()


def test_a_label_moves_only_the_labels_area_and_names_its_clip(project):
    with open_store(project) as store:
        before = area_fingerprints(store)
    label(project, 2, "y")
    with open_store(project) as store:
        after = area_fingerprints(store)
        assert changed_areas(before, after) == {areas.LABELS}
        assert labelled_clips_since(store, before[areas.LABELS], after[areas.LABELS]) == {2}


def test_an_undo_or_a_deletion_asks_for_a_full_reload(project):
    from mmla_core.store.labels import undo

    label(project, 1, "x")
    with open_store(project) as store:
        before = area_fingerprints(store)
        undo(store, "ana")
        after = area_fingerprints(store)
        assert labelled_clips_since(store, before[areas.LABELS], after[areas.LABELS]) is None


def test_a_new_dataset_moves_datasets_and_clips(project):
    with open_store(project) as store:
        before = area_fingerprints(store)
        with store.write() as conn:
            conn.execute("INSERT INTO datasets (name, root, source_kind) "
                         "VALUES ('e', '/y', 'folder')")
            conn.execute("INSERT INTO clips (dataset_id, external_id) VALUES (2, 'z')")
        assert changed_areas(before, area_fingerprints(store)) == {areas.DATASETS, areas.CLIPS}


def test_changes_merge_and_refuse_unknown_areas():
    merged = Changes.of(areas.RUNS) | Changes.of(areas.LABELS, clip_ids=[3])
    assert merged.touches(areas.LABELS) and merged.clip_ids == {3}
    assert not Changes() and merged
    with pytest.raises(ValueError, match="unknown change areas"):
        Changes.of("everything")
