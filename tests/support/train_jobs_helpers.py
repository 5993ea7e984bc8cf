"""Shared by the job-control and `mmla train` tests: a project whose trainer is the fake one."""

import os
import time
from dataclasses import dataclass

import pytest

from mmla_core.cli import commands_train
from mmla_core.store import open_store
from mmla_core.store.jobs import create_job, update_job
from mmla_core.train import control, logfile
from mmla_core.train.config import TrainConfig
from tests.support.fake_supervisor import use_fake_trainer


@dataclass(frozen=True)
class TrainSample:   # the contract's samples.TrainSample, for a fake preview
    clip_id: int
    task: str
    split: str
    prompt: str
    answer: str
    label: str
    media_path: str | None
    variant: str | None = None



@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project DB; launches run tests/support/fake_trainer.py and skip sample checks
    (preflight.validate is the trainer's to test; here only job control is under test)."""
    use_fake_trainer(monkeypatch)
    monkeypatch.setenv("FAKE_TRAINER_MODE", "quick")
    # where they are used: control and the CLI import them at their top (labels_record, what a
    # job records, stays the real one)
    monkeypatch.setattr(commands_train, "preview", lambda store, config, n=5: [
        TrainSample(clip_id=i, task=config.tasks[0], split="train", prompt=f"What is clip {i}?",
                    answer=f"{config.tasks[0]}: thank", label="thank", media_path=f"c{i}.mp4")
        for i in range(1, n + 1)])
    for module in (control, commands_train):
        monkeypatch.setattr(module, "validate", lambda store, config: [])
    db = tmp_path / "proj.sqlite"
    open_store(db).close()
    return db


def toy_config(**overrides) -> TrainConfig:
    return TrainConfig(**{"name": "toy run", "model": "tiny-omni", "tasks": ["MIntRec"],
                          "device": "cpu", **overrides})


def wait_for(db, job_id: int, statuses=control.FINISHED, timeout_s: float = 30.0) -> dict:
    """Poll like the GUI does until the job reaches one of `statuses`."""
    deadline = time.monotonic() + timeout_s
    with open_store(db) as store:
        while True:
            job = control.refresh(store, job_id)
            ended = control.has_ended(job) or job["status"] not in control.FINISHED
            if job["status"] in statuses and ended:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {job['status']} after {timeout_s} s:\n"
                                     f"{logfile.log_tail(job)}")
            time.sleep(0.05)


def wait_for_events(db, job_id: int, count: int = 1, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    with open_store(db) as store:
        while store.scalar("SELECT COUNT(*) FROM training_events WHERE job_id = ?",
                           (job_id,)) < count:
            assert time.monotonic() < deadline, f"job {job_id} wrote no events"
            time.sleep(0.05)


def make_job(db_path, status="running", name="meld-sft", **fields) -> int:
    """A job row as the supervisor leaves it; pid = this test process, so it counts as alive."""
    config = TrainConfig(name=name, model="tiny", tasks=["MELD"], max_steps=20, batch_size=4)
    with open_store(db_path) as store:
        job_id = create_job(store, name, config.to_dict(), "")
        update_job(store, job_id, status=status, pid=os.getpid(), **fields)
    return job_id
