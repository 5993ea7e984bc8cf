"""Folder + CSV/JSONL manifest import: media discovery, label forms, custom tasks, bad rows."""

from __future__ import annotations

import json

import pytest

from mmla_core.datasets import DatasetImportError, import_folder, import_mmla
from mmla_core.store import open_store
from mmla_core.store.catalog import dataset_by_name, list_clips, task_by_name, tasks_for_dataset
from mmla_core.store.labels import gold_label
from tests.support.mmla_tree import tiny_clip


@pytest.fixture()
def store(tmp_path):
    with open_store(tmp_path / "project.sqlite") as s:
        yield s


@pytest.fixture()
def media(tmp_path):
    folder = tmp_path / "my_clips"
    (folder / "sub").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    tiny_clip(folder / "a.mp4")
    tiny_clip(folder / "sub" / "b.MOV")
    (folder / "c.wav").write_bytes(b"RIFF....")
    (folder / "notes.txt").write_text("not media")
    (folder / ".hidden" / "d.mp4").write_bytes(b"x")
    return folder


def clips_by_id(store, dataset: str) -> dict[str, dict]:
    ds = dataset_by_name(store, dataset)
    return {c["external_id"]: c for c in list_clips(store, dataset_id=ds["id"])}


def label(store, clip: dict, task: str) -> str | None:
    return gold_label(store, clip["id"], task_by_name(store, task)[0])


def write_jsonl(path, rows) -> None:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


def test_every_media_file_becomes_a_clip(store, media):
    report = import_folder(store, media)
    assert report.dataset == "my_clips" and report.issues == []
    clips = clips_by_id(store, "my_clips")
    assert sorted(clips) == ["a", "c", "sub/b"]
    assert clips["sub/b"]["media_path"] == "sub/b.MOV" and clips["a"]["split"] == ""
    assert dataset_by_name(store, "my_clips")["source_kind"] == "folder"
    assert import_folder(store, media).unchanged == 3
    with pytest.raises(DatasetImportError):
        import_folder(store, media / "nope")


def test_csv_manifest_with_task_columns_and_task_key_form(store, media):
    (media / "manifest.csv").write_text(
        "path,transcript,split,MELD,task,sentiment\n"
        "a.mp4,hello there,train,Joy,MOSI,positive\n"
        "sub/b.MOV,\"well, no\",dev,anger,,\n"
        "c.wav,,test,,MOSI,sentiment: negative\n"
    )
    report = import_folder(store, media, name="csvset")
    assert report.issues == [] and report.labels == 4
    clips = clips_by_id(store, "csvset")
    assert clips["a"]["transcript"] == "hello there" and clips["a"]["split"] == "train"
    assert clips["sub/b"]["transcript"] == "well, no"
    assert label(store, clips["a"], "MELD") == "joy"
    assert label(store, clips["a"], "MOSI") == "positive"
    assert label(store, clips["c"], "MOSI") == "negative"
    ds = dataset_by_name(store, "csvset")
    assert sorted(t.name for _, t in tasks_for_dataset(store, ds["id"])) == ["MELD", "MOSI"]


def test_jsonl_labels_object_with_custom_tasks(store, media):
    (media / "tasks.json").write_text(json.dumps([{"name": "Politeness", "labels": ["polite",
                                                                                    "rude"]}]))
    write_jsonl(media / "manifest.jsonl", [
        {"tasks": [{"name": "Topic", "labels": ["work", "home"], "task_key": "topic"}]},
        {"path": "a.mp4", "split": "train", "labels": {"Politeness": "Rude", "Topic": "work"}},
        {"path": "c.wav", "labels": {"Mystery": "x", "MELD": "fear"}},
        {"path": "sub/b.MOV", "labels": {"Mystery": "y"}},
    ])
    report = import_folder(store, media, name="custom")
    clips = clips_by_id(store, "custom")
    assert label(store, clips["a"], "Politeness") == "rude"
    assert label(store, clips["a"], "Topic") == "work"
    assert label(store, clips["c"], "MELD") == "fear"
    assert task_by_name(store, "Topic")[1].task_key == "topic"
    (issue,) = report.issues
    assert issue.location.endswith("manifest.jsonl:3") and "'Mystery' in 2 row(s)" in issue.message


def test_manifest_paths_are_confined_to_the_folder(store, media, tmp_path):
    tiny_clip(tmp_path / "outside.mp4")
    write_jsonl(media / "manifest.jsonl", [
        {"path": "../outside.mp4", "labels": {"MOSI": "positive"}},
        {"path": str(tmp_path / "outside.mp4")},
        {"path": str(media / "a.mp4"), "transcript": "absolute but inside"},
    ])
    report = import_folder(store, media, name="confined")
    clips = clips_by_id(store, "confined")
    assert sorted(clips) == ["a"] and report.skipped == 2  # the manifest names the clips
    assert report.unlisted == ["c.wav", "sub/b.MOV"]
    assert clips["a"]["transcript"] == "absolute but inside"
    escapes = [i for i in report.issues if "dataset root" in i.message]
    assert [i.location.rsplit(":", 1)[1] for i in escapes] == ["1", "2"]
    assert all(c["media_path"] is None or ".." not in c["media_path"] for c in clips.values())


