"""Training runs: checkpoints cut short by a kill, resumed events, configs, kill -9, job ids
(issue 15, items 10 and 17)."""

from __future__ import annotations

import json
import math
import sys

import pytest

from mmla_core.store import open_store
from mmla_core.store.jobs import create_job, delete_job
from mmla_core.train import control, logfile, supervise
from mmla_core.train.config import TrainConfig, TrainConfigError
from tests.support.train_fixtures import toy_config, toy_db, toy_project, toy_text_model

__all__ = ["toy_db", "toy_project", "toy_text_model"]


class _KilledWhileSaving(BaseException):
    """Stands for the SIGKILL: nothing after this point of the save runs."""


def test_a_save_cut_short_leaves_no_checkpoint_and_resume_replays_no_event(
        toy_project, toy_text_model, tmp_path, monkeypatch):
    from transformers import Trainer

    from mmla_core.train.run import run_training

    out = tmp_path / "run"
    config = toy_config(toy_text_model, output_dir=str(out), max_steps=6, save_every=2,
                        eval_every=100, test_split="none")
    with open_store(toy_project) as store:
        job_id = create_job(store, config.name, config.to_dict(), str(out))
    real_save_rng = Trainer._save_rng_state

    def killed_at_step_4(self, output_dir):
        if self.state.global_step == 4:  # weights and optimizer written, trainer state not yet
            raise _KilledWhileSaving
        return real_save_rng(self, output_dir)

    monkeypatch.setattr(Trainer, "_save_rng_state", killed_at_step_4)
    with pytest.raises(_KilledWhileSaving):
        run_training(config, toy_project, job_id=job_id)
    monkeypatch.setattr(Trainer, "_save_rng_state", real_save_rng)
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2"]
    legacy = out / "checkpoint-5"  # what a run older than the atomic save could leave
    legacy.mkdir()
    (legacy / "adapter_model.safetensors").write_bytes(b"cut")
    assert [c["step"] for c in control.checkpoints({"output_dir": str(out)})] == [2]

    outcome = run_training(config, toy_project, job_id=job_id, resume="latest")
    assert (outcome.status, outcome.global_step) == ("done", 6)
    log = (out / "train.log").read_text()
    assert "skipped incomplete checkpoint(s) checkpoint-5" in log
    assert "resuming from checkpoint-2" in log
    with open_store(toy_project) as store:
        steps = [r["step"] for r in store.query(
            "SELECT step FROM training_events WHERE job_id = ? AND kind = 'train' ORDER BY id",
            (job_id,))]
    logged = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]
    assert [e["step"] for e in logged if e["kind"] == "train"] == [1, 2, 3, 4, 5, 6]
    assert not (out / ".checkpoint-saving").exists()


@pytest.mark.parametrize(("field", "raw"), [("learning_rate", "nan"), ("epochs", ".inf"),
                                            ("fps", ".nan"), ("lora_dropout", "-.inf")])
def test_non_finite_numbers_are_refused_naming_the_field(field, raw):
    text = f"name: x\nmodel: m\ntasks: [MELD]\n{field}: {raw}\n"
    with pytest.raises(TrainConfigError, match=f"{field} must be a finite number"):
        TrainConfig.from_yaml(text)
    value = float(raw.replace(".", ""))
    config = TrainConfig(name="x", model="m", tasks=["MELD"], **{field: value})
    assert any(field in p and "finite" in p for p in config.problems())
    assert not math.isfinite(getattr(config, field))


def test_job_ids_are_never_reused_after_deleting_the_newest(tmp_path):
    with open_store(tmp_path / "p.sqlite") as store:
        ids = [create_job(store, f"j{i}", {}, str(tmp_path / f"o{i}")) for i in range(3)]
        delete_job(store, ids[-1])
        again = create_job(store, "next", {}, str(tmp_path / "o4"))
        delete_job(store, again)
        delete_job(store, ids[1])
        last = create_job(store, "last", {}, str(tmp_path / "o5"))
    assert ids == [1, 2, 3] and again == 4 and last == 5


def test_a_manual_kill_9_gets_no_out_of_memory_advice(tmp_path, capsys):
    """The supervisor's stdout is train.log; before, any SIGKILL was called a likely OOM."""
    suicide = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
    exit_code = supervise._run_trainer(suicide, tmp_path, 1)
    log = capsys.readouterr().out
    assert exit_code == -9 and "killed by signal 9" in log
    assert logfile.oom_advice(log) is None
    oom = supervise.kill_cause(2, 3)
    assert "out-of-memory killer" in oom and "host" in logfile.oom_advice(oom)
    assert supervise.kill_cause(None, None).startswith("killed by signal 9")
