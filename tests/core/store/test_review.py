"""Reviews: verdicts from the checks, progress, next unreviewed, notes, and review exports."""

from __future__ import annotations

import csv
import json

import pytest

from mmla_core.checks import MMA_KEYS
from mmla_core.datasets.export import export_llamafactory
from mmla_core.datasets.review_export import export_review_csv, export_review_jsonl, review_records
from mmla_core.store.catalog import add_variant_clip
from mmla_core.store.labels import set_check_answer, set_note
from mmla_core.store.review import (
    Progress,
    ReviewError,
    accepted_clip_ids,
    clear_review,
    mark_reviewed,
    next_unreviewed,
    note_for,
    notes_for_clip,
    review_progress,
    reviewed_by,
)
from mmla_core.store.verdicts import Selection


@pytest.fixture
def store(demo_store):
    return demo_store


def answer_all(store, clip_id: int, annotator: str, answer: str = "yes", **overrides) -> None:
    for key in MMA_KEYS:
        set_check_answer(store, clip_id, key, overrides.get(key, answer), annotator)


def test_verdict_comes_from_the_annotators_own_checks(store):
    assert mark_reviewed(store, 1, "alice") is None  # no answers yet: reviewed, no verdict
    answer_all(store, 1, "alice")
    answer_all(store, 1, "bob", full_audio="no")
    assert mark_reviewed(store, 1, "alice") == "accept"
    assert mark_reviewed(store, 1, "bob") == "reject"
    assert [(r["annotator"], r["verdict"]) for r in reviewed_by(store, 1)] == [
        ("alice", "accept"), ("bob", "reject")]


def test_explicit_verdicts_and_the_accept_rule(store):
    answer_all(store, 2, "alice", audio_only="no")
    with pytest.raises(ReviewError, match="audio_only answered No"):
        mark_reviewed(store, 2, "alice", "accept")
    assert mark_reviewed(store, 2, "alice", "reject") == "reject"
    assert mark_reviewed(store, 3, "alice", "accept") == "accept"  # curator's call, no checks
    assert mark_reviewed(store, 3, "alice", None) is None
    with pytest.raises(ReviewError, match="verdict must be"):
        mark_reviewed(store, 3, "alice", "maybe")
    with pytest.raises(ReviewError, match="annotator"):
        mark_reviewed(store, 3, "  ")


def test_progress_counts_original_clips_per_annotator(store):
    add_variant_clip(store, 1, "demo_01__black", None, "x", {"type": "black_frames"})
    assert review_progress(store, 1, "alice") == Progress(0, 8)
    mark_reviewed(store, 1, "alice")
    mark_reviewed(store, 2, "alice")
    mark_reviewed(store, 2, "alice")  # again: still one review
    mark_reviewed(store, 3, "bob")
    progress = review_progress(store, 1, "alice")
    assert progress == Progress(2, 8) and str(progress) == "2 of 8 reviewed"
    assert progress.fraction == pytest.approx(0.25)
    assert review_progress(store, 1) == Progress(3, 8)
    clear_review(store, 2, "alice")
    assert review_progress(store, 1, "alice").done == 1


def test_next_unreviewed_goes_forward_and_wraps(store):
    assert next_unreviewed(store, 1, "alice") == 1
    for clip_id in (2, 3, 5):
        mark_reviewed(store, clip_id, "alice")
    assert next_unreviewed(store, 1, "alice", after=1) == 4
    assert next_unreviewed(store, 1, "alice", after=4) == 6
    assert next_unreviewed(store, 1, "alice", after=8) == 1  # wraps round
    for clip_id in (1, 4, 6, 7):
        mark_reviewed(store, clip_id, "alice")
    assert next_unreviewed(store, 1, "alice", after=8) == 8  # the one left is the current one
    mark_reviewed(store, 8, "alice")
    assert next_unreviewed(store, 1, "alice", after=8) is None
    assert next_unreviewed(store, 1, "bob", after=8) == 1


def test_accepted_needs_an_accept_and_no_reject(store):
    mark_reviewed(store, 1, "alice", "accept")
    mark_reviewed(store, 2, "alice", "accept")
    mark_reviewed(store, 2, "bob", "reject")
    mark_reviewed(store, 3, "bob", None)
    assert accepted_clip_ids(store, 1) == {1}
    assert accepted_clip_ids(store, 1, "alice") == {1, 2}


def test_notes(store):
    assert note_for(store, 1, "alice") == ""
    set_note(store, 1, "alice", "speaker off-screen at 1.2 s")
    set_note(store, 1, "bob", "")
    assert note_for(store, 1, "alice") == "speaker off-screen at 1.2 s"
    assert notes_for_clip(store, 1) == {"alice": "speaker off-screen at 1.2 s"}


def test_review_exports_carry_labels_checks_and_verdicts(store, tmp_path):
    answer_all(store, 1, "alice")
    set_check_answer(store, 1, "visual_only", "no", "bob")
    set_check_answer(store, 1, "visual_only", "yes", "omni", source="model", confidence=0.9)
    mark_reviewed(store, 1, "alice")
    mark_reviewed(store, 1, "bob")
    assert review_records(store, "demo")[0]["id"] == 2  # rejected clip 1 left out by default
    everything = Selection(include_rejected=True)
    records = review_records(store, "demo", selection=everything)
    first = records[0]
    assert first["labels"] == {"MIntRec": "thank", "MELD": "joy"}
    assert first["checks"]["visual_only"] == {"alice": "yes", "bob": "no"}  # no model layer
    assert first["reviews"] == {"alice": "accept", "bob": "reject"}
    assert first["verdict"] == "reject"
    assert records[1]["verdict"] is None and records[1]["checks"] == {}
    written = export_review_jsonl(store, tmp_path / "out" / "r.jsonl", dataset="demo",
                                  selection=everything)
    assert written.records == 8 and written.labels["left_out"]["rejected"] == 0
    lines = (tmp_path / "out" / "r.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == first
    assert export_review_csv(store, tmp_path / "r.csv", dataset=1, split="train",
                             selection=everything).records == 3
    rows = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    assert rows[0]["check:visual_only:bob"] == "no" and rows[0]["verdict"] == "reject"
    assert rows[0]["reviewed_by"] == "alice;bob" and rows[0]["label:MELD"] == "joy"
    assert rows[1]["verdict"] == "" and len(rows) == 3


def test_llamafactory_export_keeps_only_accepted_clips(store, tmp_path):
    mark_reviewed(store, 1, "alice", "accept")
    mark_reviewed(store, 3, "alice", "accept")
    mark_reviewed(store, 3, "bob", "reject")
    out = tmp_path / "lf"
    files = export_llamafactory(store, out, dataset="demo", task="MELD",
                                selection=Selection(only_accepted=True))
    assert [p.name for p in files] == ["demo_train_emotion_llamafactory.json"]
    records = json.loads(files[0].read_text(encoding="utf-8"))
    assert [r["id"] for r in records] == ["demo_01"]
    assert files.skipped["rejected"] == 1  # clip 3: bob's reject wins over alice's accept
    assert files.skipped["not_accepted"] == 3  # 1 more train clip and both dev clips
    assert files.labels["left_out"] == {"rejected": 1, "not_accepted": 3}
    meta = json.loads((out / "mmla_export.json").read_text(encoding="utf-8"))
    assert meta["demo_train_emotion_llamafactory.json"]["labels"] == files.labels
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    assert list(info) == ["demo_train_emotion_llamafactory"]  # the empty dev file is gone
    assert not (out / "demo_dev_emotion_llamafactory.json").exists()
    assert "dev" in files.empty_splits