def test_malformed_rows_are_reported_with_line_numbers(store, media):
    write_jsonl(media / "clips.jsonl", [
        {"path": "a.mp4", "labels": {"MELD": "joy"}},
        '{"path": "c.wav", "labels": ',
        "[1, 2]",
        {"transcript": "no path at all"},
        {"path": "gone.mp4", "transcript": "file missing", "labels": {"MELD": "sadness"}},
        {"path": "c.wav", "labels": {"MELD": "happy"}},
        {"path": "a.mp4"},
    ])
    report = import_folder(store, media, name="messy")  # the only *.jsonl is the manifest
    where = {i.location.rsplit(":", 1)[1]: i.message for i in report.issues}
    assert sorted(where, key=int) == ["2", "3", "4", "5", "6", "7"]
    assert "not valid JSON" in where["2"] and "expected a JSON object" in where["3"]
    assert "no 'path'" in where["4"] and "not found" in where["5"]
    assert "unknown label 'happy'" in where["6"] and "duplicate id 'a'" in where["7"]
    clips = clips_by_id(store, "messy")
    assert clips["gone"]["media_path"] is None and label(store, clips["gone"], "MELD") == "sadness"
    assert label(store, clips["c"], "MELD") is None and label(store, clips["a"], "MELD") == "joy"
    assert report.text_only == 1 and report.skipped == 4


def test_text_only_rows_and_non_utf8_csv(store, media):
    (media / "manifest.csv").write_bytes(
        b"external_id,transcript,MOSI\nt1,only text,negative\nt2,caf\xe9,positive\n"
    )
    report = import_folder(store, media, name="texty")
    clips = clips_by_id(store, "texty")
    assert clips["t1"]["media_path"] is None and label(store, clips["t2"], "MOSI") == "positive"
    assert clips["t2"]["transcript"] == "caf\ufffd"
    (issue,) = report.issues
    assert issue.location.endswith("manifest.csv:3") and "UTF-8" in issue.message


def test_explicit_manifest_and_ambiguous_jsonl(store, media, tmp_path):
    write_jsonl(media / "one.jsonl", [{"path": "a.mp4", "labels": {"MOSI": "positive"}}])
    write_jsonl(media / "two.jsonl", [{"path": "a.mp4", "labels": {"MOSI": "negative"}}])
    with pytest.raises(DatasetImportError, match="several files look like manifests"):
        import_folder(store, media, name="ambiguous")  # which one is meant is not guessed
    import_folder(store, media, name="chosen", manifest=media / "two.jsonl")
    assert label(store, clips_by_id(store, "chosen")["a"], "MOSI") == "negative"
    with pytest.raises(DatasetImportError, match="manifest not found"):
        import_folder(store, media, manifest=tmp_path / "missing.jsonl")



def test_a_name_taken_by_another_kind_of_dataset_is_refused(store, media, tmp_path):
    import_folder(store, media, name="MIntRec")
    folder = tmp_path / "MIntRec"
    folder.mkdir()
    (folder / "train.tsv").write_text("id\tutterance\tintent\n1\thi\tgreet\n")
    (report,) = import_mmla(store, folder)
    assert report.dataset_id is None and report.added == 0
    assert "already exists (folder import of" in report.issues[0].message
    (tmp_path / "MOSI").mkdir()
    (tmp_path / "MOSI" / "dev.tsv").write_text("id\tutterance\tsentiment\n1\thi\tpositive\n")
    import_mmla(store, tmp_path / "MOSI")
    with pytest.raises(DatasetImportError, match="under another name"):
        import_folder(store, media, name="MOSI")


def test_a_manifest_added_later_gives_the_scanned_clips_its_splits(store, media):
    """Import a folder of clips, then add a manifest with splits and labels but no transcript
    column: the manifest's splits were ignored ("4 unchanged", split ''), since a row without
    a transcript was taken for a file no row describes."""
    import_folder(store, media)
    before = clips_by_id(store, "my_clips")
    assert before["a"]["split"] == before["sub/b"]["split"] == ""
    (media / "manifest.csv").write_text("path,split,MELD\na.mp4,train,joy\nsub/b.MOV,test,anger\n")
    report = import_folder(store, media)
    after = clips_by_id(store, "my_clips")
    assert (after["a"]["split"], after["sub/b"]["split"]) == ("train", "test")
    assert after["a"]["id"] == before["a"]["id"] and len(after) == len(before)
    assert label(store, after["sub/b"], "MELD") == "anger" and report.moved == 2
