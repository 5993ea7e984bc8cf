"""An EAF export goes on past a clip whose file cannot be written: that clip is skipped with a
line naming it, its path and why; every other clip is written; `mmla export-eaf` exits 3.

The failing clip is made with a folder squatting on its file name (permission bits do not stop
root, which CI runs as)."""

from __future__ import annotations

import json
import shutil

from mmla_core.cli import main
from mmla_core.cli.common import EXIT_PARTIAL
from mmla_core.datasets.eaf import UNWRITABLE, export_eaf
from mmla_core.store import open_store
from tests.support.eaf_schema import assert_valid_eaf

SQUATTED = "train_demo_02.eaf"  # a clip of the demo dataset (8 clips, each with media)


def test_a_clip_that_cannot_be_written_is_skipped_and_named(demo_store, tmp_path):
    out = tmp_path / "eaf"
    (out / SQUATTED).mkdir(parents=True)
    files = export_eaf(demo_store, out, dataset="demo")
    assert len(files) == 7 and dict(files.skipped) == {UNWRITABLE: 1}
    assert out / SQUATTED not in files and (out / SQUATTED).is_dir()
    for path in files:
        assert_valid_eaf(path)
    clip_id = demo_store.scalar("SELECT id FROM clips WHERE external_id = 'demo_02'")
    [problem] = files.write_problems
    assert problem.startswith(f"clip {clip_id} (demo_02, train): {out / SQUATTED}: ")
    assert "directory" in problem.lower()
    info = json.loads((out / "mmla_export.json").read_text())
    assert SQUATTED not in info and len(info) == 7  # the log names what was written
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp file left


def test_export_eaf_exits_3_with_each_clip_not_written(demo_db, tmp_path, capsys):
    db = shutil.copy(demo_db, tmp_path / "p.sqlite")
    out = tmp_path / "eaf"
    (out / SQUATTED).mkdir(parents=True)
    (out / "dev_demo_05.eaf").mkdir()
    for command in (["export-eaf", str(out), "--dataset", "demo"],
                    ["export", "eaf", str(out), "--dataset", "demo"]):
        assert main(["--db", str(db), *command]) == EXIT_PARTIAL
        printed = capsys.readouterr().out
        assert "wrote 6 .eaf files" in printed and "skipped: 2 unwritable" in printed
        lines = [line for line in printed.splitlines() if "not written" in line]
        assert [line.split(": ", 2)[1] for line in lines] == [
            "clip 2 (demo_02, train)", "clip 5 (demo_05, dev)"]
        assert str(out / SQUATTED) in lines[0]
    with open_store(db) as store:
        assert store.scalar("SELECT count(*) FROM exports WHERE format = 'eaf'") == 2
    assert len(list(out.glob("*.eaf"))) == 8  # 6 files + the 2 squatting folders
