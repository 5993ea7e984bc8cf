"""The clip browser's rows, filters, sorting and "next unreviewed"."""

import pytest

from mmla_core.store import open_store
from mmla_core.store.browse import (
    BrowseFilter,
    BrowseRow,
    browse_rows,
    filter_rows,
    nest_variants,
    next_unreviewed,
    sort_indexes,
)
from mmla_core.store.catalog import (
    add_variant_clip,
    attach_task,
    ensure_task,
    list_clips,
    upsert_clips,
    upsert_dataset,
)
from mmla_core.store.labels import import_labels, set_label
from mmla_core.tasks import builtin_task


@pytest.fixture
def project(tmp_path):
    with open_store(tmp_path / "p.sqlite") as store:
        ds = upsert_dataset(store, "MELD", "/data/MELD", "mmla")
        task_id = ensure_task(store, builtin_task("MELD"))
        attach_task(store, ds, task_id)
        upsert_clips(store, ds, [
            {"external_id": "a", "split": "train", "media_path": "a.mp4", "transcript": "Oh no"},
            {"external_id": "b", "split": "dev", "media_path": None, "transcript": "Yes please"},
            {"external_id": "c", "split": "test", "media_path": "c.mp4", "transcript": "no way"},
        ])
        ids = [c["id"] for c in list_clips(store)]
        import_labels(store, [(ids[0], task_id, "fear"), (ids[1], task_id, "joy")])
        with store.write() as conn:
            conn.execute("UPDATE clips SET health = 'no_audio' WHERE id = ?", (ids[2],))
            conn.execute("INSERT INTO clip_reviews (clip_id, annotator, verdict) "
                         "VALUES (?, 'ana', 'accept')", (ids[0],))
        yield store, task_id, ids


def test_rows_carry_labels_reviews_and_media_root(project):
    store, task_id, ids = project
    set_label(store, ids[0], task_id, "sadness", "ana")
    rows = browse_rows(store, "ana")
    assert [r.external_id for r in rows] == ["a", "b", "c"]
    assert rows[0].labels == {"MELD": "sadness"}  # the annotator's own label wins
    assert browse_rows(store, "bo")[0].labels == {"MELD": "sadness"}  # others: the curated
    assert browse_rows(store, "bo")[1].labels == {"MELD": "joy"}  # ...the imported one if alone
    assert (rows[0].verdict, rows[0].reviewed_by) == ("accept", "ana")
    assert rows[0].media_root == "/data/MELD"


def test_filters_combine(project):
    store, _, _ = project
    rows = browse_rows(store, "ana")

    def shown(**spec):
        return [rows[i].external_id for i in filter_rows(rows, BrowseFilter(**spec), "ana")]

    assert shown(text="no") == ["a", "c"]
    assert shown(text="NO way") == ["c"]
    assert shown(split="dev") == ["b"]
    assert shown(task="MELD", label="joy") == ["b"]
    assert shown(task="MELD") == ["a", "b"]
    assert shown(verdict="accept") == ["a"]
    assert shown(verdict="none") == ["b", "c"]
    assert shown(health="problem") == ["c"]
    assert shown(health="text_only") == ["b"]
    assert shown(unreviewed_only=True) == ["b", "c"]


def test_sort_and_next_unreviewed_wraps(project):
    store, _, _ = project
    rows = browse_rows(store, "ana")
    order = sort_indexes(rows, list(range(3)), "transcript", descending=True)
    assert [rows[i].external_id for i in order] == ["b", "a", "c"]  # yes, oh, no (lowercase)
    natural = list(range(3))
    assert next_unreviewed(rows, natural, None, "ana") == 1
    assert next_unreviewed(rows, natural, 2, "ana") == 1  # wraps around
    assert next_unreviewed(rows, natural, None, "bo") == 0


def test_variants_are_listed_with_their_parent(project):
    store, _, ids = project
    add_variant_clip(store, ids[0], "a~black", None, "Oh no", {"type": "frames_black"})
    rows = browse_rows(store, "ana")
    assert rows[-1].parent_clip_id == ids[0]


def _row(clip_id: int, parent: int | None = None) -> BrowseRow:
    return BrowseRow(id=clip_id, dataset="d", split="train", external_id=str(clip_id),
                     transcript="", duration_s=None, health="ok", parent_clip_id=parent,
                     media_path=None, media_root="")


def test_variants_nest_under_their_parent_and_a_list_without_variants_keeps_its_order():
    plain = [_row(n) for n in (5, 3, 9)]
    order = [2, 0, 1]
    nested = nest_variants(plain, order)
    assert nested == [2, 0, 1] and nested is not order  # a copy: the model keeps its own
    rows = [_row(1), _row(2), _row(10, parent=1), _row(11, parent=10), _row(12, parent=3)]
    assert nest_variants(rows, [4, 1, 3, 2, 0]) == [4, 1, 0, 2, 3]  # 12's parent is not shown
    assert nest_variants(rows, [4, 1, 3, 2, 0], {1}) == [4, 1, 0]
