"""`mmla train ...` end to end with the fake trainer: what a script sees (output, exit codes)."""

import json
from pathlib import Path

import yaml

from mmla_core.cli import main
from mmla_core.train.config import TrainConfig
from tests.support.train_jobs_helpers import project, wait_for, wait_for_events

__all__ = ["project"]   # a fixture, used by name
FLAGS = ["--task", "MIntRec", "--model", "tiny-omni", "--device", "cpu", "--rank", "4"]


def train(db, *args) -> int:
    return main(["--db", str(db), "train", *args])


def test_launch_follow_show_ls_on_a_run_that_finishes(project, capsys):
    assert train(project, "ls") == 0
    assert "no training runs yet" in capsys.readouterr().out
    assert train(project, "launch", *FLAGS, "--follow") == 0
    out = capsys.readouterr().out
    assert "training job 1 'MIntRec-tiny-omni' started" in out
    assert "step 3  eval  loss 0.3333  acc 0.750" in out and "job 1 done (exit code 0)" in out
    assert train(project, "show", "1") == 0
    out = capsys.readouterr().out
    assert "status             done" in out and "best dev accuracy  0.750" in out
    assert "checkpoints: at step 3" in out and "fake trainer: done at step 3" in out
    assert "ran out of" not in out
    assert train(project, "ls", "--json") == 0
    [row] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert (row["id"], row["status"], row["step"], row["exit"]) == (1, "done", 3, 0)
    assert train(project, "ls") == 0
    assert "MIntRec-tiny-omni" in capsys.readouterr().out


