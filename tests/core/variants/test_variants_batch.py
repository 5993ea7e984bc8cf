"""Dataset batches (resumable, parallel, per-clip errors) and the `mmla variants` commands."""

from __future__ import annotations

import itertools
import json
import threading

import pytest

from mmla_core.cli import main
from mmla_core.variants.batch import make_variants
from mmla_core.variants.presets import preset_specs
from mmla_core.variants.recipes import parse_spec
from tests.support.variant_media import build_project, make_media

THREE = "audio_swap,frames_black,audio_silent"
SOURCES = 8  # clips in the test dataset (one text-only, one audio-only, one video-only)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return make_media(tmp_path_factory.mktemp("variant_media"))


@pytest.fixture()
def project(tmp_path, media):
    return build_project(tmp_path / "p", media)


def variant_rows(project) -> list[dict]:
    with project.store() as store:
        return store.query("SELECT * FROM clips WHERE parent_clip_id IS NOT NULL ORDER BY id")


def expected_failures() -> set[tuple[str, str]]:
    """text has no media; radio has no frames to black out."""
    return {("text", "audio_swap"), ("text", "frames_black"), ("text", "audio_silent"),
            ("radio", "frames_black")}


def test_batch_builds_reports_failures_and_a_rerun_adds_nothing(project):
    ticks = []
    with project.store() as store:
        report = make_variants(store, "tiny", parse_spec(THREE), seed=0,
                               progress=lambda d, t: ticks.append((d, t)))
    assert report.total == SOURCES * 3
    assert {(f.external_id, f.recipe) for f in report.failed} == expected_failures()
    assert report.created == SOURCES * 3 - 4 and report.skipped == 0
    assert ticks[-1] == (report.total, report.total)
    assert all(b[0] >= a[0] for a, b in itertools.pairwise(ticks))
    rows = variant_rows(project)
    assert len(rows) == report.created
    files = sorted(p.name for p in project.variants_dir.iterdir())
    assert files == sorted(r["media_path"] for r in rows)
    with project.store() as store:
        again = make_variants(store, "tiny", parse_spec(THREE), seed=0)
    assert (again.created, again.skipped, len(again.failed)) == (0, report.created, 4)
    assert len(variant_rows(project)) == report.created


def test_cancelled_batch_resumes_without_duplicates(project):
    cancel = threading.Event()

    def stop_early(done: int, total: int) -> None:
        if done >= 6:
            cancel.set()

    with project.store() as store:
        first = make_variants(store, "tiny", parse_spec(THREE), workers=1, cancel=cancel,
                              progress=stop_early)
        assert first.cancelled and 0 < first.created < SOURCES * 3 - 4
        rest = make_variants(store, "tiny", parse_spec(THREE))
    assert rest.skipped == first.created and not rest.cancelled
    assert first.created + rest.created == SOURCES * 3 - 4
    ids = [r["external_id"] for r in variant_rows(project)]
    assert len(ids) == len(set(ids)) == SOURCES * 3 - 4


def test_files_written_before_a_crash_are_recorded_on_resume(project):
    with project.store() as store:
        make_variants(store, "tiny", parse_spec("frames_black"))
        stamps = {p.name: p.stat().st_mtime_ns for p in project.variants_dir.iterdir()}
        store.conn.execute("DELETE FROM clips WHERE parent_clip_id IS NOT NULL")  # rows lost
        store.conn.commit()
        report = make_variants(store, "tiny", parse_spec("frames_black"))
    assert report.created == len(stamps) == SOURCES - 2
    assert {p.name: p.stat().st_mtime_ns for p in project.variants_dir.iterdir()} == stamps


def test_worker_processes_give_the_same_variants(tmp_path, media):
    inline, pooled = (build_project(tmp_path / name, media) for name in ("inline", "pool"))
    for project, workers in ((inline, 1), (pooled, 2)):
        with project.store() as store:
            report = make_variants(store, "tiny", parse_spec("audio_swap,audio_noise"), seed=9,
                                   workers=workers)
            assert len(report.failed) == 3  # text (both) and the silent-free mute clip
    rows = [sorted(variant_rows(p), key=lambda r: r["external_id"]) for p in (inline, pooled)]
    assert [r["external_id"] for r in rows[0]] == [r["external_id"] for r in rows[1]]
    for name in (r["media_path"] for r in rows[0]):
        assert (inline.variants_dir / name).read_bytes() == (pooled.variants_dir / name
                                                             ).read_bytes()


def test_split_clip_and_preset_selection(project):
    with project.store() as store:
        report = make_variants(store, "tiny", preset_specs("mmabench"),
                               clip_ids=[project.ids["a"]], copy_labels=True)
        assert report.created == 5 and not report.failed
        assert make_variants(store, "tiny", parse_spec("frames_black"), split="dev").total == 0
        labelled = store.scalar(
            "SELECT count(*) FROM annotations a JOIN clips c ON c.id = a.clip_id "
            "WHERE c.parent_clip_id = ?", (project.ids["a"],))
    assert labelled == 5
    types = sorted(json.loads(r["recipe_json"])["type"] for r in variant_rows(project))
    assert types == ["audio_removed", "audio_swap", "caption_misleading", "context_long",
                     "frames_black"]


def test_cli_make_ls_rm_recipes(project, capsys):
    db = ["--db", str(project.db_path)]
    assert main([*db, "variants", "make", "--dataset", "tiny", "--recipes", THREE,
                 "--seed", "0", "--workers", "1"]) == 3
    out = capsys.readouterr().out
    assert f"{SOURCES * 3 - 4} variants created" in out
    assert "  ! clip" in out and "radio), frames_black: the clip has no video stream" in out
    assert main([*db, "variants", "make", "--clip", "tiny/a", "--preset", "mmabench"]) == 0
    assert "3 variants created, 2 already present" in capsys.readouterr().out
    assert main([*db, "variants", "ls", "tiny/a", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(listed) == 6 and {"frames black", "audio removed"} <= {v["badge"] for v in listed}
    black = next(v for v in listed if v["badge"] == "frames black")
    assert main([*db, "variants", "rm", str(black["id"])]) == 0
    assert "deleted variant" in capsys.readouterr().out
    assert main([*db, "variants", "rm", str(project.ids["a"])]) == 1
    assert "not a variant" in capsys.readouterr().err
    assert main([*db, "variants", "recipes"]) == 0
    assert "snr_db=10.0" in capsys.readouterr().out
    assert main([*db, "variants", "make", "--dataset", "tiny", "--recipes", "nope"]) == 2
    assert "unknown recipe 'nope'" in capsys.readouterr().err
