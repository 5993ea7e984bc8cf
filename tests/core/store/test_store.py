"""The project database: migrations, WAL, the one write path, undo, predictions."""

import sqlite3
import threading

import pytest

from mmla_core.store import Store, StoreError, db, open_store
from mmla_core.store.catalog import (
    add_variant_clip,
    attach_task,
    ensure_builtin_tasks,
    ensure_task,
    find_clip,
    list_clips,
    tasks_for_dataset,
    upsert_clips,
    upsert_dataset,
)
from mmla_core.store.labels import (
    check_answers,
    gold_label,
    import_labels,
    labels_for_clip,
    redo,
    set_check_answer,
    set_label,
    set_transcript,
    undo,
    undo_depth,
)
from mmla_core.store.results import insert_predictions, run_accuracy, start_run
from mmla_core.store.schema import SCHEMA_VERSION
from mmla_core.tasks import builtin_task, make_custom_task


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "p.sqlite") as s:
        yield s


@pytest.fixture
def meld_clips(store):
    dataset_id = upsert_dataset(store, "MELD", "/data/MELD", "mmla")
    task_id = ensure_task(store, builtin_task("MELD"))
    attach_task(store, dataset_id, task_id)
    upsert_clips(store, dataset_id, [
        {"external_id": f"0_{i}", "split": "test", "media_path": f"video/MELD_0_{i}.mp4",
         "transcript": f"line {i}"} for i in range(3)
    ])
    ids = [c["id"] for c in list_clips(store, dataset_id=dataset_id)]
    return dataset_id, task_id, ids


def test_new_database_is_migrated_wal_and_reopens(tmp_path):
    path = tmp_path / "p.sqlite"
    with open_store(path) as s:
        assert s.schema_version() == SCHEMA_VERSION
        assert s.scalar("PRAGMA journal_mode") == "wal"
        assert s.scalar("PRAGMA foreign_keys") == 1
    with open_store(path) as s:
        assert s.integrity_ok()
        assert "predictions" in s.db.table_names()


def test_garbage_file_is_refused_with_its_path(tmp_path):
    bad = tmp_path / "notes.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"notes\.sqlite"):
        open_store(bad)


def test_a_project_in_a_missing_folder_is_refused_and_no_folder_is_made(tmp_path):
    path = tmp_path / "typo" / "dir" / "x.sqlite"
    with pytest.raises(StoreError, match=rf"{tmp_path / 'typo' / 'dir'} does not exist; "
                       rf"`mmla new {path}` creates a project"):
        open_store(path)
    assert not (tmp_path / "typo").exists()
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(StoreError, match="is not a folder"):
        open_store(tmp_path / "file" / "x.sqlite")


def test_store_is_bound_to_its_thread(store):
    errors = []

    def use_from_other_thread():
        try:
            store.scalar("SELECT 1")
        except sqlite3.ProgrammingError as exc:
            errors.append(exc)

    t = threading.Thread(target=use_from_other_thread)
    t.start()
    t.join()
    assert errors, "a Store must not be usable from another thread"


def test_failed_write_rolls_back_everything(store, meld_clips):
    ids = meld_clips[2]
    with pytest.raises(RuntimeError), store.write() as conn:
        conn.execute("UPDATE clips SET transcript = 'changed' WHERE id = ?", (ids[0],))
        raise RuntimeError("boom")
    assert store.scalar("SELECT transcript FROM clips WHERE id = ?", (ids[0],)) == "line 0"


def test_reimport_adds_only_new_clips(store, meld_clips):
    dataset_id, _, _ = meld_clips
    counts = upsert_clips(store, dataset_id, [
        {"external_id": "0_0", "split": "test", "media_path": "video/MELD_0_0.mp4",
         "transcript": "line 0"},
        {"external_id": "0_1", "split": "test", "media_path": "video/MELD_0_1.mp4",
         "transcript": "edited"},
        {"external_id": "9_9", "split": "dev", "media_path": None, "transcript": "new"},
    ])
    assert (counts.added, counts.updated, counts.unchanged) == (1, 1, 1)
    new = find_clip(store, "MELD/9_9")
    assert new["health"] == "text_only"