def test_stop_rm_and_their_refusals(project, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    assert train(project, "launch", *FLAGS, "--name", "long one") == 0
    wait_for_events(project, 1)
    assert train(project, "rm", "1") == 1
    assert "stop it before deleting" in capsys.readouterr().err
    assert train(project, "launch", *FLAGS, "--name", "rival") == 1
    assert "busy with training job 1 'long one'" in capsys.readouterr().err
    assert train(project, "stop", "1") == 0
    assert "stop requested for job 1" in capsys.readouterr().out
    assert train(project, "follow", "1") == 0
    assert "job 1 stopped (exit code 0)" in capsys.readouterr().out
    assert train(project, "stop", "1") == 1
    assert "is not running (it is stopped)" in capsys.readouterr().err
    folder = Path(wait_for(project, 1)["output_dir"])
    assert train(project, "rm", "1") == 0
    assert not folder.exists() and "deleted training job 1" in capsys.readouterr().out
    assert train(project, "show", "1") == 1
    assert "no training job 1" in capsys.readouterr().err


def test_rm_in_a_copied_project_leaves_the_originals_folder_and_says_so(project, tmp_path,
                                                                       capsys):
    assert train(project, "launch", *FLAGS, "--follow") == 0
    folder = Path(wait_for(project, 1)["output_dir"])
    copy = tmp_path / "copy" / "proj.sqlite"
    copy.parent.mkdir()
    copy.write_bytes(project.read_bytes())
    capsys.readouterr()
    assert train(copy, "rm", "1") == 0
    out = capsys.readouterr().out
    assert f"deleted training job 1; its folder {folder} was left" in out
    assert "outside this project's folder" in out and (folder / "adapter").is_dir()


def test_a_crashed_run_shows_its_log_tail_and_oom_advice(project, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_TRAINER_MODE", "oom")
    assert train(project, "launch", *FLAGS, "--batch-size", "2", "--follow") == 1
    captured = capsys.readouterr()
    assert "job 1 failed (exit code 1)" in captured.out
    assert "CUDA out of memory" in captured.err and "batch size 2 -> 1" in captured.err
    assert train(project, "show", "1") == 0
    out = capsys.readouterr().out
    assert "exit code          1" in out and "frames 8 -> 4" in out
    assert train(project, "resume", "1") == 1
    assert "no checkpoint to resume from" in capsys.readouterr().err


def test_launch_from_yaml_with_flag_overrides_and_export_config(project, tmp_path, capsys,
                                                                 monkeypatch):
    config = tmp_path / "run.yaml"
    config.write_text("name: from-yaml\nmodel: tiny-omni\ntasks: [MIntRec]\nlora_rank: 16\n"
                      "device: cpu\n")
    assert train(project, "launch", str(config), "--epochs", "3", "--follow") == 0
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    assert train(project, "export-config", "1") == 0
    out = capsys.readouterr().out
    exported = TrainConfig.from_yaml((tmp_path / "from-yaml.yaml").read_text())
    assert (exported.lora_rank, exported.epochs, exported.output_dir) == (16, 3.0, "")
    assert f"python -m mmla_core.train from-yaml.yaml --db {project.resolve()}" in out
    assert "torchrun --nproc_per_node 4 -m mmla_core.train from-yaml.yaml --db " in out


def test_broken_configs_are_refused_with_what_and_where(project, tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nmodel: [unclosed\n")
    assert train(project, "launch", str(broken)) == 1
    err = capsys.readouterr().err
    assert "broken.yaml: not valid YAML at line 3, column 1: expected ',' or ']'" in err
    assert err.count("\n") == 1   # one line: what and where (it was six, with "<unicode string>")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"name: \xff\xfe\n")
    assert train(project, "launch", str(binary)) == 1
    err = capsys.readouterr().err
    assert "binary.yaml: not UTF-8 text" in err and err.count("\n") == 1
    typo = tmp_path / "typo.yaml"
    typo.write_text(yaml.safe_dump({"name": "x", "model": "m", "tasks": ["MIntRec"],
                                    "lora_rnak": 8, "epochs": "many"}))
    assert train(project, "launch", str(typo)) == 1
    err = capsys.readouterr().err
    assert "typo.yaml: unknown config key 'lora_rnak'" in err
    assert train(project, "launch", str(tmp_path / "missing.yaml")) == 1
    assert "missing.yaml" in capsys.readouterr().err
    assert train(project, "launch", "--rank", "4") == 2
    assert "give CONFIG.yaml, or --task and --model" in capsys.readouterr().err
    assert train(project, "ls") == 0 and "no training runs yet" in capsys.readouterr().out


def test_dry_run_prints_the_config_and_sample_previews_and_starts_nothing(project, capsys):
    assert train(project, "launch", *FLAGS, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "lora_rank: 4" in out and out.count("--- clip") == 3
    assert "prompt: What is clip 1?" in out and "answer: MIntRec: thank" in out
    assert train(project, "ls") == 0 and "no training runs yet" in capsys.readouterr().out
    # a sharded run needs CUDA GPUs: the dry run says so on this CPU machine
    assert train(project, "launch", *FLAGS, "--device", "cpu", "--sharding", "zero3",
                 "--gpus", "8", "--dry-run") != 0
    assert "sharding 'zero3' needs CUDA GPUs" in capsys.readouterr().err


def test_ctrl_c_in_follow_detaches_and_the_run_goes_on(project, monkeypatch, capsys):
    from mmla_core.cli import commands_train

    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    assert train(project, "launch", *FLAGS) == 0
    wait_for_events(project, 1)

    def interrupt(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(commands_train.time, "sleep", interrupt)
    assert train(project, "follow", "1") == 0
    assert "detached: job 1 keeps running" in capsys.readouterr().out
    monkeypatch.undo()
    assert wait_for(project, 1, ("running",))["status"] == "running"
    assert train(project, "stop", "1") == 0
    assert wait_for(project, 1)["status"] == "stopped"


def test_runs_finetune_and_diff_line_up_zero_shot_and_sft(tmp_path, capsys):
    from mmla_core.cli import main
    from mmla_core.demo import ensure_demo
    from mmla_core.store.db import open_store
    from mmla_core.store.jobs import update_job
    from mmla_core.store.results import add_model
    from tests.support.finetune_helpers import add_job, add_run

    db = tmp_path / "p.sqlite"
    gold = ["surprise", "joy", "neutral"]
    with open_store(db) as store:
        ensure_demo(store)
        add_model(store, "tiny-omni", "qwen2_5_omni", str(tmp_path))
        zero = add_run(store, ["neutral"] * 3, gold=gold)
        job_id, adapter = add_job(store, tmp_path, "meld-sft", ["MELD"], "sft",
                                  learning_rate=2e-4)
        update_job(store, job_id, status="done")
        sft = add_run(store, ["surprise", "joy", "joy"], gold=gold, adapter=adapter,
                      settings={"training_job_id": job_id, "training": {"mode": "sft"}})
    capsys.readouterr()
    assert main(["--db", str(db), "runs", "finetune"]) == 0
    table = capsys.readouterr().out
    assert f"33.33 (#{zero})" in table and f"66.67 (#{sft})" in table
    assert main(["--db", str(db), "runs", "diff", str(zero), str(sft)]) == 0
    diff = capsys.readouterr().out
    assert "train.learning_rate" in diff and "0.0002" in diff and "train.mode" in diff
    assert main(["--db", str(db), "runs", "diff", str(zero), "999"]) == 1


def test_follow_log_of_a_job_without_a_run_folder_reports_its_end(project, capsys):
    from mmla_core.store import jobs, open_store

    with open_store(project) as store:
        job_id = jobs.create_job(store, "never ran", {"name": "never ran"}, "")
        jobs.update_job(store, job_id, status="failed", stderr_tail="no folder")
    assert train(project, "follow", str(job_id), "--log") == 1
    assert f"job {job_id} failed" in capsys.readouterr().out
