"""A resumed training job keeps its first start; each resume is recorded (when, from which
checkpoint) and shown by `mmla train ls` / `show` (the Training tab: tests/gui/training)."""

import json
from pathlib import Path

from mmla_core.cli import main
from mmla_core.store import jobs, open_store
from mmla_core.train import control
from tests.support.train_jobs_helpers import project, toy_config, wait_for, wait_for_events

__all__ = ["project"]   # a fixture, used by name


def _stopped_job(db, monkeypatch) -> dict:
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    job_id = control.launch(db, toy_config())
    wait_for_events(db, job_id, 2)
    with open_store(db) as store:
        control.request_stop(store, job_id)
    job = wait_for(db, job_id)
    assert job["status"] == "stopped" and job["started_at"]
    monkeypatch.setenv("FAKE_TRAINER_MODE", "quick")
    return job


def test_resume_keeps_the_first_start_and_records_each_resume(project, monkeypatch, capsys):
    first = _stopped_job(project, monkeypatch)
    [checkpoint] = control.checkpoints(first)
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    control.resume(project, first["id"])
    wait_for_events(project, first["id"], checkpoint["step"] + 1)
    with open_store(project) as store:
        control.request_stop(store, first["id"])
    job = wait_for(project, first["id"])
    assert job["status"] == "stopped"
    assert job["started_at"] == first["started_at"]  # the run's start, not the resume's
    assert job["resumed_at"] > first["started_at"]
    [resume] = jobs.job_resumes(job)
    assert resume == {"at": job["resumed_at"], "checkpoint": checkpoint["path"],
                      "step": checkpoint["step"]}
    monkeypatch.setenv("FAKE_TRAINER_MODE", "quick")
    control.resume(project, first["id"], str(checkpoint["step"]))  # again, from a step
    job = wait_for(project, first["id"])
    assert job["status"] == "done"
    assert job["started_at"] == first["started_at"]
    assert [r["step"] for r in jobs.job_resumes(job)] == [checkpoint["step"]] * 2
    assert "resumed 2 times, last " in control.describe_starts(job)
    assert f"from checkpoint-{checkpoint['step']} (step {checkpoint['step']})" in \
        control.describe_starts(job)

    capsys.readouterr()
    assert main(["--db", str(project), "train", "ls", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["started"] == control.shown_time(first["started_at"])
    assert row["resumed"] == control.shown_time(job["resumed_at"]) and row["resumes"] == 2
    assert main(["--db", str(project), "train", "show", str(job["id"])]) == 0
    out = capsys.readouterr().out
    assert f"started            {first['started_at']}" in out
    resumed = [line for line in out.splitlines() if line.startswith("resumed ")]
    assert len(resumed) == 2 and resumed[-1].endswith(
        f"from {checkpoint['path']} (step {checkpoint['step']})")


def test_a_trainer_start_after_a_resume_keeps_the_first_start(project):
    """What the real trainer writes when it starts (train/run.py): a resumed run's process
    must not move the job's start either."""
    with open_store(project) as store:
        job_id = jobs.create_job(store, "j", {"tasks": []}, str(project.parent / "out"))
        jobs.record_trainer_start(store, job_id, 11, "2026-01-01T10:00:00.000Z", "log", "out")
        jobs.record_resume(store, job_id, "2026-01-01T11:00:00.000Z", "out/checkpoint-4", 4)
        jobs.record_trainer_start(store, job_id, 12, "2026-01-01T11:00:01.000Z", "log", "out")
        job = jobs.get_job(store, job_id)
    assert job["started_at"] == "2026-01-01T10:00:00.000Z"
    assert job["resumed_at"] == "2026-01-01T11:00:00.000Z" and job["pid"] == 12
    assert control.describe_starts(job) == (
        "started 2026-01-01 10:00:00; resumed once, last 2026-01-01 11:00:00 from "
        "checkpoint-4 (step 4)")
    assert Path(jobs.job_resumes(job)[0]["checkpoint"]).name == "checkpoint-4"
