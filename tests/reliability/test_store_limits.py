"""The project file at its limits (issue 15, items 12, 14 and 15c).

A full disk and a read-only mount get a sentence naming the file and the problem, never a
`sqlite3.OperationalError` traceback, and lose nothing saved; a read-only project can still be
listed. A relative `--db` does not make variant paths relative to the shell's directory. A
fresh project knows MMLA's built-in tasks without `mmla tasks` having run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from mmla_core.cli import main as cli
from mmla_core.store import StoreError
from mmla_core.store.db import Store, open_store


@pytest.fixture
def project(tmp_path, speaker_clip):
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.copy(speaker_clip, folder / name)
    (folder / "manifest.csv").write_text("path,split,transcript,MELD\na.mp4,train,hi,joy\n"
                                         "b.mp4,train,yo,anger\n")
    db = tmp_path / "db" / "p.sqlite"
    db.parent.mkdir()
    assert cli(["--db", str(db), "import", str(folder)]) == 0
    return db, folder


def _full_disk(monkeypatch):
    """SQLite's own SQLITE_FULL: the file may not grow by one more page."""
    real_init = Store.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        pages = self.scalar("PRAGMA page_count")
        self.conn.execute(f"PRAGMA max_page_count = {pages}")

    monkeypatch.setattr(Store, "__init__", init)


def test_a_full_disk_is_named_and_loses_nothing(project, tmp_path, speaker_clip, monkeypatch,
                                                capsys):
    db, _ = project
    more = tmp_path / "more"
    more.mkdir()
    for i in range(40):
        shutil.copy(speaker_clip, more / f"m{i:02d}.mp4")
    (more / "manifest.csv").write_text("path,transcript\n" + "".join(
        f"m{i:02d}.mp4,{'long text ' * 300}\n" for i in range(40)))
    _full_disk(monkeypatch)
    capsys.readouterr()
    assert cli(["--db", str(db), "import", str(more), "--no-probe"]) == 1
    err = capsys.readouterr().err
    assert "the disk is full" in err and str(db) in err and "Traceback" not in err, err
    with pytest.raises(StoreError, match="the disk is full"), open_store(db) as store:
        store.conn.execute("PRAGMA max_page_count = 1")  # already over it: no growth
        from mmla_core.store.labels import set_note

        set_note(store, 1, "alice", "x" * 100_000)
    monkeypatch.undo()
    with open_store(db) as store:
        assert store.integrity_ok()
        assert store.scalar("SELECT count(*) FROM clips") == 2  # what was saved is there


def _make_read_only(folder):
    """A read-only mount where we may mount (root), else permissions (which root ignores)."""
    if os.geteuid() == 0:
        done = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(folder)],
                              capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot make a read-only mount here: {done.stderr.decode().strip()}")
        return lambda: subprocess.run(["umount", "-l", str(folder)], check=True)  # never left
    for path in folder.iterdir():
        path.chmod(0o444)
    folder.chmod(0o555)
    return lambda: folder.chmod(0o755)


def test_a_read_only_project_is_listed_and_refuses_writes_clearly(project, capsys):
    db, _ = project
    with open_store(db) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    restore = _make_read_only(db.parent)
    try:
        capsys.readouterr()
        assert cli(["--db", str(db), "ls", "--datasets"]) == 0
        captured = capsys.readouterr()
        assert "clips" in captured.out and "read-only" in captured.err
        assert cli(["--db", str(db), "label", "clips/a", "MELD", "fear",
                    "--annotator", "alice"]) == 1
        err = capsys.readouterr().err
        assert "read-only" in err and str(db) in err and "Traceback" not in err, err
    finally:
        restore()


def test_a_relative_db_keeps_variant_paths_working_from_anywhere(project, tmp_path,
                                                                 monkeypatch):
    db, _ = project
    monkeypatch.chdir(db.parent.parent)
    relative = os.path.join(db.parent.name, db.name)
    assert cli(["--db", relative, "variants", "make", "--clip", "clips/a",
                "--recipes", "frames_black", "--copy-labels", "--workers", "1"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = tmp_path / "lf"
    assert cli(["--db", str(db), "export", "llamafactory", str(out), "--dataset", "clips",
                "--task", "MELD", "--splits", "train"]) == 0
    (records,) = (json.loads(p.read_text()) for p in out.glob("*_llamafactory.json"))
    videos = [r["videos"][0] for r in records]
    assert len(videos) == 3 and all(os.path.isabs(v) and os.path.isfile(v) for v in videos)


def test_a_fresh_project_knows_the_builtin_tasks(tmp_path, capsys):
    db = tmp_path / "fresh.sqlite"
    code = cli(["--db", str(db), "eval", "--task", "MELD", "--dataset", "nothing",
                "--model", str(tmp_path / "no-model")])
    err = capsys.readouterr().err
    assert code == 1 and "no task" not in err and "nothing" in err, err
