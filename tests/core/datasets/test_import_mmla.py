"""MMLA layout import: exact labels, HF folder names, incremental re-import, broken inputs."""

from __future__ import annotations

import os

import pytest

from mmla_core.datasets import DatasetImportError, import_mmla
from mmla_core.store import open_store
from mmla_core.store.catalog import dataset_by_name, list_clips, tasks_for_dataset
from mmla_core.store.labels import gold_label
from mmla_core.tasks import builtin_task
from tests.support.mmla_tree import Row, make_mmla_tree, write_tsv


@pytest.fixture()
def store(tmp_path):
    with open_store(tmp_path / "project.sqlite") as s:
        yield s


def labels_by_id(store, dataset: str) -> dict[str, str | None]:
    ds = dataset_by_name(store, dataset)
    ((task_id, _task),) = tasks_for_dataset(store, ds["id"])
    return {
        c["external_id"]: gold_label(store, c["id"], task_id)
        for c in list_clips(store, dataset_id=ds["id"])
    }


def expected_labels(tree, folder: str) -> dict[str, str]:
    return {r.id: r.label for rows in tree.rows[folder].values() for r in rows}


def test_exact_labels_splits_and_paths(store, tmp_path):
    sizes = {"train": 5, "dev": 2, "test": 3}
    tree = make_mmla_tree(tmp_path / "mmla", {"MIntRec": sizes, "IEMOCAP": sizes, "MELD-DA": sizes})
    reports = import_mmla(store, tree.root)
    assert [r.dataset for r in reports] == ["IEMOCAP", "MELD-DA", "MIntRec"]
    for report in reports:
        assert report.issues == [] and report.added == 10 and report.labels == 10
    for folder in ("MIntRec", "IEMOCAP", "MELD-DA"):
        assert labels_by_id(store, folder) == expected_labels(tree, folder)
    iemocap = set(labels_by_id(store, "IEMOCAP").values())
    assert iemocap <= set(builtin_task("IEMOCAP").labels)  # file said "Neutral", store "neutral"
    ds = dataset_by_name(store, "MIntRec")
    assert ds["root"] == str(tree.folder("MIntRec").resolve()) and ds["source_kind"] == "mmla"
    clips = list_clips(store, dataset_id=ds["id"])
    assert sorted({c["split"] for c in clips}) == ["dev", "test", "train"]
    first = tree.rows["MIntRec"]["train"][0]
    clip = next(c for c in clips if c["external_id"] == first.id)
    assert clip["media_path"] == f"video/MIntRec_{first.id}.mp4"
    assert clip["transcript"] == first.utterance and clip["health"] == "unprobed"


def test_hugging_face_folder_names_map_to_task_code_names(store, tmp_path):
    sizes = {"dev": 3}
    tree = make_mmla_tree(tmp_path, {"CH-SIMSv2.0": sizes}, video_prefix="CH-SIMSv2.0")
    make_mmla_tree(tmp_path, {"UR-FUNNY-v2": sizes})  # videos named UR-FUNNY_<id>.mp4
    reports = import_mmla(store, tmp_path)
    assert sorted(r.dataset for r in reports) == ["Ch-sims", "UR-FUNNY"]
    assert all(r.text_only == 0 and r.issues == [] for r in reports)
    assert labels_by_id(store, "Ch-sims") == expected_labels(tree, "CH-SIMSv2.0")
    ds = dataset_by_name(store, "UR-FUNNY")
    assert [t.name for _, t in tasks_for_dataset(store, ds["id"])] == ["UR-FUNNY"]


def test_root_may_be_one_dataset_folder_and_only_filters(store, tmp_path):
    tree = make_mmla_tree(tmp_path, {"MOSI": {"test": 2}, "MUStARD": {"test": 2}})
    assert [r.dataset for r in import_mmla(store, tree.folder("MOSI"))] == ["MOSI"]
    assert [r.dataset for r in import_mmla(store, tmp_path, only=["mustard"])] == ["MUStARD"]
    with pytest.raises(DatasetImportError, match="no MMLA dataset folder"):
        import_mmla(store, tmp_path, only=["MELD"])
    with pytest.raises(DatasetImportError):
        import_mmla(store, tmp_path / "nope")


