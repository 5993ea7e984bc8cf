"""`mmla label | check | checks | note | review | undo | redo | agreement | export-eaf |
export-review`, as a curator's script would run them."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from mmla_core.cli import main
from mmla_core.datasets.eaf import read_eaf
from mmla_core.store import open_store
from mmla_core.store.labels import labels_for_clip


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    assert main(["--db", str(path), "demo"]) == 0
    return path


@pytest.fixture
def db(template, tmp_path, monkeypatch):
    monkeypatch.delenv("MMLA_ANNOTATOR", raising=False)
    path = tmp_path / "p.sqlite"
    shutil.copy(template, path)
    return path


def run(db, *args) -> int:
    return main(["--db", str(db), *args])


def mine(db, clip_id: int, annotator: str) -> dict[str, str]:
    with open_store(db) as store:
        return {r["task"]: r["label"] for r in labels_for_clip(store, clip_id)
                if r["annotator"] == annotator}


def test_label_undo_redo_round_trip(db, capsys):
    assert run(db, "label", "demo/demo_01", "MELD", "Anger", "--annotator", "alice") == 0
    assert run(db, "label", "1", "MIntRec", "joke", "--annotator", "alice") == 0
    assert mine(db, 1, "alice") == {"MELD": "anger", "MIntRec": "joke"}
    assert run(db, "undo", "--annotator", "alice") == 0
    assert "undo: clip 1 MIntRec: joke -> (none)" in capsys.readouterr().out
    assert mine(db, 1, "alice") == {"MELD": "anger"}
    assert run(db, "redo", "--annotator", "alice") == 0
    assert mine(db, 1, "alice") == {"MELD": "anger", "MIntRec": "joke"}
    assert run(db, "label", "1", "MELD", "--clear", "--annotator", "alice") == 0
    assert mine(db, 1, "alice") == {"MIntRec": "joke"}
    capsys.readouterr()
    assert run(db, "undo", "--annotator", "nobody") == 0
    assert "nothing to undo" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message", "code"), [
    (("label", "1", "MELD", "happy"), "not a MELD label", 2),  # not in the task's set: usage
    (("label", "1", "NOPE", "joy"), "no task named", 1),  # not in this project: failed
    (("label", "99", "MELD", "joy"), "no clip with id 99 in this project", 1),
    (("label", "1", "MELD"), "LABEL or --clear", 2),
    (("check", "1", "lips", "yes"), "no check 'lips'", 1),
    (("review", "1", "--verdict", "accept", "--annotator", "import"), "reserved", 2),
])
def test_bad_requests_fail_with_a_message_and_change_nothing(db, capsys, args, message, code):
    extra = () if "--annotator" in args else ("--annotator", "alice")
    assert run(db, *args, *extra) == code
    assert message in capsys.readouterr().err
    assert mine(db, 1, "alice") == {}


def test_annotator_comes_from_the_environment(db, monkeypatch):
    with pytest.raises(SystemExit):
        run(db, "label", "1", "MELD", "joy")  # no --annotator and no $MMLA_ANNOTATOR
    monkeypatch.setenv("MMLA_ANNOTATOR", "erin")
    assert run(db, "label", "1", "MELD", "joy") == 0
    assert mine(db, 1, "erin") == {"MELD": "joy"}


def test_checks_then_review_gives_the_verdict(db, capsys):
    for key in ("visual_only", "audio_only", "full_visual", "full_audio"):
        assert run(db, "check", "1", key, "yes", "--annotator", "alice") == 0
    assert "4 of 4 answered, verdict: accept" in capsys.readouterr().out
    assert run(db, "review", "1", "--annotator", "alice") == 0
    assert "reviewed by alice: accept; demo: 1 of 8 reviewed" in capsys.readouterr().out
    assert run(db, "check", "1", "audio_only", "no", "--annotator", "alice") == 0
    assert run(db, "review", "1", "--verdict", "accept", "--annotator", "alice") == 1
    assert "answered No" in capsys.readouterr().err
    assert run(db, "review", "2", "--verdict", "none", "--annotator", "alice") == 0
    assert "no verdict" in capsys.readouterr().out


def test_show_says_who_reviewed_the_clip_its_verdict_and_notes(db, capsys):
    """`mmla show` is "everything about one clip": a rejected clip (left out of training,
    evaluation and every export) must say so there."""
    assert run(db, "review", "7", "--verdict", "reject", "--annotator", "ana") == 0
    assert run(db, "note", "7", "speaker off screen", "--annotator", "ana") == 0
    capsys.readouterr()
    assert run(db, "show", "7") == 0
    out = capsys.readouterr().out
    assert "review             reject  (ana)" in out
    assert "verdict            reject (left out of training, evaluation and exports" in out
    assert "note               speaker off screen  (ana)" in out
    assert run(db, "show", "6") == 0
    assert "verdict" not in capsys.readouterr().out


def test_custom_check_lists(db, capsys):
    assert run(db, "checks", "demo", "--set", "lips=Do the lips move with the words?") == 0
    assert "lips" in capsys.readouterr().out
    assert run(db, "check", "1", "lips", "unsure", "--annotator", "alice") == 0
    assert run(db, "check", "1", "visual_only", "yes", "--annotator", "alice") == 1
    assert run(db, "checks", "demo", "--set", "Bad Key=q") == 2
    assert run(db, "checks", "demo", "--reset") == 0
    assert "visual_only" in capsys.readouterr().out


def test_agreement_table_json_and_too_few_annotators(db, capsys):
    assert run(db, "agreement", "--dataset", "demo") == 1
    assert "two or more annotators" in capsys.readouterr().err
    for clip, (a, b) in enumerate([("joy", "joy"), ("anger", "joy"), ("fear", "fear")], 1):
        run(db, "label", str(clip), "MELD", a, "--annotator", "alice")
        run(db, "label", str(clip), "MELD", b, "--annotator", "bob")
    capsys.readouterr()
    assert run(db, "agreement", "--dataset", "demo", "--task", "MELD") == 0
    out = capsys.readouterr().out
    assert "MELD" in out and "cohen" in out and "clip 2 (demo_02) MELD: alice=anger, bob=joy" in out
    assert run(db, "agreement", "--dataset", "demo", "--annotators", "alice,bob,import",
               "--json") == 0
    report = json.loads(capsys.readouterr().out)
    meld = next(r for r in report["rows"] if r["name"] == "MELD")
    assert meld["kappa"]["method"] == "fleiss" and meld["kappa"]["items"] == 3
    # a misspelt name gave a table of "no clip was rated by all chosen annotators", exit 0
    assert run(db, "agreement", "--dataset", "demo", "--annotators", "alice,bbo") == 1
    err = capsys.readouterr().err
    assert "'bbo' labelled nothing and answered no check in demo" in err
    assert "annotators here: alice, bob, import" in err


def test_export_eaf_and_review_table(db, tmp_path, capsys):
    run(db, "label", "1", "MELD", "fear", "--annotator", "alice")
    run(db, "review", "1", "--verdict", "reject", "--annotator", "alice")
    assert run(db, "export-eaf", str(tmp_path / "eaf"), "--dataset", "demo",
               "--annotator", "alice") == 0
    assert "wrote 7 .eaf files" in capsys.readouterr().out  # the rejected clip left out
    assert run(db, "export-eaf", str(tmp_path / "eaf"), "--dataset", "demo",
               "--annotator", "alice", "--include-rejected") == 0
    assert "wrote 8 .eaf files" in capsys.readouterr().out
    values = read_eaf(tmp_path / "eaf" / "train_demo_01.eaf").values()
    assert values["MELD@alice"] == "fear" and values["verdict@alice"] == "reject"
    assert run(db, "export-review", str(tmp_path / "r.csv"), "--dataset", "demo") == 0
    assert "left out: 1 rejected" in capsys.readouterr().out  # the default rule
    assert run(db, "export-review", str(tmp_path / "r.csv"), "--dataset", "demo",
               "--include-rejected") == 0
    rows = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    assert rows[0]["verdict"] == "reject" and rows[0]["reviewed_by"] == "alice"
    assert run(db, "export-review", str(tmp_path / "r.out"), "--dataset", "demo",
               "--format", "jsonl", "--include-rejected") == 0
    assert json.loads((tmp_path / "r.out").read_text().splitlines()[0])["verdict"] == "reject"
    assert run(db, "export-eaf", str(tmp_path / "x"), "--dataset", "nope") == 1


def test_adjudicate_sets_the_curated_label_and_undoes(db, tmp_path, capsys):
    from mmla_core.store.catalog import task_by_name
    from mmla_core.store.label_policy import label_of

    run(db, "label", "1", "MELD", "fear", "--annotator", "alice")
    run(db, "label", "1", "MELD", "anger", "--annotator", "bob")
    assert run(db, "adjudicate", "1", "MELD", "Fear", "--annotator", "carol") == 0
    assert "adjudicated by carol" in capsys.readouterr().out
    run(db, "label", "1", "MELD", "sadness", "--annotator", "bob")  # later, not adjudicated
    with open_store(db) as store:
        meld = task_by_name(store, "MELD")[0]
        assert label_of(store, 1, meld) == "fear"
    out = tmp_path / "lf"
    assert run(db, "export", "llamafactory", str(out), "--dataset", "demo", "--task", "MELD",
               "--splits", "train") == 0
    assert "adjudicated 1" in capsys.readouterr().out
    assert run(db, "undo", "--annotator", "carol") == 0
    assert "MELD (adjudication): fear -> (none)" in capsys.readouterr().out
    with open_store(db) as store:
        assert label_of(store, 1, meld) == "sadness"  # back to the latest person
    assert run(db, "adjudicate", "1", "MELD", "joy", "--annotator", "adjudicated:x") == 2
    assert run(db, "export", "jsonl", str(tmp_path / "x.jsonl"), "--labels", "nobody") == 2
    assert "unknown label source 'nobody'" in capsys.readouterr().err
