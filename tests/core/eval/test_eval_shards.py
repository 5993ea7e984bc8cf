"""Ranks that cannot write the project database write JSONL shards; `mmla runs merge` folds
them in, idempotently, skipping (and reporting) a half-written last line."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from mmla_core.cli import main
from mmla_core.eval.shards import database_unreachable, read_jsonl, resolve_db_mode
from mmla_core.store import open_store
from mmla_core.store.results import run_predictions
from tests.support import fake_engine
from tests.support.eval_project import make_project
from tests.support.fake_engine import reset_counter
from tests.support.multiprocess_helpers import rank_env
from tests.support.train_fixtures import toy_db, toy_project, toy_text_model

__all__ = ["toy_db", "toy_project", "toy_text_model"]
LABELLED = 9   # make_project: 10 test clips, 9 with a MELD label


@pytest.fixture
def project(tmp_path, monkeypatch):
    reset_counter()
    fake_engine.install(monkeypatch)  # `mmla eval` in this process answers with the fake
    path = tmp_path / "p.sqlite"
    make_project(path)
    return path


def _ranks(db, folder, ranks=(0, 1)) -> list[subprocess.CompletedProcess]:
    procs = [subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_rank", fake_engine.FACTORIES["engine"],
         fake_engine.FACTORIES["inputs"], "mmla_core.eval", "--db", str(db), "--model", "m",
         "--task", "MELD", "--dataset", "ds", "--batch-size", "2", "--db-mode", "shards",
         "--out", str(folder)],
        env=rank_env(RANK=str(rank), WORLD_SIZE="2", MMLA_LAUNCH_KEY="L1"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for rank in ranks]
    return [(p, *p.communicate(timeout=120)) for p in procs]


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _merge(db, folder, capsys) -> tuple[int, str]:
    code = main(["--db", str(db), "runs", "merge", str(folder)])
    return code, capsys.readouterr().out


def test_two_ranks_write_shards_and_merges_fold_them_in_once(project, tmp_path, capsys):
    folder = tmp_path / "run-folder"
    before = _digest(project)
    for proc, _, err in _ranks(project, folder):
        assert proc.returncode == 0, err
        assert f"shards in {folder}" in err
    assert _digest(project) == before   # no rank wrote the project file
    shard = folder / "predictions.rank1.jsonl"
    lines = shard.read_text().splitlines()
    shard.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])  # cut

    code, out = _merge(project, folder, capsys)
    assert code == 3 and "predictions.rank1.jsonl:" in out and "half-written last line" in out
    assert f"{LABELLED - 1} predictions added, 0 already there; status running" in out
    with open_store(project) as store:
        first = run_predictions(store, 1)
    code, out = _merge(project, folder, capsys)
    assert f"0 predictions added, {LABELLED - 1} already there" in out
    with open_store(project) as store:
        assert run_predictions(store, 1) == first    # the second merge changed nothing
        assert store.scalar("SELECT count(*) FROM runs") == 1

    [(proc, _, err)] = _ranks(project, folder, ranks=(1,))   # rank 1 again: only the lost one
    assert proc.returncode == 0, err
    assert len(read_jsonl(shard)[0]) == len(lines)
    code, out = _merge(project, folder, capsys)
    assert "1 predictions added" in out and "status done" in out
    assert "unreadable line" in out   # the cut line stays, reported, never half-merged
    with open_store(project) as store:
        rows = run_predictions(store, 1)
        run = store.query("SELECT * FROM runs WHERE id = 1")[0]
    assert len(rows) == len({r["sample_key"] for r in rows}) == LABELLED
    assert run["status"] == "done" and run["model_id"] is not None
    assert json.loads(run["settings_json"])["engine"]["weights_hash"].startswith("fake:")


def test_db_mode_auto_writes_shards_only_where_the_database_is_not_safe(project, tmp_path,
                                                                       monkeypatch):
    assert resolve_db_mode("auto", project)[0] == "direct"
    assert resolve_db_mode("shards", project)[0] == "shards"
    assert "does not exist" in database_unreachable(tmp_path / "elsewhere.sqlite")
    from mmla_core.eval import shards

    monkeypatch.setattr(shards, "_mount_type", lambda path: "nfs4")
    mode, why = resolve_db_mode("auto", project)
    assert mode == "shards" and "network file system (nfs4)" in why
    os.chmod(project, 0o444)
    try:
        monkeypatch.setattr(shards, "_mount_type", lambda path: "ext4")
        if os.geteuid() != 0:   # root may write anyway
            assert "not writable" in resolve_db_mode("auto", project)[1]
    finally:
        os.chmod(project, 0o644)


def test_merge_refuses_a_folder_with_nothing_to_merge(project, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["--db", str(project), "runs", "merge", str(tmp_path / "empty")]) == 1
    assert "nothing to merge" in capsys.readouterr().err


def test_a_training_rank_without_the_database_leaves_events_to_merge(toy_project,
                                                                   toy_text_model, tmp_path,
                                                                   monkeypatch, capsys):
    from mmla_core.store.db import READ_ONLY_ENV
    from mmla_core.train.__main__ import main as train_main
    from tests.support.train_fixtures import toy_config

    monkeypatch.setenv(READ_ONLY_ENV, "")   # restored after the test (main sets it)
    out = tmp_path / "run"
    config = toy_config(toy_text_model, output_dir=str(out), max_steps=4, eval_every=2,
                        save_every=2, test_split="none")
    (tmp_path / "run.yaml").write_text(config.to_yaml())
    before = _digest(toy_project)
    assert train_main([str(tmp_path / "run.yaml"), "--db", str(toy_project),
                       "--db-mode", "shards"]) == 0
    monkeypatch.setenv(READ_ONLY_ENV, "")   # the merge is another process, not a rank
    assert _digest(toy_project) == before
    assert json.loads((out / "status.json").read_text())["status"] == "done"
    with open(out / "events.jsonl", "a") as handle:
        handle.write('{"kind": "train", "st')   # a write cut short
    capsys.readouterr()
    code, text = _merge(toy_project, out, capsys)
    assert code == 3 and "events.jsonl:" in text and "half-written last line" in text
    assert "training job 1: 8 events added" in text and "status done" in text
    code, text = _merge(toy_project, out, capsys)
    assert "0 events added, 8 already there" in text
    with open_store(toy_project) as store:
        job = store.query("SELECT * FROM training_jobs")[0]
        kinds = [e["kind"] for e in store.query("SELECT kind FROM training_events ORDER BY id")]
    assert job["status"] == "done" and job["adapter_path"] == str(out / "adapter")
    assert job["output_dir"] == str(out.resolve()) and job["best_step"] in (2, 4)
    assert kinds.count("train") == 4 and kinds.count("checkpoint") == 2


def test_mmla_eval_in_shards_mode_merges_when_it_ends(project, tmp_path, capsys):
    folder = tmp_path / "out"
    assert main(["--db", str(project), "eval", "--model", "m", "--task", "MELD", "--dataset",
                 "ds", "--db-mode", "shards", "--out", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"run 1: {LABELLED} predictions added, 0 already there; status done" in out
    assert (folder / "predictions.rank0.jsonl").is_file()
    with open_store(project) as store:
        assert len(run_predictions(store, 1)) == LABELLED
    assert main(["--db", str(project), "eval", "--model", "m", "--task", "MELD", "--dataset",
                 "ds", "--db-mode", "shards"]) == 1
    assert "give --out RUN_FOLDER" in capsys.readouterr().err
