"""Evaluation runs with a fake engine on a real store: provenance, resume, cancel, failures."""

import json
import threading

import pytest

from mmla_core.distributed import launch_key_from_env, shard_from_env
from mmla_core.eval.run_plan import EvalError, shard
from mmla_core.eval.runs import run_evaluation
from mmla_core.store import open_store
from mmla_core.store.results import get_run, run_predictions
from mmla_core.tasks import builtin_task
from tests.support import fake_engine
from tests.support.eval_project import make_project
from tests.support.fake_engine import InferenceSettings, clip_input, load, reset_counter
from tests.support.paths import repo_env

FAKE = {"engine_factory": load, "input_factory": clip_input}


@pytest.fixture
def project(tmp_path, monkeypatch):
    for name in ("FAKE_ENGINE_DELAY", "FAKE_ENGINE_EXIT_AFTER", "FAKE_ENGINE_FAIL_LOAD",
                 "FAKE_ENGINE_OOM_AFTER", "FAKE_ENGINE_FAIL_CLIPS", "FAKE_INPUT_FAIL_CLIPS"):
        monkeypatch.delenv(name, raising=False)
    reset_counter()
    fake_engine.install(monkeypatch)  # `mmla eval` here and its model worker build the fake
    path = tmp_path / "p.sqlite"
    return path, make_project(path)


def evaluate(path, **kw):
    args = {"model": str(path.parent / "model"), "task": "MELD", "dataset": "ds",
            "split": "test", "settings": {"num_frames": 2, "seed": 3}, **FAKE}
    return run_evaluation(path, **{**args, **kw})


def rows(path, run_id):
    with open_store(path) as store:
        return run_predictions(store, run_id), get_run(store, run_id)


def test_run_writes_every_labelled_clip_with_full_provenance(project):
    path, clip_ids = project
    events = []
    run_id = evaluate(path, progress=events.append, adapter="/ckpt/checkpoint-120")
    preds, run = rows(path, run_id)
    assert run["status"] == "done" and run["total"] == 9 and run["error"] is None
    assert [p["clip_id"] for p in preds] == clip_ids[:9]  # t9 has no gold label
    p = preds[0]
    assert p["gold_label"] == "joy" and p["weights_hash"].startswith("fake:")
    assert p["adapter_path"] == "/ckpt/checkpoint-120" and p["checkpoint"] == "checkpoint-120"
    assert p["num_frames"] == 2 and p["seed"] == 3 and p["audio_on"] == 1
    assert p["answer_mode"] == "scoring" and p["prompt_kind"] == "zero_shot"
    assert p["prompt_hash"] and p["prompt_template"] and p["raw_output"].startswith("emotion:")
    scores = json.loads(p["scores_json"])
    assert set(scores) == set(builtin_task("MELD").labels)
    assert p["parsed_label"] == max(scores, key=scores.get)
    assert p["is_correct"] == int(p["parsed_label"] == p["gold_label"])
    settings = json.loads(run["settings_json"])
    assert settings["inference"]["num_frames"] == 2 and settings["unlabelled_clips"] == 1
    assert settings["engine"]["random_weights"] is True and run["model_name"] == "fake-omni"
    assert json.loads(run["environment_json"])["job"] == "evaluate"  # the sweep's words
    assert events[0].stage == "loading" and events[-1].stage == "done"
    assert events[-1].done == events[-1].total == 9


def test_variants_are_samples_of_their_own_type(project):
    path, clip_ids = project
    run_id = evaluate(path, variants="audio_swap,frames_black+audio_silent")
    preds, run = rows(path, run_id)
    assert run["total"] == 27 and len(preds) == 27
    first = [p for p in preds if p["clip_id"] == clip_ids[0]]
    assert [p["variant"] for p in first] == [None, "audio_swap", "frames_black+audio_silent"]
    recipe = json.loads(first[1]["recipe_json"])
    assert recipe["variant"] == "audio_swap" and recipe["seed"] == 3
    assert first[0]["recipe_json"] is None


def test_mmabench_preset_adds_its_five_conflict_scenarios(project):
    path, _ = project
    run_id = evaluate(path, variants=["mmabench"])
    preds, _ = rows(path, run_id)
    kinds = {p["variant"] for p in preds}
    assert kinds == {None, "audio_swap", "misleading_caption", "long_context", "frames_zeroed",
                     "audio_removed"}


