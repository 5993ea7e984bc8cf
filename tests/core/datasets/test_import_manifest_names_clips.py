"""A folder's manifest names its clips: a media file no row names is not imported (the summary
says "not in the manifest"), so a row that points clip `a` at another file does not turn `a.mp4`
into a second clip `a.mp4`, and a re-import never duplicates a curated clip (the GUI's dialog:
tests/gui/curation/test_import_report.py)."""

from __future__ import annotations

import pytest

from mmla_core.cli import main as cli
from mmla_core.datasets import import_folder
from mmla_core.store import open_store
from mmla_core.store.catalog import dataset_by_name, list_clips, task_by_name
from mmla_core.store.labels import gold_label, set_label, set_transcript
from tests.support.mmla_tree import tiny_clip


@pytest.fixture()
def folder(tmp_path):
    """a.mp4, a_take2.mp4 and b.mp4."""
    root = tmp_path / "clips"
    root.mkdir()
    for name in ("a.mp4", "a_take2.mp4", "b.mp4"):
        tiny_clip(root / name)
    return root


@pytest.fixture()
def store(folder):
    """The project beside the folder."""
    with open_store(folder.parent / "project.sqlite") as project:
        yield project


def clips(store) -> dict[str, dict]:
    dataset = dataset_by_name(store, "clips")
    return {c["external_id"]: c for c in list_clips(store, dataset_id=dataset["id"])}


@pytest.mark.parametrize("split", ["", "train"])
def test_a_row_pointing_a_clip_at_another_file_leaves_its_own_file_out(store, folder, split):
    (folder / "manifest.csv").write_text(
        f"external_id,path,split\na,a_take2.mp4,{split}\nb,b.mp4,{split}\n")
    report = import_folder(store, folder)
    assert {k: c["media_path"] for k, c in clips(store).items()} == {
        "a": "a_take2.mp4", "b": "b.mp4"}   # no clip 'a.mp4' (nor 'a') made of a.mp4
    assert report.unlisted == ["a.mp4"] and report.issues == [] and report.added == 2
    assert ("not in the manifest: 1 media file (a.mp4), not imported: manifest.csv names the "
            "clips (add a row to import one)") in report.summary()


def test_a_manifest_listing_a_subset_imports_that_subset(store, folder):
    (folder / "manifest.csv").write_text("path,transcript\nb.mp4,hello\n")
    report = import_folder(store, folder)
    assert list(clips(store)) == ["b"] and report.unlisted == ["a.mp4", "a_take2.mp4"]
    assert "not in the manifest: 2 media files (a.mp4, a_take2.mp4)" in report.summary()


def test_a_reimport_with_a_manifest_never_duplicates_a_curated_clip(store, folder, tmp_path,
                                                                    capsys):
    """Imported without a manifest, curated; then a manifest re-points `a` at its second take
    (and splits), then lists `a` only: the curated clips stay the same rows, with their work."""
    (folder / "a_take2.mp4").unlink()
    import_folder(store, folder)
    before = clips(store)
    task_id = task_by_name(store, "MELD")[0]
    set_transcript(store, before["a"]["id"], "Curated words.", "alice")
    set_label(store, before["a"]["id"], task_id, "joy", "alice")
    set_label(store, before["b"]["id"], task_id, "anger", "alice")
    tiny_clip(folder / "a_take2.mp4")
    (folder / "manifest.csv").write_text(
        "external_id,path,split,transcript\na,a_take2.mp4,train,source words\nb,b.mp4,dev,\n")
    report = import_folder(store, folder)
    after = clips(store)
    assert sorted(after) == ["a", "b"] and report.moved == 2 and report.added == 0
    assert after["a"]["id"] == before["a"]["id"] and after["a"]["media_path"] == "a_take2.mp4"
    assert (after["a"]["split"], after["b"]["split"]) == ("train", "dev")
    assert after["a"]["transcript"] == "Curated words." and report.curated_kept == 1
    assert gold_label(store, after["a"]["id"], task_id) == "joy"
    assert report.unlisted == ["a.mp4"] and report.unlisted_kept == 0

    (folder / "manifest.csv").write_text("external_id,path,split\na,a_take2.mp4,train\n")
    db = str(tmp_path / "project.sqlite")
    capsys.readouterr()
    assert cli(["--db", db, "import", str(folder), "--no-probe"]) == 0  # not an issue: exit 0
    out = capsys.readouterr().out
    assert ("not in the manifest: 2 media files (a.mp4, b.mp4), not imported: manifest.csv "
            "names the clips (add a row to import one); 1 of them is a clip already, left as it "
            "is") in out
    again = clips(store)
    assert sorted(again) == ["a", "b"] and again["b"] == after["b"]   # b untouched
    assert gold_label(store, again["b"]["id"], task_id) == "anger"


def test_without_the_manifest_a_repointed_clip_keeps_its_file(store, folder):
    """The manifest that pointed `a` at a_take2.mp4 is gone: a re-import (every file a clip
    again) leaves clip `a` on a_take2.mp4 (no second clip 'a_take2' of that file), and a.mp4,
    whose id is taken, comes in under its path, reported."""
    (folder / "manifest.csv").write_text("external_id,path\na,a_take2.mp4\nb,b.mp4\n")
    import_folder(store, folder)
    curated = clips(store)["a"]
    set_transcript(store, curated["id"], "Curated words.", "alice")
    (folder / "manifest.csv").unlink()
    report = import_folder(store, folder)
    after = clips(store)
    assert {k: c["media_path"] for k, c in after.items()} == {
        "a": "a_take2.mp4", "b": "b.mp4", "a.mp4": "a.mp4"}
    assert after["a"]["id"] == curated["id"] and after["a"]["transcript"] == "Curated words."
    [issue] = report.issues
    assert issue.location.endswith("a.mp4") and "imported with id 'a.mp4'" in issue.message
    again = import_folder(store, folder)
    assert clips(store) == after and again.issues == [] and again.added == 0
