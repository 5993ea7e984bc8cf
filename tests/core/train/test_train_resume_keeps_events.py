"""A resume drops the job's events past its checkpoint at once (every view rewinds), but when
its trainer never starts (the supervisor cannot be launched, the trainer exits before its first
step) the dropped events come back: nothing already saved is lost
(tests/core/train/test_train_resume_rewinds.py covers a resume that does start)."""

import pytest

from mmla_core.store import jobs, open_store
from mmla_core.train import control
from tests.support.train_jobs_helpers import project, toy_config, wait_for, wait_for_events

__all__ = ["project"]   # a fixture, used by name


def _stopped_after(db, monkeypatch, count: int) -> tuple[int, list[tuple]]:
    """A job stopped after `count` events with two checkpoints; its events (kind, step)."""
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    job_id = control.launch(db, toy_config())
    wait_for_events(db, job_id, 2)
    with open_store(db) as store:
        control.request_stop(store, job_id)
    assert wait_for(db, job_id)["status"] == "stopped"
    control.resume(db, job_id)
    wait_for_events(db, job_id, count)
    with open_store(db) as store:
        control.request_stop(store, job_id)
    assert wait_for(db, job_id)["status"] == "stopped"
    return job_id, _events(db, job_id)


def _events(db, job_id: int) -> list[tuple]:
    with open_store(db) as store:
        return sorted((e["kind"], e["step"]) for e in jobs.job_events(store, job_id))


def test_a_resume_whose_supervisor_cannot_start_gives_the_dropped_events_back(project,
                                                                            monkeypatch):
    job_id, before = _stopped_after(project, monkeypatch, 6)
    early = min(c["step"] for c in control.checkpoints(wait_for(project, job_id)))
    assert max(step for _, step in before) > early

    def no_fork(*args, **kwargs):
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(control.subprocess, "Popen", no_fork)
    with pytest.raises(OSError, match="Resource temporarily"):
        control.resume(project, job_id, str(early))
    job = wait_for(project, job_id)
    assert job["status"] == "failed"
    assert _events(project, job_id) == before
    with open_store(project) as store:   # the views too, not only the rows
        [row] = [j for j in control.list_jobs(store) if j["id"] == job_id]
    assert row["last_step"] == max(step for _, step in before)


def test_a_resume_whose_trainer_fails_before_its_first_step_gives_them_back(project,
                                                                          monkeypatch):
    job_id, before = _stopped_after(project, monkeypatch, 6)
    early = min(c["step"] for c in control.checkpoints(wait_for(project, job_id)))
    monkeypatch.setenv("FAKE_TRAINER_MODE", "oom")   # exits 1 before it trims anything
    control.resume(project, job_id, str(early))
    job = wait_for(project, job_id)
    assert job["status"] == "failed"
    assert _events(project, job_id) == before


def test_a_resume_whose_trainer_started_keeps_only_its_own_events(project, monkeypatch):
    job_id, _ = _stopped_after(project, monkeypatch, 6)
    early = min(c["step"] for c in control.checkpoints(wait_for(project, job_id)))
    monkeypatch.setenv("FAKE_TRAINER_MODE", "quick")   # trims, then logs steps early+1..
    control.resume(project, job_id, str(early))
    assert wait_for(project, job_id)["status"] == "done"
    steps = [step for kind, step in _events(project, job_id) if kind == "train"]
    assert steps == sorted(set(steps))   # no step twice: nothing old came back on top
    assert max(steps) == early + 1
