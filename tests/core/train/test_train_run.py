"""Training runs on the toy task with tiny models: learning, events, stop + resume, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from mmla_core.store import open_store
from mmla_core.store.jobs import create_job
from mmla_core.train.run import run_training
from tests.support import models_fixtures
from tests.support.train_fixtures import toy_config, toy_db, toy_project, toy_text_model

omni_dir = models_fixtures.omni_dir
__all__ = ["toy_db", "toy_project", "toy_text_model"]


def _job(path, config) -> int:
    with open_store(path) as store:
        return create_job(store, config.name, config.to_dict(), config.output_dir)


def test_training_learns_the_toy_task_and_beats_zero_shot(toy_project, toy_text_model, tmp_path):
    from mmla_core.eval.runs import run_evaluation
    from mmla_core.train.evaluation import _clip_accuracy

    config = toy_config(toy_text_model, output_dir=str(tmp_path / "run"))
    job_id = _job(toy_project, config)
    outcome = run_training(config, toy_project, job_id=job_id)
    assert outcome.status == "done" and outcome.global_step == 12
    assert (tmp_path / "run" / "adapter" / "adapter_model.safetensors").is_file()
    with open_store(toy_project) as store:
        job = store.query("SELECT * FROM training_jobs WHERE id = ?", (job_id,))[0]
        events = store.query("SELECT * FROM training_events WHERE job_id = ? ORDER BY id",
                             (job_id,))
        zero_shot = run_evaluation(toy_project, model=str(toy_text_model), task="toy-style",
                                   dataset="toy", split="test",
                                   settings=json.loads(store.query(
                                       "SELECT settings_json FROM runs WHERE id = ?",
                                       (outcome.test_runs[0],))[0]["settings_json"])["inference"])
        untrained = _clip_accuracy(store, zero_shot)
        tagged = json.loads(store.scalar("SELECT settings_json FROM runs WHERE id = ?",
                                         (outcome.test_runs[0],)))
    losses = [e["loss"] for e in events if e["kind"] == "train"]
    assert len(losses) == 12 and losses[-1] < 0.5 * losses[0]
    assert all(e["samples_per_s"] > 0 and e["tokens_per_s"] > 0
               for e in events if e["kind"] == "train")
    assert [e["step"] for e in events if e["kind"] == "eval"] == [6, 12]
    assert [e["step"] for e in events if e["kind"] == "checkpoint"] == [6, 12]
    test = [e for e in events if e["kind"] == "test"]
    assert len(test) == 1 and test[0]["eval_accuracy"] == outcome.test_accuracy[
        outcome.test_runs[0]]
    assert job["status"] == "done" and job["total_steps"] == 12
    assert job["adapter_path"] == str(tmp_path / "run" / "adapter")
    assert json.loads(job["test_run_ids_json"]) == outcome.test_runs
    assert tagged["training_job_id"] == job_id and tagged["adapter"] == job["adapter_path"]
    assert tagged["training"]["job_created_at"] == job["created_at"]   # ids can be reused
    assert outcome.test_accuracy[outcome.test_runs[0]] > untrained
    assert (tmp_path / "run" / "train.log").read_text().count("step ") >= 12


class _StopAt(TrainerCallback):
    """Asks for a stop the way the GUI does (a STOP file) once `step` is reached."""

    def __init__(self, output_dir, step: int):
        self.output_dir, self.step = output_dir, step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            (self.output_dir / "STOP").touch()


def test_stop_then_resume_ends_with_the_uninterrupted_weights(toy_project, toy_text_model,
                                                              tmp_path):
    settings = {"max_steps": 6, "save_every": 4, "eval_every": 4, "lora_dropout": 0.1,
                "lr_scheduler": "cosine", "warmup_ratio": 0.25, "test_split": "none"}
    straight = toy_config(toy_text_model, output_dir=str(tmp_path / "a"), **settings)
    run_training(straight, toy_project)
    halted = toy_config(toy_text_model, output_dir=str(tmp_path / "b"), **settings)
    job_id = _job(toy_project, halted)
    first = run_training(halted, toy_project, job_id=job_id,
                         callbacks=[_StopAt(tmp_path / "b", 3)])
    assert (first.status, first.global_step) == ("stopped", 3)
    assert (tmp_path / "b" / "checkpoint-3").is_dir() and first.test_runs == []
    with open_store(toy_project) as store:
        assert store.scalar("SELECT status FROM training_jobs WHERE id = ?", (job_id,)) == \
            "stopped"
    second = run_training(halted, toy_project, job_id=job_id, resume="latest")
    assert (second.status, second.global_step) == ("done", 6)
    a = load_file(tmp_path / "a" / "checkpoint-6" / "adapter_model.safetensors")
    b = load_file(tmp_path / "b" / "checkpoint-6" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert any(not torch.allclose(a[k], torch.zeros_like(a[k])) for k in a if "lora_B" in k)


def test_a_stop_asked_before_the_trainer_started_is_kept(toy_project, toy_text_model, tmp_path):
    config = toy_config(toy_text_model, output_dir=str(tmp_path / "early"), max_steps=6,
                        save_every=4, eval_every=4, test_split="none")
    job_id = _job(toy_project, config)
    with open_store(toy_project) as store, store.write() as conn:
        conn.execute("UPDATE training_jobs SET status = 'stopping' WHERE id = ?", (job_id,))
    outcome = run_training(config, toy_project, job_id=job_id)
    assert (outcome.status, outcome.global_step) == ("stopped", 1)
    assert (tmp_path / "early" / "checkpoint-1").is_dir()


def test_cli_runs_a_job_in_a_subprocess(toy_project, toy_text_model, tmp_path):
    config = toy_config(toy_text_model, output_dir=str(tmp_path / "cli"), max_steps=2,
                        eval_every=2, save_every=2, test_split="dev")
    job_id = _job(toy_project, config)
    path = tmp_path / "run.yaml"
    path.write_text(config.to_yaml())
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "mmla_core.train", str(path), "--db",
                           str(toy_project), "--job", str(job_id)], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "done at step 2" in done.stdout
    with open_store(toy_project) as store:
        job = store.query("SELECT * FROM training_jobs WHERE id = ?", (job_id,))[0]
        kinds = [r["kind"] for r in store.query(
            "SELECT kind FROM training_events WHERE job_id = ?", (job_id,))]
    assert job["status"] == "done" and job["pid"] not in (None, os.getpid())
    assert kinds == ["train", "train", "eval", "checkpoint", "test"]


def test_omni_trains_on_video_and_its_audio(toy_project, omni_dir, tmp_path):
    config = toy_config(omni_dir, output_dir=str(tmp_path / "omni"), max_steps=2, batch_size=2,
                        eval_every=2, save_every=2, test_split="dev")
    outcome = run_training(config, toy_project)
    assert outcome.status == "done" and outcome.best["step"] == 2
    with open_store(toy_project) as store:
        rows = store.query("SELECT * FROM predictions WHERE run_id = ?", (outcome.test_runs[0],))
    assert len(rows) == 4 and all(r["audio_on"] == 1 and r["error"] is None for r in rows)
    assert all(r["adapter_path"] == str(tmp_path / "omni" / "adapter") for r in rows)


def test_cli_refuses_a_broken_config_with_exit_code_2(toy_project, omni_dir, tmp_path):
    from mmla_core.train.__main__ import main

    path = tmp_path / "bad.yaml"
    path.write_text(toy_config(omni_dir, tasks=["nope"]).to_yaml())
    assert main([str(path), "--db", str(toy_project)]) == 2


@pytest.mark.parametrize("family", ["qwen2_5_omni", "qwen2_vl", "text_lm"])
def test_lora_targets_only_the_language_model(family):
    from mmla_core.train.trainer import lora_target_regex

    pattern = lora_target_regex(family, ["q_proj", "v_proj"])
    import re

    lm = "model.layers.0.self_attn.q_proj" if family == "text_lm" else \
        "model.language_model.layers.1.self_attn.v_proj"
    assert re.fullmatch(pattern, lm)
    for tower in ("model.audio_tower.layers.0.self_attn.q_proj",
                  "model.visual.blocks.0.attn.qkv", "model.language_model.layers.0.mlp.up_proj"):
        assert not re.fullmatch(pattern, tower)


class _KeepModel(TrainerCallback):
    """Holds only a weak reference to the model being trained."""

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        import weakref

        self.model = weakref.ref(model)


def test_the_test_evaluation_runs_after_the_training_model_is_freed(toy_project, toy_text_model,
                                                                   tmp_path, monkeypatch):
    import gc

    from mmla_core.train import run

    kept, seen = _KeepModel(), []

    def evaluate(*args):
        gc.collect()
        seen.append(kept.model())
        return [], {}

    monkeypatch.setattr(run, "evaluate_after_training", evaluate)  # imported at its top
    config = toy_config(toy_text_model, output_dir=str(tmp_path / "free"), max_steps=2,
                        eval_every=2, save_every=2)
    assert run_training(config, toy_project, callbacks=[kept]).status == "done"
    assert seen == [None]     # no second copy of the model next to the training one


def test_a_failing_test_evaluation_keeps_the_trained_run_done(toy_project, toy_text_model,
                                                             tmp_path, monkeypatch):
    from mmla_core.train import run

    def evaluate(*args):
        raise RuntimeError("CUDA out of memory in the test run")

    monkeypatch.setattr(run, "evaluate_after_training", evaluate)  # imported at its top
    config = toy_config(toy_text_model, output_dir=str(tmp_path / "t"), max_steps=2,
                        eval_every=2, save_every=2)
    job_id = _job(toy_project, config)
    outcome = run_training(config, toy_project, job_id=job_id)
    assert outcome.status == "done" and outcome.test_runs == []
    with open_store(toy_project) as store:
        job = store.query("SELECT * FROM training_jobs WHERE id = ?", (job_id,))[0]
    assert job["status"] == "done" and job["adapter_path"] == str(tmp_path / "t" / "adapter")
    assert job["stderr_tail"].startswith("test evaluation failed: RuntimeError: CUDA out of")
    assert "test evaluation failed: RuntimeError" in (tmp_path / "t" / "train.log").read_text()


def test_a_fresh_run_refuses_a_folder_holding_an_earlier_run(toy_project, toy_text_model,
                                                             tmp_path):
    from mmla_core.train.config import TrainConfigError

    out = tmp_path / "old"
    (out / "adapter").mkdir(parents=True)
    (out / "best.json").write_text('{"step": 40, "eval_accuracy": 0.99}')
    config = toy_config(toy_text_model, output_dir=str(out), max_steps=2)
    with pytest.raises(TrainConfigError, match=r"old is not empty \(adapter, best.json\)"):
        run_training(config, toy_project)


def test_only_a_resumed_run_continues_the_best_so_far(tmp_path):
    from mmla_core.train.callbacks import EventSink, ProgressCallback

    (tmp_path / "best.json").write_text('{"step": 40, "eval_accuracy": 0.99}')
    sink = EventSink(tmp_path)
    assert ProgressCallback(sink, tmp_path, 1).best == {}
    assert ProgressCallback(sink, tmp_path, 1, resuming=True).best["eval_accuracy"] == 0.99


def test_a_stop_asked_while_the_trainer_marks_itself_running_is_kept(toy_project,
                                                                     toy_text_model, tmp_path,
                                                                     monkeypatch):
    from mmla_core.train import callbacks

    config = toy_config(toy_text_model, output_dir=str(tmp_path / "race"), max_steps=6,
                        save_every=4, eval_every=4, test_split="none")
    job_id = _job(toy_project, config)
    real_now, asked = callbacks.utc_now, []

    def stop_clicked_now():   # the Stop button, at the moment the trainer starts
        if not asked:
            asked.append(True)
            with open_store(toy_project) as store, store.write() as conn:
                conn.execute("UPDATE training_jobs SET status = 'stopping' WHERE id = ?",
                             (job_id,))
        return real_now()

    monkeypatch.setattr(callbacks, "utc_now", stop_clicked_now)
    outcome = run_training(config, toy_project, job_id=job_id)
    assert (outcome.status, outcome.global_step) == ("stopped", 1)


def test_a_crash_under_the_supervisor_puts_one_traceback_in_train_log(toy_project, toy_text_model,
                                                                      tmp_path, monkeypatch,
                                                                      capsys):
    from mmla_core.train import run
    from mmla_core.train.__main__ import main

    def crash(self, *args):
        raise RuntimeError("boom")

    monkeypatch.setattr(run._Run, "_train", crash)
    monkeypatch.setenv("MMLA_TRAIN_LOG_CAPTURED", "1")   # as the supervisor starts it
    config = toy_config(toy_text_model, output_dir=str(tmp_path / "crash"))
    path = tmp_path / "crash.yaml"
    path.write_text(config.to_yaml())
    assert main([str(path), "--db", str(toy_project)]) == 1
    err = capsys.readouterr().err   # the supervisor appends this to train.log
    log_text = (tmp_path / "crash" / "train.log").read_text() + err
    assert log_text.count("Traceback") == 1 and "RuntimeError: boom" in log_text
    assert "mmla_core.train: failed: RuntimeError: boom" in err
