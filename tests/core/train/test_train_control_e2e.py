"""Job control with the real trainer (`python -m mmla_core.train`) on a tiny text model: a detached
launch that is stopped mid-run saves a checkpoint and an adapter and ends 'stopped', exit 0."""

import pytest

from mmla_core.store import open_store
from mmla_core.train import control, logfile
from tests.support.train_fixtures import sharpened_tiny, toy_config, toy_db, toy_project
from tests.support.train_jobs_helpers import wait_for, wait_for_events

__all__ = ["toy_db", "toy_project"]   # fixtures, used by name
pytestmark = pytest.mark.slow


def test_real_trainer_launched_detached_then_stopped(toy_project, tmp_path):
    model = sharpened_tiny(tmp_path / "model", "text_lm")
    config = toy_config(model, device="cpu", max_steps=2000, save_every=4, eval_every=4)
    job_id = control.launch(toy_project, config)
    wait_for_events(toy_project, job_id, 3, timeout_s=120)
    with open_store(toy_project) as store:
        control.request_stop(store, job_id)
    job = wait_for(toy_project, job_id, timeout_s=120)
    assert (job["status"], job["exit_code"]) == ("stopped", 0), job["stderr_tail"]
    assert control.checkpoints(job), "a stopped run keeps a checkpoint to resume from"
    with open_store(toy_project) as store:
        [listed] = control.list_jobs(store)
        assert 0 < listed["last_step"] < 2000
        [adapter] = control.trained_adapters(store)
    assert adapter["job_id"] == job_id and adapter["tasks"] == config.tasks
    assert logfile.oom_advice(job["stderr_tail"]) is None
