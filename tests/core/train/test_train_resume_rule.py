"""One resume rule for `mmla train resume` and the Training tab's Resume (which enables its
button from it: tests/gui/training/test_training_panel.py): a stopped or failed job resumes;
a done job does not, since a resume keeps the job's config (its epochs / max_steps: the restored
scheduler depends on them) and so has nothing left to train."""

import pytest

from mmla_core.cli import main
from mmla_core.store import jobs, open_store
from mmla_core.train import control
from mmla_core.train.resumable import RESUMABLE, resume_refusal
from tests.support.train_jobs_helpers import make_job, project, toy_config, wait_for

__all__ = ["project"]   # a fixture, used by name


@pytest.mark.parametrize("status", ["stopped", "failed"])
def test_stopped_and_failed_jobs_resume(project, status):
    job_id = make_job(project, status=status)
    with open_store(project) as store:
        assert resume_refusal(jobs.get_job(store, job_id)) is None
    assert RESUMABLE == ("stopped", "failed")


@pytest.mark.parametrize("status", ["created", "running", "stopping"])
def test_a_job_at_work_is_not_resumed(project, status):
    job_id = make_job(project, status=status)
    with open_store(project) as store:
        assert resume_refusal(jobs.get_job(store, job_id)) == (
            f"training job {job_id} is still {status}: stop it first or wait for it to end")


def test_a_done_job_is_refused_with_why_and_what_to_do_instead(project, capsys):
    job_id = control.launch(project, toy_config(epochs=2))
    job = wait_for(project, job_id)
    assert job["status"] == "done" and control.checkpoints(job)   # it could be resumed from
    refusal = resume_refusal(job)
    assert refusal == (
        f"training job {job_id} is done: it trained the 2 epochs its config asks for, and a "
        "resume keeps that config (the restored scheduler depends on it), so nothing is left "
        "to train. To train longer, launch a new job with more epochs (Export config… in the "
        f"Training tab, or mmla train export-config {job_id}, then launch it)")
    with pytest.raises(control.JobControlError) as refused:
        control.resume(project, job_id)
    assert str(refused.value) == refusal
    capsys.readouterr()
    assert main(["--db", str(project), "train", "resume", str(job_id), "--checkpoint",
                 str(control.checkpoints(job)[0]["step"])]) == 1
    assert f"mmla train: {refusal}" in capsys.readouterr().err
    after = wait_for(project, job_id)
    assert after["status"] == "done" and after["resumed_at"] is None   # nothing recorded
    assert jobs.job_resumes(after) == []


def test_a_done_job_says_its_steps_when_its_config_counts_steps(project):
    job_id = make_job(project, status="done")   # max_steps 20
    with open_store(project) as store:
        assert "it trained the 20 steps its config asks for" in resume_refusal(
            jobs.get_job(store, job_id))
