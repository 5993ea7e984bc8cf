"""The one label policy (store.label_policy): each source, majority ties, the per-kind counts."""

import pytest

from mmla_core.store import open_store
from mmla_core.store.catalog import (
    attach_task,
    ensure_task,
    list_clips,
    upsert_clips,
    upsert_dataset,
)
from mmla_core.store.label_policy import (
    LabelSourceError,
    describe,
    gold_labels,
    label_of,
    parse_source,
    resolve_labels,
)
from mmla_core.store.labels import import_labels, set_label
from mmla_core.tasks import builtin_task


@pytest.fixture
def project(tmp_path):
    """Four MELD clips: imported labels on all; people and an adjudicator on some."""
    with open_store(tmp_path / "p.sqlite") as store:
        dataset_id = upsert_dataset(store, "MELD", "/data/MELD", "mmla")
        task_id = ensure_task(store, builtin_task("MELD"))
        attach_task(store, dataset_id, task_id)
        upsert_clips(store, dataset_id, [
            {"external_id": f"0_{i}", "split": "train", "media_path": f"v/{i}.mp4",
             "transcript": f"line {i}"} for i in range(4)])
        ids = [c["id"] for c in list_clips(store, dataset_id=dataset_id)]
        import_labels(store, [(cid, task_id, "neutral") for cid in ids])
        set_label(store, ids[0], task_id, "joy", "ana")       # one person differs
        set_label(store, ids[1], task_id, "joy", "ana")       # two people, then adjudicated
        set_label(store, ids[1], task_id, "anger", "bob")
        set_label(store, ids[1], task_id, "sadness", "adjudicated:carol")
        set_label(store, ids[2], task_id, "anger", "bob")     # import vs bob: a tie
        yield store, task_id, ids


def test_curated_adjudicated_then_latest_person_then_import(project):
    store, task_id, ids = project
    got = resolve_labels(store, task_id=task_id)
    assert [got.get(c, task_id) for c in ids] == ["joy", "sadness", "anger", "neutral"]
    assert got.counts() == {"adjudicated": 1, "person": 2, "import": 1, "unresolved": 0}
    set_label(store, ids[0], task_id, "surprise", "bob")  # the latest person wins
    assert label_of(store, ids[0], task_id) == "surprise"
    assert gold_labels(store, task_id=task_id)[ids[0]][task_id] == "surprise"


def test_import_and_named_annotator_sources(project):
    store, task_id, ids = project
    imported = resolve_labels(store, "import", task_id=task_id)
    assert {imported.get(c, task_id) for c in ids} == {"neutral"}
    assert imported.counts()["import"] == 4
    bob = resolve_labels(store, "annotator:bob", task_id=task_id)
    assert bob.labels == {ids[1]: {task_id: "anger"}, ids[2]: {task_id: "anger"}}
    assert bob.counts() == {"adjudicated": 0, "person": 2, "import": 0, "unresolved": 0}
    assert label_of(store, ids[3], task_id, "annotator:bob") is None


def test_majority_tie_is_unresolved_never_guessed(project):
    store, task_id, ids = project
    set_label(store, ids[3], task_id, "neutral", "ana")  # import + ana agree
    got = resolve_labels(store, "majority", task_id=task_id)
    assert got.get(ids[3], task_id) == "neutral"
    assert got.get(ids[2], task_id) is None  # import "neutral" vs bob "anger"
    assert got.unresolved[(ids[2], task_id)] == ["anger", "neutral"]
    assert got.unresolved[(ids[1], task_id)] == ["anger", "joy", "neutral"]  # adjudication no vote
    assert got.counts() == {"adjudicated": 0, "person": 0, "import": 0, "majority": 1,
                            "unresolved": 3}
    # counts over the pairs a consumer used only
    assert got.summary([(ids[3], task_id)])["counts"]["unresolved"] == 0


def test_source_names_are_checked():
    assert parse_source(None) == "curated"
    assert parse_source("annotator:import") == "import"
    assert parse_source(" annotator:ana ") == "annotator:ana"
    for bad in ("annotator:", "best", "Curated"):
        with pytest.raises(LabelSourceError, match="source"):
            parse_source(bad)
    assert describe({"source": "import", "counts": {"import": 3}}) == "labels: import (import 3)"


def test_adjudication_is_the_curated_label_and_undoes_like_any_edit(project):
    from mmla_core.store.labels import adjudicate, redo, undo, undo_depth

    store, task_id, ids = project
    set_label(store, ids[0], task_id, "anger", "bob")     # ana said joy, bob anger
    adjudicate(store, ids[0], task_id, "joy", "dana")
    assert label_of(store, ids[0], task_id) == "joy"
    assert resolve_labels(store, task_id=task_id).kinds[(ids[0], task_id)] == "adjudicated"
    set_label(store, ids[0], task_id, "fear", "bob")      # a later person label does not win
    assert label_of(store, ids[0], task_id) == "joy"
    assert undo_depth(store, "dana") == (1, 0)
    edit = undo(store, "dana")
    assert edit.owner == "adjudicated:dana" and edit.new_value == "joy"
    assert label_of(store, ids[0], task_id) == "fear"     # back to the latest person
    assert redo(store, "dana").new_value == "joy"
    assert label_of(store, ids[0], task_id) == "joy"
    set_label(store, ids[0], task_id, "sadness", "dana")  # dana's own label is a separate row
    assert undo(store, "dana").owner is None
    assert label_of(store, ids[0], task_id) == "joy"


def test_verdict_rule_and_filters(project):
    from mmla_core.store.labels import adjudicate
    from mmla_core.store.review import mark_reviewed
    from mmla_core.store.verdicts import Selection, overall_verdicts

    store, task_id, ids = project
    mark_reviewed(store, ids[0], "ana", "accept")
    mark_reviewed(store, ids[1], "ana", "accept")
    mark_reviewed(store, ids[1], "bob", "reject")         # any reject wins
    mark_reviewed(store, ids[2], "bob", "reject")
    adjudicate(store, ids[2], task_id, "anger", "carl")
    mark_reviewed(store, ids[2], "carl", "accept")        # ...unless a later adjudicator accept
    verdicts = overall_verdicts(store)
    assert [verdicts.get(c) for c in ids] == ["accept", "reject", "accept", None]
    for selection, kept, left_out in (
        (Selection(), [ids[0], ids[2], ids[3]], {"rejected": 1, "not_accepted": 0}),
        (Selection(include_rejected=True), ids, {"rejected": 0, "not_accepted": 0}),
        (Selection(only_accepted=True), [ids[0], ids[2]], {"rejected": 1, "not_accepted": 1}),
    ):
        gate = selection.gate(store)
        assert [c for c in ids if gate.keep(c)] == kept
        assert gate.left_out_dict() == left_out