def test_cancel_then_resume_completes_without_duplicates(project, monkeypatch):
    path, _ = project
    stop = threading.Event()

    def progress(event):
        if event.done >= 4:
            stop.set()

    run_id = evaluate(path, batch_size=2, progress=progress, cancel=stop)
    preds, run = rows(path, run_id)
    assert run["status"] == "cancelled" and "cancelled after 4 of 9" in run["error"]
    assert len(preds) == 4
    assert evaluate(path, resume=run_id, batch_size=2) == run_id
    resumed, run = rows(path, run_id)
    assert run["status"] == "done" and run["error"] is None and len(resumed) == 9
    fresh, _ = rows(path, evaluate(path))
    assert [(p["clip_id"], p["parsed_label"], p["scores_json"]) for p in resumed] == \
        [(p["clip_id"], p["parsed_label"], p["scores_json"]) for p in fresh]
    assert evaluate(path, resume=run_id) == run_id  # nothing left: no rows, still done
    assert len(rows(path, run_id)[0]) == 9


def test_bad_clip_is_recorded_and_the_run_goes_on(project, monkeypatch):
    path, clip_ids = project
    monkeypatch.setenv("FAKE_INPUT_FAIL_CLIPS", str(clip_ids[1]))
    monkeypatch.setenv("FAKE_ENGINE_FAIL_CLIPS", str(clip_ids[2]))
    run_id = evaluate(path, batch_size=4)
    preds, run = rows(path, run_id)
    assert run["status"] == "done" and len(preds) == 9
    errors = {p["clip_id"]: p["error"] for p in preds if p["error"]}
    assert "moov atom" in errors[clip_ids[1]] and errors[clip_ids[1]].startswith("input:")
    assert errors[clip_ids[2]].startswith("model:")
    assert all(p["is_correct"] is None for p in preds if p["error"])
    monkeypatch.delenv("FAKE_INPUT_FAIL_CLIPS")
    monkeypatch.delenv("FAKE_ENGINE_FAIL_CLIPS")
    evaluate(path, resume=run_id)  # error rows are retried, replaced, not duplicated
    preds, run = rows(path, run_id)
    assert len(preds) == 9 and not any(p["error"] for p in preds)


def test_load_failure_and_oom_fail_the_run_with_a_message(project, monkeypatch):
    path, _ = project
    monkeypatch.setenv("FAKE_ENGINE_FAIL_LOAD", "/m: no config.json")
    run_id = evaluate(path)
    assert rows(path, run_id)[1]["status"] == "failed"
    assert rows(path, run_id)[1]["error"] == "/m: no config.json"
    monkeypatch.delenv("FAKE_ENGINE_FAIL_LOAD")
    monkeypatch.setenv("FAKE_ENGINE_OOM_AFTER", "3")
    run_id = evaluate(path, batch_size=2)
    preds, run = rows(path, run_id)
    assert run["status"] == "failed" and "out of memory" in run["error"]
    assert "resume" in run["error"] and len(preds) == 2  # the finished batch is kept


def test_model_failing_on_every_clip_stops_the_run(project, monkeypatch):
    path, clip_ids = project
    monkeypatch.setenv("FAKE_ENGINE_FAIL_CLIPS", ",".join(map(str, clip_ids)))
    run_id = evaluate(path)
    run = rows(path, run_id)[1]
    assert run["status"] == "failed" and "8 samples in a row" in run["error"]


def test_unknown_inputs_raise_before_a_run_exists(project):
    path, _ = project
    with pytest.raises(EvalError, match="no task 'Nope'"):
        evaluate(path, task="Nope")
    with pytest.raises(EvalError, match="no dataset"):
        evaluate(path, dataset="missing")
    with pytest.raises(EvalError, match="nothing to evaluate"):
        evaluate(path, split="dev")
    with pytest.raises(EvalError, match="no evaluation run 99"):
        evaluate(path, resume=99)
    with pytest.raises(EvalError, match="unknown inference settings"):
        evaluate(path, settings={"frames": 3})
    with open_store(path) as store:
        assert store.scalar("SELECT count(*) FROM runs") == 0