def test_reimport_adds_only_new_rows(store, tmp_path):
    tree = make_mmla_tree(tmp_path, {"MIntRec": {"train": 4, "dev": 2}})
    first = import_mmla(store, tree.root)[0]
    again = import_mmla(store, tree.root)[0]
    assert (first.added, again.added, again.updated, again.unchanged) == (6, 0, 0, 6)
    assert again.labels == 0
    task = builtin_task("MIntRec")
    rows = [*tree.rows["MIntRec"]["train"], Row("new_1", "a new line", "joke", False),
            Row("new_2", "another", "greet", False)]
    write_tsv(tree.folder("MIntRec") / "train.tsv", task, rows)
    third = import_mmla(store, tree.root)[0]
    assert (third.added, third.unchanged, third.labels, third.text_only) == (2, 6, 2, 2)
    assert labels_by_id(store, "MIntRec")["new_2"] == "greet"


def test_missing_video_imports_text_only_and_is_reported(store, tmp_path):
    tree = make_mmla_tree(tmp_path, {"MELD": {"train": 6}}, with_video="some")
    report = import_mmla(store, tree.root)[0]
    assert report.text_only == 3 and report.added == 6
    missing = [i for i in report.issues if "no video" in i.message]
    assert len(missing) == 3 and all(":" in i.location and "train.tsv" in i.location
                                      for i in missing)
    clips = list_clips(store, dataset_id=report.dataset_id)
    assert sum(c["media_path"] is None and c["health"] == "text_only" for c in clips) == 3


def test_dataset_without_video_folder_gets_one_issue(store, tmp_path):
    tree = make_mmla_tree(tmp_path, {"IEMOCAP-DA": {"train": 5}}, with_video=False)
    report = import_mmla(store, tree.root)[0]
    assert report.text_only == 5 and len(report.issues) == 1
    assert "no video/ folder" in report.issues[0].message


def test_missing_column_skips_that_file_only(store, tmp_path):
    tree = make_mmla_tree(tmp_path, {"MIntRec": {"train": 3, "dev": 2, "test": 2}})
    folder = tree.folder("MIntRec")
    (folder / "dev.tsv").write_text("index\tid\tintent\n0\tx1\tjoke\n1\tx2\tthank\n")
    report = import_mmla(store, tree.root)[0]
    assert report.added == 5 and report.skipped == 2
    (issue,) = report.issues
    assert issue.location == str(folder / "dev.tsv") and "utterance" in issue.message


def test_unknown_label_imports_clip_without_label(store, tmp_path):
    folder = tmp_path / "MOSI"
    folder.mkdir()
    (folder / "train.tsv").write_text(
        "id\tutterance\tsentiment\na\tgood\tPositive\nb\tmeh\tneutral\n"
        "c\tbad\tsentiment: negative\n"
    )
    report = import_mmla(store, folder)[0]
    assert report.added == 3 and report.labels == 2
    assert labels_by_id(store, "MOSI") == {"a": "positive", "b": None, "c": "negative"}
    bad = [i for i in report.issues if "unknown sentiment label" in i.message]
    assert [i.location for i in bad] == [f"{folder / 'train.tsv'}:3"]


def test_non_utf8_bytes_are_replaced_and_reported(store, tmp_path):
    folder = tmp_path / "MUStARD"
    folder.mkdir()
    (folder / "test.tsv").write_bytes(
        b"id\tutterance\tspeaking_style\n1\tfine\tsincere\n2\tcaf\xe9 ol\xe9\tsarcastic\n"
    )
    report = import_mmla(store, folder)[0]
    assert report.added == 2 and report.labels == 2
    utf8 = [i for i in report.issues if "UTF-8" in i.message]
    assert [i.location for i in utf8] == [f"{folder / 'test.tsv'}:3"]
    transcripts = {c["external_id"]: c["transcript"] for c in list_clips(store)}
    assert transcripts["2"] == "caf\ufffd ol\ufffd"