def test_label_edits_undo_and_redo(store, meld_clips):
    _, task_id, ids = meld_clips
    set_label(store, ids[0], task_id, "joy", "ana")
    set_label(store, ids[0], task_id, "anger", "ana")
    set_label(store, ids[1], task_id, "fear", "bo")
    assert undo(store, "ana").old_value == "joy"
    assert [r["label"] for r in labels_for_clip(store, ids[0])] == ["joy"]
    assert undo(store, "ana").old_value is None
    assert labels_for_clip(store, ids[0]) == []
    assert undo(store, "ana") is None
    assert redo(store, "ana").new_value == "joy"
    set_label(store, ids[0], task_id, "sadness", "ana")  # a new edit cuts the redo branch
    assert redo(store, "ana") is None
    assert [r["label"] for r in labels_for_clip(store, ids[1])] == ["fear"]  # bo untouched


def test_undo_survives_reopening(tmp_path, meld_clips, store):
    _, task_id, ids = meld_clips
    set_label(store, ids[0], task_id, "joy", "ana")
    store.close()
    with open_store(store.path) as again:
        assert undo(again, "ana").new_value == "joy"


def test_one_undo_stack_across_labels_checks_and_transcripts(store, meld_clips):
    _, task_id, ids = meld_clips
    set_label(store, ids[0], task_id, "joy", "ana")
    set_check_answer(store, ids[0], "visual_only", "no", "ana")
    set_transcript(store, ids[0], "line zero, corrected", "ana")
    assert undo(store, "ana").kind == "transcript"
    assert find_clip(store, str(ids[0]))["transcript"] == "line 0"
    assert undo(store, "ana").kind == "check"
    assert check_answers(store, ids[0]) == []
    assert undo_depth(store, "ana") == (1, 2)
    assert redo(store, "ana").kind == "check"
    assert check_answers(store, ids[0])[0]["answer"] == "no"


def test_model_check_answers_are_a_separate_layer(store, meld_clips):
    _, _, ids = meld_clips
    set_check_answer(store, ids[0], "audio_only", "yes", "model:tiny", source="model",
                     confidence=0.8)
    assert undo(store, "model:tiny") is None
    assert check_answers(store, ids[0])[0]["source"] == "model"


def test_a_persons_label_is_gold_over_the_imported_one(store, meld_clips):
    _, task_id, ids = meld_clips
    import_labels(store, [(ids[0], task_id, "neutral")])
    set_label(store, ids[0], task_id, "joy", "ana")
    assert gold_label(store, ids[0], task_id) == "joy"
    assert gold_label(store, ids[0], task_id, "import") == "neutral"


def test_check_answers_are_validated(store, meld_clips):
    _, _, ids = meld_clips
    set_check_answer(store, ids[0], "visual_only", "yes", "ana")
    with pytest.raises(ValueError, match="yes"):
        set_check_answer(store, ids[0], "visual_only", "maybe", "ana")


def test_variant_is_a_clip_with_parent_and_recipe(store, meld_clips):
    _, _, ids = meld_clips
    vid = add_variant_clip(store, ids[0], "0_0~frames_black", None, "line 0",
                           {"type": "frames_black", "params": {}, "seed": 0})
    variant = find_clip(store, str(vid))
    assert variant["parent_clip_id"] == ids[0]
    assert "frames_black" in variant["recipe_json"]
    # deleting the parent removes its variants
    with store.write() as conn:
        conn.execute("DELETE FROM clips WHERE id = ?", (ids[0],))
    assert find_clip(store, str(vid)) is None


def test_custom_task_cannot_change_labels_silently(store):
    ensure_task(store, make_custom_task("Politeness", ["polite", "rude"]))
    with pytest.raises(ValueError, match="already exists"):
        ensure_task(store, make_custom_task("Politeness", ["polite", "rude", "neutral"]))


def test_builtin_tasks_attach_to_dataset(store, meld_clips):
    dataset_id = meld_clips[0]
    ensure_builtin_tasks(store)
    assert store.scalar("SELECT count(*) FROM tasks WHERE builtin = 1") == 12
    assert [t.name for _, t in tasks_for_dataset(store, dataset_id)] == ["MELD"]


