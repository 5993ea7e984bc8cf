"""One bad entry never stops (or hangs) an import, a variants run or an export (issue 15,
items 6, 7 and 15a-b).

Each odd entry (a FIFO named like a manifest or a clip, a symlink loop, a file name that is not
UTF-8, a CSV field over the csv module's 128 KiB limit, a JSON line nested 100,000 deep, a lone
surrogate) becomes one issue naming its file (and line); the rest imports; exit 3. Commands that
could block on a FIFO run in a child process with a timeout, so a regression fails, not hangs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from mmla_core.cli import main as cli
from mmla_core.store.db import open_store
from tests.support.paths import repo_env

CHILD_TIMEOUT_S = 60


def good_folder(tmp_path, clip, name="clips"):
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(clip, folder / "a.mp4")
    return folder


def run_mmla(*args, timeout=CHILD_TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mmla_core", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env=repo_env())


def test_fifos_are_never_read(tmp_path, speaker_clip):
    folder = good_folder(tmp_path, speaker_clip)
    os.mkfifo(folder / "notes.jsonl")  # would be taken as the manifest, and block
    os.mkfifo(folder / "b.mp4")        # a "clip" whose probe / first frame would block
    db = tmp_path / "p.sqlite"
    done = run_mmla("--db", db, "import", folder)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "notes.jsonl: is not a regular file (a FIFO" in done.stdout, done.stdout
    with open_store(db) as store:
        health = dict(store.conn.execute("SELECT media_path, health FROM clips"))
        detail = store.scalar("SELECT health_detail FROM clips WHERE media_path = 'b.mp4'")
    assert health == {"a.mp4": "ok", "b.mp4": "not_a_file"}
    assert "is not a regular file (a FIFO" in detail and "empty" not in detail
    first_frame = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom mmla_core.media.decode import MediaError, "
         "decode_first_frame\ntry:\n    decode_first_frame(sys.argv[1])\nexcept MediaError as e:"
         "\n    print(e)", str(folder / "b.mp4")],
        capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=True)
    assert "b.mp4: is not a regular file" in first_frame.stdout


def _symlink_loop(folder):
    (folder / "sub").mkdir()
    os.symlink("loop.mp4", folder / "sub" / "loop.mp4")
    return "sub/loop.mp4", "symbolic link loop"


def _bad_name(folder):
    shutil.copy(folder / "a.mp4", os.path.join(os.fsencode(folder), b"caf\xe9.mp4"))
    return "caf\\xe9.mp4", "not valid UTF-8"


def _huge_csv_field(folder):
    (folder / "manifest.csv").write_text(
        "path,transcript\na.mp4,fine\nb.mp4," + "x" * 200_000 + "\n")
    shutil.copy(folder / "a.mp4", folder / "b.mp4")
    return "manifest.csv:3", "field larger than field limit"


def _deep_json(folder):
    (folder / "manifest.jsonl").write_text(
        '{"path": "a.mp4", "transcript": "fine"}\n' + '{"x":' * 100_000 + "1" + "}" * 100_000)
    return "manifest.jsonl:2", "nested too deeply"


def _lone_surrogate(folder):
    (folder / "manifest.jsonl").write_text(
        '{"path": "a.mp4", "transcript": "fine"}\n{"external_id": "t", "transcript": "x\\ud800"}\n'
        '{"path": "b\\ud800.mp4", "split": "s\\udce9"}\n')  # no file can have that name
    return "manifest.jsonl:2", "lone surrogate"


@pytest.mark.parametrize("make_bad", [_symlink_loop, _bad_name, _huge_csv_field, _deep_json,
                                      _lone_surrogate], ids=lambda f: f.__name__.strip("_"))
def test_one_bad_entry_is_one_issue_and_the_rest_imports(tmp_path, speaker_clip, capsys,
                                                         make_bad):
    folder = good_folder(tmp_path, speaker_clip)
    where, what = make_bad(folder)
    db = tmp_path / "p.sqlite"
    assert cli(["--db", str(db), "import", str(folder), "--no-probe"]) == 3
    out = capsys.readouterr().out
    issue = next((line for line in out.splitlines() if "! " in line and what in line), "")
    assert f"{folder}/{where}" in issue, out
    with open_store(db) as store:
        assert store.scalar("SELECT count(*) FROM clips WHERE media_path = 'a.mp4'") == 1


def test_a_symlink_loop_or_missing_file_later_is_reported_by_variants_and_export(
        tmp_path, speaker_clip, capsys):
    folder = good_folder(tmp_path, speaker_clip)
    for name in ("b.mp4", "c.mp4"):
        shutil.copy(speaker_clip, folder / name)
    (folder / "manifest.csv").write_text("path,split,transcript,MELD\na.mp4,train,hi,joy\n"
                                         "b.mp4,train,yo,anger\nc.mp4,train,so,fear\n")
    db = tmp_path / "p.sqlite"
    assert cli(["--db", str(db), "import", str(folder)]) == 0
    (folder / "b.mp4").unlink()
    os.symlink("b.mp4", folder / "b.mp4")  # a loop where a probed clip was
    (folder / "c.mp4").unlink()
    assert cli(["--db", str(db), "variants", "make", "--dataset", "clips", "--recipes",
                "frames_black", "--workers", "1"]) == 3
    assert "symbolic link loop" in capsys.readouterr().out
    out_dir = tmp_path / "lf"
    assert cli(["--db", str(db), "export", "llamafactory", str(out_dir), "--dataset", "clips",
                "--task", "MELD", "--splits", "train"]) == 3
    out = capsys.readouterr().out
    assert "(b, train, b.mp4): unsafe_path: path 'b.mp4' is a symbolic link loop" in out, out
    assert "(c, train, c.mp4): missing_file" in out


def test_an_mmla_video_folder_linked_out_of_the_root_is_refused_at_import(tmp_path,
                                                                          speaker_clip):
    from mmla_core.datasets.auto import import_path

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(speaker_clip, outside / "dia0_utt0.mp4")
    meld = tmp_path / "mmla" / "MELD"
    meld.mkdir(parents=True)
    (meld / "test.tsv").write_text("index\tid\tutterance\temotion\n0\tdia0_utt0\thi\tjoy\n")
    os.symlink(outside, meld / "video")
    with open_store(tmp_path / "p.sqlite") as store:
        (report,) = import_path(store, meld.parent)
        rows = store.query("SELECT media_path, health FROM clips")
    assert rows == [{"media_path": None, "health": "text_only"}]
    (issue,) = [i for i in report.issues if i.location == str(meld / "video")]
    assert "escapes the dataset root through a symlink" in issue.message
