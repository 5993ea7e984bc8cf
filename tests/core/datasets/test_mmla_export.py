"""`mmla export mmla`: MMLA's benchmark layout with the curated labels and transcripts, which
`mmla import` (mmla_layout) reads back clip for clip."""

from __future__ import annotations

import os

import pytest

from mmla_core.cli import main
from mmla_core.datasets.export import ExportError
from mmla_core.datasets.mmla_export import export_mmla_layout
from mmla_core.store import open_store
from mmla_core.store.catalog import ensure_task, task_by_name
from mmla_core.store.labels import set_label, set_transcript
from mmla_core.tasks import make_custom_task
from mmla_core.variants.store_ops import create_variant


def test_the_layout_holds_the_curated_values_and_imports_back(demo_store, tmp_path):
    meld = task_by_name(demo_store, "MELD")[0]
    set_label(demo_store, 1, meld, "surprise", "alice")  # the demo's own label: joy
    set_transcript(demo_store, 1, 'Thank you SO much,\tthis is "wonderful"!', "alice")
    create_variant(demo_store, 1, [("caption_misleading", {"caption": "fear"})])  # left out
    files = export_mmla_layout(demo_store, tmp_path / "out", dataset="demo", task="MELD")
    folder = tmp_path / "out" / "MELD"
    assert [p.name for p in files] == ["train.tsv", "dev.tsv", "test.tsv"]
    assert files.written == {"train.tsv": 3, "dev.tsv": 2, "test.tsv": 3}
    head = (folder / "train.tsv").read_text().splitlines()[:2]
    assert head == ["id\tutterance\temotion",
                    'demo_01\t"Thank you SO much,\tthis is ""wonderful""!"\tsurprise']
    video = folder / "video" / "MELD_demo_01.mp4"
    assert video.is_file() and video.stat().st_size == os.stat(
        demo_store.scalar("SELECT d.root FROM datasets d WHERE d.name = 'demo'")
        + "/demo_01.mp4").st_size
    assert files.labels["counts"]["person"] == 1

    with open_store(tmp_path / "back.sqlite") as back:
        assert main(["--db", str(tmp_path / "back.sqlite"), "import", str(tmp_path / "out"),
                     "--no-probe"]) == 0
        rows = back.query("SELECT c.split, c.external_id, c.transcript, c.media_path, a.label "
                          "FROM clips c JOIN annotations a ON a.clip_id = c.id ORDER BY c.id")
    assert len(rows) == 8
    assert rows[0] == {"split": "train", "external_id": "demo_01",
                       "transcript": 'Thank you SO much,\tthis is "wonderful"!',
                       "media_path": "video/MELD_demo_01.mp4", "label": "surprise"}


def test_only_mmlas_tasks_and_a_clear_cli(demo_store, tmp_path, capsys):
    ensure_task(demo_store, make_custom_task("mine", ["a", "b"]))
    with pytest.raises(ExportError, match="not one of MMLA's 12 tasks"):
        export_mmla_layout(demo_store, tmp_path, dataset="demo", task="mine")
    db = str(demo_store.path)
    assert main(["--db", db, "export", "mmla", str(tmp_path / "o"), "--dataset", "demo"]) == 2
    assert main(["--db", db, "export", "mmla", str(tmp_path / "o"), "--dataset", "demo",
                 "--task", "MELD", "--splits", "test", "--mode", "text"]) == 2
    assert "--mode does not apply to a mmla export" in capsys.readouterr().err
    assert main(["--db", db, "export", "mmla", str(tmp_path / "o"), "--dataset", "demo",
                 "--task", "MELD", "--splits", "test"]) == 0
    assert "wrote test.tsv (3); skipped: none; labels: curated" in capsys.readouterr().out


def test_a_video_that_cannot_be_written_leaves_its_row_text_only(demo_store, tmp_path):
    """An id too long for `MELD_<id>.mp4`, and a folder where a video should go: those clips
    are listed and written text-only, the rest of the export goes on."""
    long_id = "x" * 250
    demo_store.conn.execute("UPDATE clips SET external_id = ? WHERE id = 2", (long_id,))
    (tmp_path / "MELD" / "video" / "MELD_demo_03.mp4").mkdir(parents=True)
    files = export_mmla_layout(demo_store, tmp_path, dataset="demo", task="MELD",
                               splits=["train"])
    assert files.written == {"train.tsv": 3}
    assert [line.split(":")[0] for line in files.media_problems] == [
        f"clip 2 ({long_id}, train)", "clip 3 (demo_03, train)"]
    assert "over a file name's 255; written text-only" in files.media_problems[0]
    assert (tmp_path / "MELD" / "video" / "MELD_demo_01.mp4").is_file()


def test_videos_are_copies_unless_linked_and_a_copy_never_writes_through_a_link(demo_store,
                                                                               tmp_path):
    import shutil

    root = demo_store.scalar("SELECT root FROM datasets WHERE name = 'demo'")
    shutil.copytree(root, tmp_path / "media")  # the clips on the export's own file system
    demo_store.conn.execute("UPDATE datasets SET root = ? WHERE name = 'demo'",
                            (str(tmp_path / "media"),))
    source = tmp_path / "media" / "demo_01.mp4"
    video = tmp_path / "out" / "MELD" / "video" / "MELD_demo_01.mp4"
    export_mmla_layout(demo_store, tmp_path / "out", dataset="demo", task="MELD")
    assert not os.path.samefile(source, video) and video.read_bytes() == source.read_bytes()
    export_mmla_layout(demo_store, tmp_path / "out", dataset="demo", task="MELD", link=True)
    assert os.path.samefile(source, video)
    before = source.read_bytes()
    export_mmla_layout(demo_store, tmp_path / "out", dataset="demo", task="MELD")
    assert not os.path.samefile(source, video) and source.read_bytes() == before
