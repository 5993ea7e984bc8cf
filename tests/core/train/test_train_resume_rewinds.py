"""A resume from an earlier checkpoint rewinds every view of the job to that checkpoint's step
(`mmla train ls`, `show`, control.list_jobs and its cached summaries), then follows the new
events, even when they reuse the ids of the events the resume dropped (the Training tab:
tests/gui/training/test_training_rewind.py)."""

import json
import time

from mmla_core.cli import main
from mmla_core.store import jobs, open_store
from mmla_core.train import control
from tests.support.train_jobs_helpers import project, toy_config, wait_for, wait_for_events

__all__ = ["project"]   # a fixture, used by name


def _stop_after(db, job_id: int, count: int) -> int:
    """Let the (fake, one step per 50 ms) run log `count` events, stop it; its last step."""
    wait_for_events(db, job_id, count)
    with open_store(db) as store:
        control.request_stop(store, job_id)
    job = wait_for(db, job_id)
    assert job["status"] == "stopped"
    return max(c["step"] for c in control.checkpoints(job))


def wait_until_exists(path, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def _last_step(db, job_id: int) -> int:
    with open_store(db) as store:
        return next(j for j in control.list_jobs(store) if j["id"] == job_id)["last_step"]


def _ls_row(db, capsys) -> dict:
    capsys.readouterr()
    assert main(["--db", str(db), "train", "ls", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _ls_step(db, capsys) -> int:
    return _ls_row(db, capsys)["step"]


def _show(db, job_id: int, capsys) -> str:
    capsys.readouterr()
    assert main(["--db", str(db), "train", "show", str(job_id)]) == 0
    return capsys.readouterr().out


def _shown_steps(db, job_id: int, capsys) -> list[int]:
    """The steps of `mmla train show`'s last events."""
    events = _show(db, job_id, capsys).split("last events:")[1].split("checkpoints:")[0]
    return [int(line.split()[1]) for line in events.splitlines() if line.strip()]


def test_a_resume_from_an_earlier_checkpoint_shows_its_step_then_the_new_ones(
        project, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    job_id = control.launch(project, toy_config())
    early = _stop_after(project, job_id, 3)
    control.resume(project, job_id)
    late = _stop_after(project, job_id, early + 4)
    assert late > early and _last_step(project, job_id) == late == _ls_step(project, capsys)
    with open_store(project) as store:   # as the trainer records its best adapter's dev score
        jobs.update_job(store, job_id, best_step=late, best_eval_accuracy=0.9)

    gate = tmp_path / "go"
    monkeypatch.setenv("FAKE_TRAINER_HOLD", str(gate))
    control.resume(project, job_id, str(early))
    # right after the resume, before its trainer has run a step: every view is at `early`
    assert _last_step(project, job_id) == early == _ls_step(project, capsys)
    assert max(_shown_steps(project, job_id, capsys)) == early
    # the best adapter (adapter/, from step `late`) is kept, and so is its dev accuracy
    assert _ls_row(project, capsys)["best_dev_acc"] == 0.9
    assert "best dev accuracy  0.900" in _show(project, job_id, capsys)
    with open_store(project) as store:
        assert {e["step"] for e in jobs.job_events(store, job_id)} == set(range(1, early + 1))
    wait_until_exists(gate.with_name("go.held"))   # its trainer has started, dropped, waits
    assert _last_step(project, job_id) == early == _ls_step(project, capsys)
    gate.write_text("go\n")
    wait_for_events(project, job_id, early + 2)
    assert _last_step(project, job_id) >= early + 2    # following the run as it goes
    last = _stop_after(project, job_id, early + 4)
    assert _last_step(project, job_id) == last == _ls_step(project, capsys)
    assert max(_shown_steps(project, job_id, capsys)) == last
