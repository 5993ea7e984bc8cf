"""Re-checking probed media: a file deleted, truncated, replaced or touched since its probe is
noticed on the next run (a stat per file), the others are not opened again.

Before: `mmla media probe` only probed clips still 'unprobed'; a deleted clip stayed 'ok' with
its duration and streams, and so did a truncated or replaced one.
"""

from __future__ import annotations

import os
import shutil

import pytest

import mmla_core.datasets.probing as probing
from mmla_core.cli import main
from mmla_core.datasets import check_media, import_folder
from mmla_core.media.synth import make_clip, make_truncated
from mmla_core.store import open_store
from mmla_core.store.catalog import list_clips
from tests.support.mmla_tree import tiny_clip


@pytest.fixture()
def store(tmp_path):
    with open_store(tmp_path / "project.sqlite") as s:
        yield s


@pytest.fixture()
def opened(monkeypatch):
    """The files the probe opens (it runs in this process below POOL_MIN_FILES files)."""
    paths: list[str] = []
    real = probing.probe_columns

    def spy(path: str) -> dict:
        paths.append(os.path.basename(path))
        return real(path)

    monkeypatch.setattr(probing, "probe_columns", spy)
    return paths


def _clips(store) -> dict[str, dict]:
    return {c["external_id"]: c for c in list_clips(store)}


def _probed_folder(store, folder, names) -> int:
    folder.mkdir()
    tiny_clip(folder / "source.mp4")
    for name in names:
        shutil.copyfile(folder / "source.mp4", folder / name)
    (folder / "source.mp4").unlink()
    dataset_id = import_folder(store, folder).dataset_id
    assert check_media(store, dataset_id).counts == {"ok": len(names)}
    return dataset_id


def test_rerun_notices_changed_files_and_opens_only_those(store, tmp_path, opened):
    folder = tmp_path / "clips"
    names = ["gone.mp4", "cut.mp4", "swapped.mp4", "touched.mp4", "same.mp4"]
    dataset_id = _probed_folder(store, folder, names)
    opened.clear()
    (folder / "gone.mp4").unlink()
    make_truncated(folder / "same.mp4", folder / "cut.mp4", keep_fraction=0.5)
    make_clip(folder / "swapped.mp4", text="another", duration_s=1.5, width=64, height=48)
    stamp = os.stat(folder / "touched.mp4").st_mtime + 60
    os.utime(folder / "touched.mp4", (stamp, stamp))

    result = check_media(store, dataset_id)

    assert sorted(opened) == ["cut.mp4", "swapped.mp4", "touched.mp4"]  # not same.mp4, nor gone
    changes = {c.external_id: c for c in result.changes}
    assert {k: c.kind for k, c in changes.items()} == {
        "gone": "missing", "cut": "resized", "swapped": "resized", "touched": "modified"}
    assert all(c.path == str(folder / f"{k}.mp4") and c.dataset == "clips"
               for k, c in changes.items())
    assert "gone" in str(changes["gone"]) and str(folder / "gone.mp4") in str(changes["gone"])
    clips = _clips(store)
    assert clips["gone"]["health"] == "missing_file" == changes["gone"].health
    assert clips["gone"]["duration_s"] is None and clips["gone"]["has_video"] is None
    assert clips["gone"]["media_size"] > 0  # the file it was, for `mmla datasets move`
    assert "gone.mp4: file not found" in clips["gone"]["health_detail"]
    assert clips["cut"]["health"] != "ok" and changes["cut"].health == clips["cut"]["health"]
    assert clips["swapped"]["health"] == "ok"
    assert clips["swapped"]["duration_s"] == pytest.approx(1.5, abs=0.1)
    assert clips["touched"]["health"] == "ok" and clips["same"]["health"] == "ok"
    assert result.checked == 5 and "4 changed since their probe" in result.summary()

    opened.clear()
    again = check_media(store, dataset_id)
    assert again.changes == [] and opened == [] and again.counts == {}


