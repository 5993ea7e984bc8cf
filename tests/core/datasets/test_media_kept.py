"""A re-import where a clip's media file has gone missing keeps the clip's media reference and
reports the file; an evaluation then records an error for that clip instead of scoring it as
text (and keeps every other row).

Before: the re-import set the clip's media path to NULL (health text_only) with one "imported
text-only" line, and `mmla eval` scored the clip on its transcript, its summary counting no
error.
"""

from __future__ import annotations

import shutil

import pytest

from mmla_core.cli import main
from mmla_core.datasets import check_media, import_folder, import_mmla
from mmla_core.store import open_store
from mmla_core.store.catalog import list_clips
from mmla_core.store.results import run_predictions
from tests.support import fake_engine
from tests.support.mmla_tree import make_mmla_tree, tiny_clip

MANIFEST = "path,split,transcript,MELD\n{rows}"


def _clips(store) -> dict[str, dict]:
    return {c["external_id"]: c for c in list_clips(store)}


def _folder(tmp_path, names=("a.mp4", "b.mp4")):
    folder = tmp_path / "clips"
    folder.mkdir()
    for seed, name in enumerate(names):
        tiny_clip(folder / name, seed=seed)
    rows = "".join(f"{name},test,line {name},joy\n" for name in names)
    (folder / "manifest.csv").write_text(MANIFEST.format(rows=rows))
    return folder


def test_reimport_keeps_the_media_of_a_clip_whose_file_is_missing(tmp_path):
    folder = _folder(tmp_path)
    with open_store(tmp_path / "p.sqlite") as store:
        first = import_folder(store, folder)
        check_media(store, first.dataset_id)
        (folder / "b.mp4").unlink()
        (folder / "manifest.csv").write_text(
            (folder / "manifest.csv").read_text() + "c.mp4,test,never there,joy\n")
        again = import_folder(store, folder)
        clips = _clips(store)
    assert clips["b"]["media_path"] == "b.mp4" and clips["b"]["health"] == "missing_file"
    assert "b.mp4: file not found" in clips["b"]["health_detail"]
    assert clips["a"]["health"] == "ok"
    assert again.media_missing == 1 and again.text_only == 1  # c: a new row, text-only as ever
    assert clips["c"]["media_path"] is None and clips["c"]["health"] == "text_only"
    by_row = {i.location.rsplit(":", 1)[-1]: i.message for i in again.issues}
    assert set(by_row) == {"3", "4"}, again.issues  # manifest lines of b and c
    assert "'b.mp4' is missing" in by_row["3"] and str(folder / "b.mp4") in by_row["3"]
    assert "keeps it, marked missing_file, not text-only" in by_row["3"]
    assert by_row["4"].endswith("imported text-only")
    assert "1 media file missing" in again.summary()


def test_reimport_of_an_mmla_tree_without_its_video_folder_keeps_every_video(tmp_path):
    tree = make_mmla_tree(tmp_path, {"MELD": {"train": 3}})
    with open_store(tmp_path / "p.sqlite") as store:
        first = import_mmla(store, tree.root)[0]
        shutil.rmtree(tree.folder("MELD") / "video")
        again = import_mmla(store, tree.root)[0]
        clips = list_clips(store, dataset_id=first.dataset_id)
    assert all(c["media_path"] and c["health"] == "missing_file" for c in clips)
    assert again.media_missing == 3 and again.text_only == 0
    missing = [i for i in again.issues if "is missing" in i.message]
    assert len(missing) == 3 and all("train.tsv:" in i.location for i in missing)


def test_a_text_only_dataset_stays_text_only(tmp_path):
    folder = tmp_path / "text"
    folder.mkdir()
    (folder / "manifest.csv").write_text("external_id,split,transcript\nx,test,just words\n")
    with open_store(tmp_path / "p.sqlite") as store:
        import_folder(store, folder)
        again = import_folder(store, folder)
        clip = _clips(store)["x"]
    assert clip["media_path"] is None and clip["health"] == "text_only"
    assert again.media_missing == 0 and again.issues == []


@pytest.fixture()
def real_inputs(monkeypatch):
    """The fake model, fed by the real input builder (it opens the clip's media)."""
    for name in ("FAKE_ENGINE_FAIL_CLIPS", "FAKE_INPUT_FAIL_CLIPS", "FAKE_ENGINE_EXIT_AFTER"):
        monkeypatch.delenv(name, raising=False)
    fake_engine.install(monkeypatch, inputs="mmla_core.models.inputs:clip_input_from_store")


def test_evaluation_records_an_error_for_the_missing_file_and_keeps_the_other_rows(
        tmp_path, real_inputs, capsys):
    folder = _folder(tmp_path)
    db = tmp_path / "p.sqlite"
    with open_store(db) as store:
        check_media(store, import_folder(store, folder).dataset_id)
        (folder / "b.mp4").unlink()
        import_folder(store, folder)  # the re-import that used to make b text-only
        ids = {k: c["id"] for k, c in _clips(store).items()}
    capsys.readouterr()
    code = main(["--db", str(db), "eval", "--in-process", "--model", "m", "--task", "MELD",
                 "--dataset", "clips", "--frames", "2"])
    captured = capsys.readouterr()
    assert code == 3, captured
    assert "2 of 2 samples written, 1 error" in captured.out, captured.out
    with open_store(db) as store:
        rows = {r["clip_id"]: r for r in run_predictions(store, 1)}
    assert set(rows) == {ids["a"], ids["b"]}
    assert rows[ids["a"]]["error"] is None and rows[ids["a"]]["parsed_label"]
    error = rows[ids["b"]]["error"]
    assert rows[ids["b"]]["parsed_label"] is None
    assert "clip 'b'" in error and str(folder / "b.mp4") in error and "missing" in error
    assert f"clip {ids['b']} (b)" in captured.err
