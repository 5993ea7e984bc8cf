"""probe_pending: the right health per broken file, confined paths, resumable batches."""

from __future__ import annotations

import os
import shutil

import pytest

from mmla_core.datasets import import_folder, probe_pending
from mmla_core.media.synth import make_clip, make_truncated, make_zero_byte
from mmla_core.store import open_store
from mmla_core.store.catalog import clips_to_probe, list_clips
from tests.support.mmla_tree import tiny_clip


@pytest.fixture()
def store(tmp_path):
    with open_store(tmp_path / "project.sqlite") as s:
        yield s


class Interrupt(Exception):
    pass


def health_by_id(store, dataset_id: int) -> dict[str, str]:
    return {c["external_id"]: c["health"] for c in list_clips(store, dataset_id=dataset_id)}


def test_each_kind_of_damage_gets_its_health(store, tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    tiny_clip(folder / "good.mp4")
    make_clip(folder / "long.mp4", text="a longer clip", duration_s=2.0, width=64, height=48)
    make_truncated(folder / "long.mp4", folder / "truncated.mp4")
    make_zero_byte(folder / "zero.mp4")
    make_clip(folder / "audio_only.mp4", text="hi", duration_s=0.5, with_video=False)
    make_clip(folder / "video_only.mp4", text="hi", duration_s=0.5, width=64, height=48,
              with_audio=False)
    make_clip(folder / "vfr.mp4", text="hi", duration_s=1.0, width=64, height=48, vfr=True)
    tiny_clip(folder / "deleted.mp4")
    tiny_clip(tmp_path / "outside.mp4")
    tiny_clip(folder / "link.mp4")
    report = import_folder(store, folder)
    (folder / "deleted.mp4").unlink()
    (folder / "link.mp4").unlink()
    os.symlink(tmp_path / "outside.mp4", folder / "link.mp4")  # planted after the import
    counts = probe_pending(store, report.dataset_id, workers=1)
    health = health_by_id(store, report.dataset_id)
    assert health == {
        "good": "ok", "long": "ok", "truncated": "unreadable", "zero": "empty_file",
        "audio_only": "no_video", "video_only": "no_audio", "vfr": "vfr",
        "deleted": "missing_file", "link": "unsafe_path",
    }
    assert sum(counts.values()) == 9 and counts["ok"] == 2
    good = next(c for c in list_clips(store) if c["external_id"] == "good")
    assert (good["width"], good["height"], good["has_audio"]) == (64, 48, 1)
    assert good["probed_at"] and good["duration_s"] == pytest.approx(0.5, abs=0.1)
    assert probe_pending(store, report.dataset_id) == {}


def test_interrupted_probe_resumes_without_probing_twice(store, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    tiny_clip(folder / "c00.mp4")
    for i in range(1, 10):
        shutil.copyfile(folder / "c00.mp4", folder / f"c{i:02d}.mp4")
    dataset_id = import_folder(store, folder).dataset_id
    seen = []

    def stop_after_first_batch(done: int, total: int) -> None:
        seen.append((done, total))
        raise Interrupt

    with pytest.raises(Interrupt):
        probe_pending(store, dataset_id, workers=2, batch=3, progress=stop_after_first_batch)
    assert seen == [(3, 10)]
    first = {c["id"]: c["probed_at"] for c in list_clips(store) if c["probed_at"]}
    assert len(first) == 3 and len(clips_to_probe(store, dataset_id)) == 7
    progress = []
    counts = probe_pending(store, dataset_id, workers=2, batch=3,
                           progress=lambda d, t: progress.append((d, t)))
    assert counts == {"ok": 7} and progress == [(3, 7), (6, 7), (7, 7)]
    after = {c["id"]: c["probed_at"] for c in list_clips(store)}
    assert all(after[i] == stamp for i, stamp in first.items())  # the first batch kept its probe
    assert all(after.values()) and clips_to_probe(store, dataset_id) == []


def test_text_only_clips_are_not_probed(store, tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "manifest.csv").write_text("external_id,transcript\nx,just text\n")
    dataset_id = import_folder(store, folder).dataset_id
    assert probe_pending(store, dataset_id) == {}
    assert health_by_id(store, dataset_id) == {"x": "text_only"}
