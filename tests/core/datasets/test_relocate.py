"""`mmla datasets move` onto a folder holding a file for a clip whose file was never seen.

Before: a clip first probed as missing_file records 0 bytes, and the move called the file found
at the new root "N bytes, was 0: another file", so a dataset with one missing video could never
be re-rooted onto the folder where it was complete.
"""

from __future__ import annotations

import shutil

from mmla_core.cli import main
from mmla_core.datasets import check_media, import_folder
from mmla_core.datasets.relocate import check_move
from mmla_core.media.synth import make_clip
from mmla_core.store import open_store
from mmla_core.store.catalog import list_clips
from tests.support.mmla_tree import tiny_clip


def _imported_with_one_missing(db, folder) -> None:
    """clips/kept.mp4 probed present; clips/late.mp4 gone before its first probe."""
    folder.mkdir()
    tiny_clip(folder / "kept.mp4")
    shutil.copyfile(folder / "kept.mp4", folder / "late.mp4")
    with open_store(db) as store:
        dataset_id = import_folder(store, folder).dataset_id
        (folder / "late.mp4").rename(folder.parent / "late.mp4")
        assert check_media(store, dataset_id).counts == {"ok": 1, "missing_file": 1}
        late = {c["external_id"]: c for c in list_clips(store)}["late"]
        assert (late["media_size"], late["media_hash"]) == (0, None)


def test_a_file_never_seen_is_first_seen_at_the_new_root(tmp_path, capsys):
    db, folder = tmp_path / "p.sqlite", tmp_path / "old" / "clips"
    folder.parent.mkdir()
    _imported_with_one_missing(db, folder)
    new = tmp_path / "new" / "clips"
    shutil.copytree(folder, new)
    make_clip(new / "late.mp4", text="late", duration_s=0.5, width=64, height=48)

    capsys.readouterr()
    assert main(["--db", str(db), "datasets", "move", "clips", str(new)]) == 0
    out = capsys.readouterr().out
    assert "1 files checked (1 by size and fingerprint" in out
    assert "1 file first seen here" in out and "mmla media probe clips" in out
    assert out.rstrip().endswith("\n  late (late.mp4)")
    with open_store(db) as store:
        assert store.scalar("SELECT root FROM datasets WHERE name = 'clips'") == str(new)
        assert check_media(store).counts == {"ok": 1}  # the late file, probed at last
        assert {c["external_id"]: c["health"] for c in list_clips(store)} == {
            "kept": "ok", "late": "ok"}


def test_a_file_seen_before_is_still_compared(tmp_path):
    db, folder = tmp_path / "p.sqlite", tmp_path / "old" / "clips"
    folder.parent.mkdir()
    _imported_with_one_missing(db, folder)
    with open_store(db) as store:
        dataset_id = list_clips(store)[0]["dataset_id"]
        (folder / "kept.mp4").unlink()  # missing now, but its size and fingerprint are kept
        assert [c.kind for c in check_media(store, dataset_id).changes] == ["missing"]
    new = tmp_path / "new" / "clips"
    new.mkdir(parents=True)
    make_clip(new / "kept.mp4", text="other", duration_s=1.5, width=64, height=48)
    make_clip(new / "late.mp4", text="late", duration_s=0.5, width=64, height=48)
    with open_store(db) as store:
        check = check_move(store, "clips", new)
    assert check.first_seen == ["late (late.mp4)"] and check.checked == 0
    assert len(check.problems) == 1 and check.problems[0].startswith("kept (kept.mp4): ")
    assert "another file" in check.problems[0]


def test_a_file_never_seen_and_still_missing_blocks_the_move(tmp_path):
    db, folder = tmp_path / "p.sqlite", tmp_path / "old" / "clips"
    folder.parent.mkdir()
    _imported_with_one_missing(db, folder)
    new = tmp_path / "new" / "clips"
    shutil.copytree(folder, new)
    with open_store(db) as store:
        check = check_move(store, "clips", new)
    assert check.first_seen == [] and check.checked == 1
    assert [p.split(":")[0] for p in check.problems] == ["late (late.mp4)"]