def test_adapter_is_recorded_absolute_and_a_missing_one_stops_before_a_run(project,
                                                                           monkeypatch):
    """`mmla eval --adapter run/adapter` from one folder, `mmla runs finetune` from another:
    the run must still name (and match its training job by) the same folder."""
    path, _ = project
    monkeypatch.chdir(path.parent)
    (path.parent / "train" / "checkpoint-7").mkdir(parents=True)
    run_id = evaluate(path, adapter="train/checkpoint-7", locate=True)
    preds, run = rows(path, run_id)
    absolute = str(path.parent / "train" / "checkpoint-7")
    assert run["adapter_path"] == absolute and preds[0]["adapter_path"] == absolute
    assert json.loads(run["settings_json"])["adapter"] == absolute
    with pytest.raises(EvalError, match="adapter nowhere: no such folder"):
        evaluate(path, adapter="nowhere", locate=True)
    with open_store(path) as store:
        assert store.scalar("SELECT count(*) FROM runs") == 1


def test_a_missing_adapter_is_said_once_by_the_cli(project, capsys):
    """No "was not trained in this project" line before the refusal of a folder not there."""
    path, _ = project
    assert cli_eval(path, "--adapter", "/nowhere/adapter", "--in-process") == 1
    err = capsys.readouterr().err
    assert "no such folder" in err and "was not trained" not in err, err


def test_registered_model_is_reused_by_name(project):
    path, _ = project
    first = rows(path, evaluate(path))[1]
    second = rows(path, evaluate(path, model="fake-omni"))[1]
    assert first["model_id"] == second["model_id"]


def test_shard_split_takes_every_nth_and_covers_all():
    items = list(range(11))
    parts = [shard(items, r, 3) for r in range(3)]
    assert parts == [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8]]
    assert sorted(x for p in parts for x in p) == items
    with pytest.raises(ValueError):
        shard(items, 3, 3)


def test_rank_and_launch_key_from_torchrun_env():
    env = {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "MASTER_PORT": "29500",
           "TORCHELASTIC_RUN_ID": "abc"}
    assert shard_from_env(env) == (1, 2)
    assert shard_from_env({"LOCAL_RANK": "2", "LOCAL_WORLD_SIZE": "4"}) == (2, 4)
    assert shard_from_env({}) == (0, 1)
    assert launch_key_from_env(env).startswith("abc:29500:")
    assert launch_key_from_env({}) is None
    assert launch_key_from_env({**env, "MMLA_LAUNCH_KEY": "k"}) == "k"


def test_sharded_ranks_write_one_run_and_the_last_marks_it_done(project):
    path, _ = project
    kw = {"world_size": 3, "launch_key": "launch-1", "batch_size": 2}
    ids = []
    for rank in (2, 0):
        ids.append(evaluate(path, rank=rank, **kw))
        assert rows(path, ids[0])[1]["status"] == "running"  # rank 1 still to come
    ids.append(evaluate(path, rank=1, **kw))
    preds, run = rows(path, ids[0])
    assert len(set(ids)) == 1 and run["status"] == "done"
    assert sorted(p["clip_id"] for p in preds) == sorted({p["clip_id"] for p in preds})
    assert len(preds) == 9
    with pytest.raises(EvalError, match="launch key"):
        evaluate(path, rank=0, world_size=2)


def test_settings_object_is_accepted_as_is(project):
    path, _ = project
    run_id = evaluate(path, settings=InferenceSettings(num_frames=8, audio_on=False))
    preds, _ = rows(path, run_id)
    assert {p["num_frames"] for p in preds} == {8} and {p["audio_on"] for p in preds} == {0}


# --- the CLI: mmla eval, mmla runs, python -m mmla_core.eval.runs ------------------------------

def cli(path, *args) -> int:
    from mmla_core.cli import main

    return main(["--db", str(path), *args])


def cli_eval(path, *args) -> int:
    return cli(path, "eval", "--model", "m", "--task", "MELD", "--dataset", "ds", *args)


def test_cli_eval_in_process_and_in_the_worker(project, capsys):
    path, _ = project
    assert cli_eval(path, "--in-process", "--frames", "2", "--no-audio",
                    "--variants", "audio_swap") == 0
    out = capsys.readouterr().out
    assert "ACC" in out and "audio_swap" in out and "run 1: done, 18 of 18" in out
    assert cli_eval(path, "--fps", "1.5", "--mode", "generation") == 0  # the worker process
    preds, run = rows(path, 2)
    assert run["status"] == "done" and {p["sample_fps"] for p in preds} == {1.5}
    assert {p["answer_mode"] for p in preds} == {"generation"}
    assert {p["num_frames"] for p in preds} == {None}


