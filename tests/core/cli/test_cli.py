"""The `mmla` command end to end, in a temp dir, as a script would use it."""

import json
import subprocess
import sys

import pytest

from mmla_core.cli import main
from mmla_core.tasks import builtin_task


@pytest.fixture
def db(tmp_path):
    return tmp_path / "project.sqlite"


def run(db, *args) -> int:
    return main(["--db", str(db), *args])


@pytest.fixture
def demo_db(db):
    assert run(db, "demo") == 0
    return db


def test_demo_then_ls_lists_the_demo_clips(demo_db, capsys):
    capsys.readouterr()
    assert run(demo_db, "ls") == 0
    out = capsys.readouterr().out
    assert "demo_01" in out and "demo_08" in out
    assert "Thank you so much" in out
    assert run(demo_db, "ls", "--datasets") == 0
    assert "demo" in capsys.readouterr().out


def test_demo_is_idempotent(demo_db, capsys):
    assert run(demo_db, "demo") == 0
    assert run(demo_db, "ls", "--json") == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert len(lines) == 8
    assert all(row["health"] == "ok" for row in lines)


def test_show_prints_media_facts_and_labels(demo_db, capsys):
    assert run(demo_db, "show", "demo/demo_01") == 0
    out = capsys.readouterr().out
    assert "label              MELD: joy" in out
    assert "label              MIntRec: thank" in out
    assert "fps" in out and "25" in out


def test_tasks_lists_mmla_and_adds_custom(db, capsys):
    assert run(db, "tasks") == 0
    assert "ask for help" in capsys.readouterr().out
    assert run(db, "tasks", "--add", "Politeness", "--labels", "polite,rude") == 0
    assert run(db, "tasks", "--add", "Bad", "--labels", "a,b", "--template", "{oops}") == 2
    assert "unknown fields" in capsys.readouterr().err


def test_ls_on_an_empty_project_or_with_no_match_says_so(db, capsys):
    """README / user guide: `mmla ls` on a new project (or the default one, made on first use)
    printed a bare header, which reads as a failure."""
    assert run(db, "ls") == 0
    assert "no clips in this project yet: mmla import FOLDER" in capsys.readouterr().out
    assert run(db, "demo") == 0
    assert run(db, "ls", "--grep", "zzz-nothing") == 0
    assert "no clip matches (the project has clips" in capsys.readouterr().out
    assert run(db, "ls", "--json", "--grep", "zzz-nothing") == 0
    assert capsys.readouterr().out == ""


def test_tasks_task_prints_every_label_the_list_cuts(db, capsys):
    """README / user guide 'Tasks and prompts': `mmla tasks` lists the exact labels, but it
    cut MIntRec's 20 (and MIntRec2.0's 30) with '…'; `mmla tasks TASK` prints them all."""
    assert run(db, "tasks") == 0
    listed = capsys.readouterr().out
    assert "greet, ask for help" not in listed and "`mmla tasks TASK` prints every" in listed
    assert run(db, "tasks", "mintrec") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "MIntRec (key intent, MMLA, 20 labels):"
    assert lines[1:] == [f"  {label}" for label in builtin_task("MIntRec").labels]
    assert run(db, "tasks", "Nope") == 1
    assert "no task named 'Nope'; the tasks: MIntRec," in capsys.readouterr().err
    assert run(db, "tasks", "MELD", "--labels", "a,b") == 2


def test_export_llamafactory_writes_mmla_prompts(demo_db, tmp_path, capsys):
    out = tmp_path / "lf"
    assert run(demo_db, "export", "llamafactory", str(out), "--dataset", "demo",
               "--task", "MIntRec", "--splits", "train") == 0
    files = sorted(p.name for p in out.iterdir())
    assert "dataset_info.json" in files
    data_file = next(p for p in out.iterdir() if p.name.endswith("_llamafactory.json"))
    assert json.loads((out / "mmla_export.json").read_text())[data_file.name]["labels"][
        "source"] == "curated"
    records = json.loads(data_file.read_text())
    assert len(records) == 3
    human, gpt = records[0]["conversations"]
    assert human["value"].startswith("<video>You are presented with a video in which")
    assert gpt["value"] in {"intent: thank", "intent: complain", "intent: apologise"}
    capsys.readouterr()
    assert run(demo_db, "export", "llamafactory", str(tmp_path / "none"), "--dataset", "demo",
               "--task", "MIntRec", "--splits", "Train") == 1   # nothing written is no success
    err = capsys.readouterr().err
    assert "nothing written" in err and "train 3, dev 2, test 3" in err


def test_export_jsonl_reimports_as_a_folder(demo_db, tmp_path):
    out = tmp_path / "clips.jsonl"
    assert run(demo_db, "export", "jsonl", str(out), "--dataset", "demo") == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 8


def test_errors_have_exit_codes_scripts_can_trust(db, tmp_path, capsys):
    assert run(db, "ls", "nope") == 1
    assert "no dataset named 'nope'" in capsys.readouterr().err
    assert run(db, "show", "999") == 1
    assert run(db, "import", str(tmp_path / "missing")) == 1
    with pytest.raises(SystemExit) as usage:
        run(db, "frobnicate")
    assert usage.value.code == 2
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"x" * 5000)
    assert main(["--db", str(garbage), "ls"]) == 1


def test_import_with_bad_rows_reports_and_returns_3(db, tmp_path, capsys):
    root = tmp_path / "mmla" / "MELD"
    root.mkdir(parents=True)
    (root / "test.tsv").write_text(
        "id\tutterance\temotion\n0_0\tokay then\tjoy\n0_1\twhat?\tconfused\n", encoding="utf-8"
    )
    assert run(db, "import", str(tmp_path / "mmla"), "--no-probe") == 3
    captured = capsys.readouterr().out
    assert "test.tsv" in captured and "confused" in captured
    assert run(db, "ls", "MELD", "--json") == 0
    assert len([x for x in capsys.readouterr().out.splitlines() if x.startswith("{")]) == 2


def test_entry_point_runs_as_a_module(demo_db):
    result = subprocess.run(
        [sys.executable, "-m", "mmla_core", "--db", str(demo_db), "ls", "demo", "--limit", "2"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "demo_01" in result.stdout


def test_a_reader_that_stops_early_ends_the_command_quietly(demo_db):
    """`mmla probe ... | head -5`: the reader closes the pipe; the command said
    "mmla probe: [Errno 32] Broken pipe" and exited 1 as if it had failed."""
    command = [sys.executable, "-m", "mmla_core", "--db", str(demo_db), "tasks"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before the command writes: its first write meets a closed pipe
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141, err   # 128 + SIGPIPE, as a shell reports `yes | head`
    assert err == ""