def test_a_missing_file_that_comes_back_is_probed_again(store, tmp_path, opened):
    folder = tmp_path / "clips"
    dataset_id = _probed_folder(store, folder, ["a.mp4", "b.mp4"])
    shutil.move(folder / "a.mp4", tmp_path / "a.mp4")
    assert [c.kind for c in check_media(store, dataset_id).changes] == ["missing"]
    assert [c.kind for c in check_media(store, dataset_id).changes] == []  # still missing
    shutil.move(tmp_path / "a.mp4", folder / "a.mp4")
    opened.clear()
    back = check_media(store, dataset_id)
    assert [(c.external_id, c.kind, c.health) for c in back.changes] == [("a", "back", "ok")]
    assert opened == ["a.mp4"] and _clips(store)["a"]["duration_s"] is not None


def test_only_the_named_dataset_is_rechecked(store, tmp_path):
    one = _probed_folder(store, tmp_path / "one", ["x.mp4"])
    _probed_folder(store, tmp_path / "two", ["y.mp4"])
    (tmp_path / "one" / "x.mp4").unlink()
    (tmp_path / "two" / "y.mp4").unlink()
    assert [c.external_id for c in check_media(store, one).changes] == ["x"]
    assert _clips(store)["y"]["health"] == "ok"


def test_cli_media_probe_lists_each_changed_file(tmp_path, capsys):
    db, folder = tmp_path / "p.sqlite", tmp_path / "clips"
    with open_store(db) as store:
        _probed_folder(store, folder, ["kept.mp4", "lost.mp4"])
    (folder / "lost.mp4").unlink()
    capsys.readouterr()
    assert main(["--db", str(db), "media", "probe", "clips"]) == 0
    out = capsys.readouterr().out
    assert "1 changed since their probe (1 missing)" in out
    assert f"clips/lost ({folder / 'lost.mp4'}): missing (file not found); now missing_file" in out
    assert "kept" not in out
    with open_store(db) as store:
        assert _clips(store)["lost"]["health"] == "missing_file"


def test_a_reimport_that_changes_only_the_transcript_keeps_the_probe(store, tmp_path, opened):
    """Before: any changed field of a re-imported clip reset its health to 'unprobed', so the
    next probe decoded a file that had not changed; only a new media path is a new file."""
    folder = tmp_path / "clips"
    _probed_folder(store, folder, ["a.mp4", "b.mp4"])
    probed = _clips(store)["a"]
    manifest = folder / "manifest.csv"
    manifest.write_text("path,external_id,transcript\na.mp4,a,a new transcript\n"
                        "b.mp4,b,\n")
    report = import_folder(store, folder)
    assert report.updated >= 1
    kept = _clips(store)["a"]
    assert kept["transcript"] == "a new transcript"
    probe_facts = ("health", "duration_s", "has_video", "media_size", "media_mtime", "media_hash",
                   "probed_at")
    assert {k: kept[k] for k in probe_facts} == {k: probed[k] for k in probe_facts}
    opened.clear()
    assert check_media(store, report.dataset_id).counts == {} and opened == []

    (folder / "a.mp4").unlink()  # else the folder import makes it a clip of its own
    make_clip(folder / "c.mp4", text="other", duration_s=1.5, width=64, height=48)
    manifest.write_text("path,external_id,transcript\nc.mp4,a,a new transcript\nb.mp4,b,\n")
    import_folder(store, folder)
    moved = _clips(store)["a"]
    assert moved["health"] == "unprobed" and moved["duration_s"] is None
    assert moved["media_size"] is None and moved["media_hash"] is None  # the old file's identity
    assert check_media(store, report.dataset_id).counts == {"ok": 1} and opened == ["c.mp4"]
    assert _clips(store)["a"]["duration_s"] == pytest.approx(1.5, abs=0.1)