def test_cli_runs_ls_show_compare_export_pooled(project, capsys, tmp_path):
    path, _ = project
    assert cli_eval(path, "--in-process") == 0
    assert cli_eval(path, "--in-process", "--no-audio") == 0
    capsys.readouterr()
    assert cli(path, "runs", "ls") == 0
    assert "fake-omni" in capsys.readouterr().out
    assert cli(path, "runs", "show", "1", "--confusion") == 0
    out = capsys.readouterr().out
    assert "confusion matrix" in out and "random_weights" in out and "WF1" in out
    assert cli(path, "runs", "compare", "1", "2", "--disagreements", "3") == 0
    out = capsys.readouterr().out
    assert "9 samples answered by every run" in out and "used random weights" in out
    assert cli(path, "runs", "export", "1", str(tmp_path / "out.csv")) == 0
    import csv

    with open(tmp_path / "out.csv", newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert len(exported) == 9 and {"external_id", "scores_json", "prompt_hash"} <= set(exported[0])
    assert cli(path, "runs", "pooled", "1", "2") == 0
    assert "pooled accuracy over 18 samples" in capsys.readouterr().out
    assert cli(path, "runs", "show", "42") == 1
    assert "no run 42" in capsys.readouterr().err


def test_cli_errors_and_resume(project, capsys, monkeypatch):
    path, _ = project
    assert cli(path, "eval", "--task", "MELD") == 2  # usage
    assert "give --model" in capsys.readouterr().err
    assert cli_eval(path, "--in-process", "--task", "Nope") == 1
    assert "no task 'Nope'" in capsys.readouterr().err
    assert cli_eval(path, "--task", "Nope") == 1  # the same message from the worker
    assert "no task 'Nope'" in capsys.readouterr().err
    monkeypatch.setenv("FAKE_ENGINE_EXIT_AFTER", "3")
    assert cli_eval(path, "--batch-size", "2") == 1
    err = capsys.readouterr().err
    assert "exited unexpectedly" in err and "--resume 1" in err
    monkeypatch.delenv("FAKE_ENGINE_EXIT_AFTER")
    assert cli(path, "eval", "--resume", "1") == 0
    preds, run = rows(path, 1)
    assert run["status"] == "done" and len(preds) == 9


def test_cli_names_each_sample_that_failed_and_how_to_retry(project, capsys, monkeypatch):
    """A clip whose media went missing: "done, 9 of 9 samples written, 1 error", exit 3, and
    nothing said which clip or why."""
    path, clip_ids = project
    monkeypatch.setenv("FAKE_INPUT_FAIL_CLIPS", str(clip_ids[1]))
    assert cli_eval(path, "--in-process") == 3
    captured = capsys.readouterr()
    assert "samples written, 1 error\n" in captured.out  # not "1 errors"
    lines = [line for line in captured.err.splitlines() if line.startswith("  ! ")]
    assert len(lines) == 1 and f"clip {clip_ids[1]} (" in lines[0] and "moov atom" in lines[0]
    assert "retry them with: mmla eval --resume 1" in captured.err


@pytest.mark.parametrize("entry", ["mmla_core.eval", "mmla_core.eval.runs"])  # new, old command
def test_torchrun_style_ranks_share_one_run(project, tmp_path, entry):
    """Two ranks as separate processes (what torchrun starts), writing the same SQLite run;
    each is the real entry started through fake_rank, which makes the fake engine the default."""
    import subprocess
    import sys

    path, _ = project
    procs = []
    for rank in range(2):
        env = repo_env(RANK=str(rank), WORLD_SIZE="2", MMLA_LAUNCH_KEY="L1")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "tests.support.fake_rank", fake_engine.FACTORIES["engine"],
             fake_engine.FACTORIES["inputs"], entry, "--db", str(path), "--model", "m",
             "--task", "MELD", "--dataset", "ds", "--batch-size", "1"],
            env=env, stderr=subprocess.PIPE, text=True))
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    assert "rank 0/2: run 1" in errs[0] and "rank 1/2: run 1" in errs[1]
    preds, run = rows(path, 1)
    assert run["status"] == "done" and len(preds) == 9
    assert len({p["clip_id"] for p in preds}) == 9
