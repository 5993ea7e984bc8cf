"""Which file of a folder is its manifest: one that looks like one (a path or clip id column, as
the importer reads them), not any `*.jsonl`. Another file is ignored with a note naming it; one
named or given as the manifest that is not one is refused; two candidates are not guessed
between (the GUI's dialog: tests/gui/curation/test_import_report.py)."""

from __future__ import annotations

import json

import pytest

from mmla_core.cli import main as cli
from mmla_core.datasets import DatasetImportError, import_folder
from mmla_core.datasets.auto import detect_kind, import_path
from mmla_core.datasets.manifest_pick import NotAManifestError
from mmla_core.store import open_store
from mmla_core.store.catalog import dataset_by_name, list_clips
from tests.support.mmla_tree import clip_folder

NOTE = "notes.jsonl: not a manifest (no path/id column), ignored"


@pytest.fixture()
def folder(tmp_path):
    """a.mp4, b.mp4, a notes.jsonl and a scores.csv that are not manifests."""
    root = clip_folder(tmp_path / "clips")
    write_jsonl(root / "notes.jsonl", [{"note": "check the lighting", "by": "alice"}])
    (root / "scores.csv").write_text("clip,score\na,3\n")
    return root


@pytest.fixture()
def store(folder):
    with open_store(folder.parent / "project.sqlite") as project:
        yield project


def write_jsonl(path, rows) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def media_paths(store) -> list[str]:
    dataset = dataset_by_name(store, "clips")
    return sorted(c["media_path"] for c in list_clips(store, dataset_id=dataset["id"]))


def test_a_jsonl_that_is_not_a_manifest_is_ignored_with_a_note(store, folder):
    report = import_folder(store, folder)
    assert media_paths(store) == ["a.mp4", "b.mp4"] and report.issues == []
    assert report.manifest is None and report.unlisted == []
    assert f"  {NOTE}" in report.notes() and NOTE in report.summary()


def test_the_cli_imports_every_file_and_says_why_notes_jsonl_was_left(folder, capsys):
    db = str(folder.parent / "project.sqlite")
    assert cli(["--db", db, "import", str(folder), "--no-probe"]) == 0
    out = capsys.readouterr().out
    assert NOTE in out and "not in the manifest" not in out and "2 added" in out


def test_the_one_jsonl_that_looks_like_a_manifest_is_used(store, folder):
    write_jsonl(folder / "clips.jsonl", [{"tasks": [{"name": "Mine", "labels": ["x", "y"]}]},
                                         {"id": "b", "path": "b.mp4", "transcript": "hi"}])
    report = import_folder(store, folder)
    assert media_paths(store) == ["b.mp4"] and report.manifest == "clips.jsonl"
    assert report.unlisted == ["a.mp4"] and report.issues == []
    assert f"  {NOTE}" in report.notes()


def test_a_text_only_manifest_with_an_id_column_is_one(store, folder):
    write_jsonl(folder / "texts.jsonl", [{"id": "t1", "transcript": "only words"}])
    report = import_folder(store, folder)
    assert report.manifest == "texts.jsonl" and report.text_only == 1


def test_two_files_that_look_like_manifests_are_not_guessed_between(store, folder):
    for name in ("one.jsonl", "two.jsonl"):
        write_jsonl(folder / name, [{"path": "a.mp4"}])
    with pytest.raises(DatasetImportError, match=r"one\.jsonl, two\.jsonl.*--manifest"):
        import_folder(store, folder)
    assert dataset_by_name(store, "clips") is None
    report = import_folder(store, folder, manifest=folder / "two.jsonl")
    assert report.manifest == "two.jsonl" and media_paths(store) == ["a.mp4"]


def test_the_named_manifest_wins_and_the_note_says_so(store, folder):
    write_jsonl(folder / "other.jsonl", [{"path": "b.mp4"}])
    (folder / "manifest.csv").write_text("path\na.mp4\n")
    report = import_folder(store, folder)
    assert report.manifest == "manifest.csv" and media_paths(store) == ["a.mp4"]
    assert ("  manifest.csv used as the manifest (its name); other.jsonl also looks like one, "
            "not used (mmla import --manifest FILE picks another)") in report.notes()


def test_a_file_named_manifest_that_is_not_one_is_refused(store, folder):
    (folder / "manifest.csv").write_text("file,text\na.mp4,hello\n")
    with pytest.raises(NotAManifestError, match=r"manifest\.csv: not a manifest \(no path/id "
                       r"column; its columns: file, text\)"):
        import_folder(store, folder)
    assert dataset_by_name(store, "clips") is None


def test_an_explicit_manifest_that_is_not_one_is_a_usage_error(store, folder, capsys):
    with pytest.raises(NotAManifestError, match=r"notes\.jsonl: not a manifest"):
        import_folder(store, folder, manifest=folder / "notes.jsonl")
    db = str(folder.parent / "project.sqlite")
    code = cli(["--db", db, "import", str(folder), "--manifest", str(folder / "scores.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "scores.csv: not a manifest (no path/id column; its columns: clip, " \
        "score)" in err and "usage:" in err, err
    assert dataset_by_name(store, "clips") is None


def test_a_folder_with_only_a_non_manifest_says_so(store, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    write_jsonl(folder / "notes.jsonl", [{"note": "nothing here yet"}])
    with pytest.raises(DatasetImportError, match=r"nothing to import.*notes\.jsonl: not a"):
        import_folder(store, folder)


def test_the_kind_pick_takes_a_manifest_by_the_same_rule(tmp_path):
    """Folder or nothing: a notes.jsonl is no manifest when the kind is picked either, so the
    refusal comes from the pick (naming it), not one step later from the folder importer."""
    folder = tmp_path / "empty"
    folder.mkdir()
    write_jsonl(folder / "notes.jsonl", [{"note": "nothing here yet"}])
    with pytest.raises(DatasetImportError, match=r"nothing to import.*notes\.jsonl: not a"):
        detect_kind(folder)
    write_jsonl(folder / "texts.jsonl", [{"id": "a", "transcript": "hello"}])
    assert detect_kind(folder) == "folder"  # a text-only manifest: clips without media


def test_a_folder_with_only_a_file_named_manifest_picks_the_folder_importer(store, tmp_path):
    """manifest.csv is meant as the manifest: the folder importer refuses it and says why."""
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "manifest.csv").write_text("file,text\na.mp4,hello\n")
    assert detect_kind(folder) == "folder"
    with pytest.raises(NotAManifestError, match=r"manifest\.csv: not a manifest"):
        import_path(store, folder)


def test_a_manifest_given_on_the_command_line_makes_the_folder_a_folder_import(tmp_path, capsys):
    """`--manifest FILE` only applies to a folder import: the kind pick, which reads no
    `--manifest`, must not refuse a folder whose only file is that (text-only) manifest."""
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "data.csv").write_text("id,transcript\nt1,only words\nt2,more words\n")
    db = str(tmp_path / "project.sqlite")
    code = cli(["--db", db, "import", str(folder), "--manifest", str(folder / "data.csv"),
                "--no-probe"])
    assert code == 0, capsys.readouterr().err
    with open_store(db) as store:
        assert len(list_clips(store, dataset_id=dataset_by_name(store, "texts")["id"])) == 2