def test_duplicates_blank_lines_and_empty_ids(store, tmp_path):
    folder = tmp_path / "MELD"
    folder.mkdir()
    (folder / "dev.tsv").write_text(
        "id\tutterance\temotion\n0_0\thi\tjoy\n\n   \n0_0\tagain\tanger\n\tno id\tfear\n0_1\tok\t\n"
    )
    report = import_mmla(store, folder)[0]
    assert report.added == 2 and report.skipped == 2
    messages = {i.location.rsplit(":", 1)[1]: i.message for i in report.issues
                if i.location.startswith(str(folder / "dev.tsv:"))}
    assert "duplicate id '0_0' (first on line 2)" in messages["5"]
    assert "no id" in messages["6"] and "no emotion label" in messages["7"]
    assert labels_by_id(store, "MELD") == {"0_0": "joy", "0_1": None}


def test_path_like_ids_and_escaping_symlinks_never_reach_outside(store, tmp_path):
    tree = make_mmla_tree(tmp_path / "mmla", {"MIntRec": {"train": 2}})
    folder = tree.folder("MIntRec")
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"not yours")
    os.symlink(secret, folder / "video" / "MIntRec_leak.mp4")
    rows = [*tree.rows["MIntRec"]["train"], Row("../../secret", "x", "joke", False),
            Row("leak", "y", "joke", False)]
    write_tsv(folder / "train.tsv", builtin_task("MIntRec"), rows)
    report = import_mmla(store, tree.root)[0]
    assert report.added == 4 and report.text_only == 2
    clips = {c["external_id"]: c for c in list_clips(store)}
    assert clips["../../secret"]["media_path"] is None and clips["leak"]["media_path"] is None
    text = " ".join(i.message for i in report.issues)
    assert "not a plain file name" in text and "escapes the dataset root" in text


def test_unknown_folder_is_reported_and_progress_is_called(store, tmp_path):
    make_mmla_tree(tmp_path, {"MOSI": {"train": 1, "dev": 1}}, with_video=False)
    (tmp_path / "NotMMLA").mkdir()
    (tmp_path / "NotMMLA" / "train.tsv").write_text("id\tutterance\n")
    calls = []
    reports = import_mmla(store, tmp_path, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    unknown = next(r for r in reports if r.dataset == "NotMMLA")
    assert unknown.dataset_id is None and "not an MMLA dataset folder" in unknown.issues[0].message
    assert "MOSI: 2 clips (2 added" in next(r for r in reports if r.dataset == "MOSI").summary()


def test_videos_in_subfolders_and_an_empty_video_folder(store, tmp_path):
    tree = make_mmla_tree(tmp_path, {"MUStARD": {"dev": 2}, "MOSI": {"dev": 2}})
    folder = tree.folder("MUStARD")
    (folder / "video" / "part1").mkdir()
    first = tree.rows["MUStARD"]["dev"][0].id
    os.replace(folder / "video" / f"MUStARD_{first}.mp4",
               folder / "video" / "part1" / f"MUStARD_{first}.mp4")
    for video in (tree.folder("MOSI") / "video").iterdir():
        video.unlink()
    mosi, mustard = import_mmla(store, tmp_path)
    assert mustard.text_only == 0 and mustard.issues == []
    clips = list_clips(store, dataset_id=mustard.dataset_id)
    clip = next(c for c in clips if c["external_id"] == first)
    assert clip["media_path"] == f"video/part1/MUStARD_{first}.mp4"
    assert mosi.text_only == 2 and len(mosi.issues) == 1
    assert "holds no .mp4 files" in mosi.issues[0].message