def test_predictions_batch_and_run_accuracy(store, meld_clips):
    _, task_id, ids = meld_clips
    run_id = start_run(store, "eval", task_id=task_id, settings={"fps": 2})
    insert_predictions(store, [
        {"run_id": run_id, "clip_id": ids[i], "task_id": task_id, "prompt_template": "t",
         "prompt_hash": "h", "parsed_label": "joy", "gold_label": gold,
         "scores_json": {"joy": 0.7, "anger": 0.3}}
        for i, gold in enumerate(["joy", "anger", "joy"])
    ])
    scored, correct, accuracy = run_accuracy(store, run_id)
    assert (scored, correct) == (3, 2)
    assert accuracy == pytest.approx(2 / 3)


def test_two_stores_on_one_file_write_concurrently(tmp_path):
    path = tmp_path / "p.sqlite"
    open_store(path).close()

    def writer(n):
        with Store(path) as s:
            for i in range(50):
                upsert_dataset(s, f"ds{n}_{i}", "/r", "folder")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open_store(path) as s:
        assert s.scalar("SELECT count(*) FROM datasets") == 150


def _open_at_once(path, threads: int) -> list:
    """What each of `threads` threads opening `path` at the same moment got: the store's
    read-only reason (None: writable) or the exception."""
    start, outcomes = threading.Barrier(threads), []

    def open_it():
        start.wait()
        try:
            with open_store(path) as store:
                outcomes.append(store.read_only)
        except Exception as exc:  # the race used to raise 'duplicate column name'
            outcomes.append(exc)

    workers = [threading.Thread(target=open_it) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcomes


def test_many_threads_opening_a_fresh_file_at_once_migrate_it_once(tmp_path):
    # A window opens a new project from several threads at once; about one round in ten used
    # to see "database is locked" while the file turned WAL, open it read-only and fail with
    # "its schema needs an upgrade this app cannot write". Twenty rounds catch that.
    for round_ in range(20):
        path = tmp_path / f"fresh{round_}.sqlite"
        assert _open_at_once(path, 8) == [None] * 8, round_
        with open_store(path) as store:
            assert store.schema_version() == SCHEMA_VERSION
            assert store.scalar("SELECT count(*) FROM _sqlite_migrations") == SCHEMA_VERSION


def test_a_locked_file_is_waited_for_not_opened_read_only(tmp_path, monkeypatch):
    locked_tries = iter([True, True, False])
    connect = db.Store._connect_writable_once

    def locked_twice(self):
        if next(locked_tries):
            raise sqlite3.OperationalError("database is locked")
        return connect(self)

    monkeypatch.setattr(db.Store, "_connect_writable_once", locked_twice)
    with open_store(tmp_path / "p.sqlite") as store:
        assert store.read_only is None and store.schema_version() == SCHEMA_VERSION


def test_a_file_locked_past_the_busy_timeout_says_so(tmp_path, monkeypatch):
    def always_locked(self):
        raise sqlite3.OperationalError("database is locked")

    open_store(tmp_path / "p.sqlite").close()
    monkeypatch.setattr(db, "BUSY_TIMEOUT_S", 0.1)
    monkeypatch.setattr(db.Store, "_connect_writable_once", always_locked)
    with pytest.raises(db.StoreError, match="held the project's lock") as caught:
        open_store(tmp_path / "p.sqlite")
    assert "read-only" not in str(caught.value)


def test_a_new_project_uses_16k_pages_and_an_old_one_keeps_its_own(tmp_path):
    with open_store(tmp_path / "new.sqlite") as store:
        assert store.scalar("PRAGMA page_size") == 16384
    old = sqlite3.connect(tmp_path / "old.sqlite")
    old.execute("CREATE TABLE t (x)")
    old.commit()
    old.close()
    with open_store(tmp_path / "old.sqlite") as store:
        assert store.scalar("PRAGMA page_size") == 4096
        assert store.schema_version() == SCHEMA_VERSION
