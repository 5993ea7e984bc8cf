"""Job control of training runs with a fake trainer: detached launch, how runs end, stop/resume,
delete, dead supervisors, one run per device."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mmla_core.store import jobs, open_store
from mmla_core.store.results import add_model
from mmla_core.train import control, devices, logfile, processes
from mmla_core.train.config import TrainConfig, TrainConfigError
from tests.support.train_jobs_helpers import project, toy_config, wait_for, wait_for_events

__all__ = ["project"]   # a fixture, used by name


def test_launch_runs_detached_to_done_and_records_the_end(project):
    job_id = control.launch(project, toy_config())
    job = wait_for(project, job_id)
    assert job["status"] == "done" and job["exit_code"] == 0 and job["finished_at"]
    out = Path(job["output_dir"])
    assert out == project.parent / "proj.train" / f"{job_id}-toy_run"
    assert TrainConfig.from_yaml((out / "config.yaml").read_text()).output_dir == str(out)
    log = (out / "train.log").read_text()
    assert f"'--db', '{project}', '--job', '{job_id}'" in log   # the trainer's own arguments
    assert "fake trainer: done at step 3" in job["stderr_tail"]
    with open_store(project) as store:
        assert len(jobs.job_events(store, job_id)) == 4
        assert control.list_jobs(store)[0]["best_eval_accuracy"] == 0.75
        [adapter] = control.trained_adapters(store)
    assert adapter["adapter_path"] == str(out / "adapter") and adapter["tasks"] == ["MIntRec"]
    assert control.checkpoints(job) == [{"step": 3, "path": str(out / "checkpoint-3")}]


def test_sigkilled_trainer_is_a_failed_job_with_exit_code_and_log_tail(project, monkeypatch):
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    job_id = control.launch(project, toy_config())
    wait_for_events(project, job_id, 2)
    out = Path(wait_for(project, job_id, ("running",))["output_dir"])
    trainer_pid, _ = processes.read_pid_files(out)["trainer"]
    os.kill(trainer_pid, signal.SIGKILL)
    job = wait_for(project, job_id)
    assert (job["status"], job["exit_code"]) == ("failed", -9)
    assert "fake trainer: step 2" in job["stderr_tail"]
    assert "signal 9 (SIGKILL)" in job["stderr_tail"]
    assert "killed by signal 9" in job["stderr_tail"]
    assert logfile.oom_advice(job["stderr_tail"]) is None   # a kill -9 is no sign of memory


def test_oom_crash_is_failed_with_advice(project, monkeypatch):
    monkeypatch.setenv("FAKE_TRAINER_MODE", "oom")
    job_id = control.launch(project, toy_config(batch_size=4, frames=8))
    job = wait_for(project, job_id)
    assert (job["status"], job["exit_code"]) == ("failed", 1)
    advice = logfile.oom_advice(job["stderr_tail"], json.loads(job["config_json"]))
    assert "GPU memory" in advice and "Tried to allocate 2.00 GiB" in advice
    assert "batch size 4 -> 2" in advice and "accumulation 1 -> 2" in advice
    assert "frames 8 -> 4" in advice and "max pixels" in advice
    assert "checkpointing" in advice


def test_oom_advice_is_silent_on_other_failures():
    assert logfile.oom_advice("ValueError: no labelled clips in split 'train'") is None
    assert logfile.oom_advice("") is None


def test_run_survives_the_death_of_the_process_that_launched_it(project, monkeypatch):
    monkeypatch.setenv("FAKE_TRAINER_STEPS", "10")
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    script = textwrap.dedent(f"""
        import os, signal, sys, types
        sys.modules["mmla_core.train.preflight"] = types.SimpleNamespace(
            validate=lambda s, c: [])
        from mmla_core.train import control
        from mmla_core.train.config import TrainConfig
        control.SUPERVISOR = "tests.support.fake_supervisor"   # its trainer: the fake one
        job = control.launch({str(project)!r}, TrainConfig(name="orphan", model="m",
                             tasks=["MIntRec"], device="cpu"))
        print(job, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)   # the GUI crashing right after launch
    """)
    launcher = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=60, env=os.environ)
    assert launcher.returncode == -signal.SIGKILL
    job = wait_for(project, int(launcher.stdout.strip()))
    assert (job["status"], job["exit_code"]) == ("done", 0)
    assert "step 10" in job["stderr_tail"]


def test_stop_saves_and_ends_stopped_then_resume_continues(project, monkeypatch):
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    job_id = control.launch(project, toy_config())
    wait_for_events(project, job_id, 1)
    with pytest.raises(control.JobControlError, match="still running"):
        control.resume(project, job_id)
    with open_store(project) as store:
        control.request_stop(store, job_id)
    job = wait_for(project, job_id)
    assert (job["status"], job["exit_code"]) == ("stopped", 0)
    [checkpoint] = control.checkpoints(job)
    control.resume(project, job_id)
    wait_for_events(project, job_id, checkpoint["step"] + 2)
    with open_store(project) as store:
        control.request_stop(store, job_id)
    job = wait_for(project, job_id)
    assert job["status"] == "stopped"
    assert "'--resume', 'latest'" in (Path(job["output_dir"]) / "train.log").read_text()
    monkeypatch.setenv("FAKE_TRAINER_MODE", "quick")
    control.resume(project, job_id, str(checkpoint["step"]))
    assert wait_for(project, job_id)["status"] == "done"
    assert f"'--resume', '{checkpoint['path']}'" in (Path(job["output_dir"]) /
                                                    "train.log").read_text()
    with pytest.raises(control.JobControlError, match="is done: it trained"):
        control.resume(project, job_id)   # nothing left to train (test_train_resume_rule.py)


def test_resume_without_checkpoint_is_refused(project, monkeypatch):
    monkeypatch.setenv("FAKE_TRAINER_MODE", "oom")
    job_id = control.launch(project, toy_config())
    wait_for(project, job_id)
    with pytest.raises(control.JobControlError, match="no checkpoint to resume from"):
        control.resume(project, job_id)
    with pytest.raises(control.JobControlError, match="no checkpoint at step 7"):
        control.resume(project, job_id, "7")


def test_delete_is_refused_while_running_and_removes_the_run_afterwards(project, monkeypatch):
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    job_id = control.launch(project, toy_config())
    wait_for_events(project, job_id, 1)
    with open_store(project) as store:
        with pytest.raises(control.JobControlError, match="stop it before deleting"):
            control.delete(store, job_id)
        out = Path(jobs.get_job(store, job_id)["output_dir"])
        control.request_stop(store, job_id)
        wait_for(project, job_id)
        sibling = out.parent / "keep.txt"
        sibling.write_text("not the run's")
        control.delete(store, job_id)
        assert not out.exists() and sibling.exists()
        assert jobs.get_job(store, job_id) is None and jobs.job_events(store, job_id) == []


def test_delete_of_a_folder_another_launch_made_removes_only_what_a_run_writes(project):
    out = project.parent / "shared_dir"
    job_id = control.launch(project, toy_config(output_dir=str(out)))
    wait_for(project, job_id)
    marker = json.loads((out / ".mmla-job").read_text())
    (out / ".mmla-job").write_text(json.dumps({**marker, "created": False}))  # was there before
    (out / "notes.txt").write_text("mine")
    with open_store(project) as store:
        assert control.delete(store, job_id) is None
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_delete_leaves_a_folder_outside_the_project_with_no_marker_of_it(project):
    out = project.parent / "shared_dir"
    job_id = control.launch(project, toy_config(output_dir=str(out)))
    wait_for(project, job_id)
    (out / ".mmla-job").unlink()                 # nothing says this project made it
    before = sorted(p.name for p in out.iterdir())
    with open_store(project) as store:
        note = control.delete(store, job_id)
        assert jobs.get_job(store, job_id) is None
    assert f"its folder {out} was left" in note and "outside this project's folder" in note
    assert sorted(p.name for p in out.iterdir()) == before


def test_deleting_a_job_in_a_copied_project_leaves_the_originals_run_folder(project, tmp_path):
    job_id = control.launch(project, toy_config())
    out = Path(wait_for(project, job_id)["output_dir"])
    before = sorted(p.name for p in out.rglob("*"))
    copy = tmp_path / "elsewhere" / "proj.sqlite"
    copy.parent.mkdir()
    copy.write_bytes(project.read_bytes())
    with open_store(copy) as store:
        note = control.delete(store, job_id)
        assert jobs.get_job(store, job_id) is None
    assert str(out) in note and str(copy.parent / "proj.train") in note
    assert sorted(p.name for p in out.rglob("*")) == before     # the original's run is whole
    with open_store(project) as store:
        assert jobs.get_job(store, job_id)["output_dir"] == str(out)
        control.delete(store, job_id)           # the original's own delete still removes it
    assert not out.exists()


def test_a_copied_project_neither_resumes_nor_stops_the_originals_run(project, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    job_id = control.launch(project, toy_config())
    wait_for_events(project, job_id, 1)
    copy = tmp_path / "elsewhere" / "proj.sqlite"
    copy.parent.mkdir()
    with open_store(project) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    copy.write_bytes(project.read_bytes())
    out = Path(wait_for(project, job_id, ("running",))["output_dir"])
    with open_store(copy) as store, pytest.raises(control.JobControlError,
                                                  match=f"belongs to the project {project}"):
        control.request_stop(store, job_id)
    assert not (out / "STOP").exists()
    with open_store(project) as store:
        control.request_stop(store, job_id)      # the original's own stop still works
    assert wait_for(project, job_id)["status"] == "stopped"
    with pytest.raises(control.JobControlError, match="cannot be resumed from this project"):
        control.resume(copy, job_id)
    assert wait_for(project, job_id)["status"] == "stopped"


def test_refresh_marks_a_job_whose_processes_are_gone_as_failed(project):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True)
    dead_pid = int(done.stdout)
    out = project.parent / "run"
    out.mkdir()
    (out / "train.log").write_text("step 1\nstep 2 loss 0.5\n")
    with open_store(project) as store:
        job_id = jobs.create_job(store, "ghost", toy_config().to_dict(), str(out))
        jobs.update_job(store, job_id, status="running", pid=dead_pid)
        job = control.refresh(store, job_id)
        assert job["status"] == "failed" and job["finished_at"]
        assert "step 2 loss 0.5" in job["stderr_tail"] and "no process" in job["stderr_tail"]
        # Pid reuse: a live pid (ours) that started at another time is not the job's process.
        own_start = processes.process_start_time(os.getpid())
        (out / "supervisor.pid").write_text(f"{os.getpid()} {own_start + 1}\n")
        jobs.update_job(store, job_id, status="running", finished_at=None)
        assert control.refresh(store, job_id)["status"] == "failed"
        (out / "supervisor.pid").write_text(f"{os.getpid()} {own_start}\n")
        jobs.update_job(store, job_id, status="running")
        assert control.refresh(store, job_id)["status"] == "running"


def test_a_second_run_on_the_same_device_is_refused_naming_the_first(project, monkeypatch):
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    first = control.launch(project, toy_config(name="first"))
    with pytest.raises(control.JobControlError, match=f"training job {first} 'first'"):
        control.launch(project, toy_config(name="second"))
    with open_store(project) as store:
        assert [j["name"] for j in control.list_jobs(store)] == ["first"]
        control.request_stop(store, first)
    wait_for(project, first)
    second = control.launch(project, toy_config(name="second"))
    with open_store(project) as store:
        control.request_stop(store, second)
    wait_for(project, second)


def test_device_names_resolve_to_one_string_per_device():
    assert devices.resolve_device("cuda") == devices.resolve_device("cuda:0") == "cuda:0"
    assert devices.resolve_device("cuda:1") == "cuda:1"
    assert devices.resolve_device("CPU") == "cpu"
    assert devices.resolve_device("auto") in ("cpu", "cuda:0")


def test_launch_refuses_a_config_the_store_cannot_train(project, monkeypatch):
    monkeypatch.setattr(control, "validate",
                        lambda store, config: ["no labelled clips for MIntRec in split 'train'",
                                               "only one class in 'dev'"])
    with pytest.raises(TrainConfigError) as caught:
        control.launch(project, toy_config())
    assert caught.value.problems[1] == "only one class in 'dev'"
    with open_store(project) as store:
        assert control.list_jobs(store) == []


def test_launch_refuses_a_non_empty_output_folder(project):
    out = project.parent / "busy"
    out.mkdir()
    (out / "data.bin").write_bytes(b"x")
    with pytest.raises(control.JobControlError, match="is not empty"):
        control.launch(project, toy_config(output_dir=str(out)))
    with open_store(project) as store:
        assert control.list_jobs(store) == []


def test_log_reading_for_the_gui(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)) + "progress 10%\rprogress 20%\n")
    assert logfile.log_tail(log, 2) == "line 99\nprogress 20%"
    text, offset = logfile.read_log_from(log, 0)
    assert text.startswith("line 0\n")
    with open(log, "a") as f:
        f.write("new line\npartial")
    assert logfile.read_log_from(log, offset) == ("new line\n", offset + 9)



def test_deleting_a_run_never_removes_a_later_runs_folder_inside_it(project, tmp_path):
    outer = tmp_path / "runs"
    first = control.launch(project, toy_config(output_dir=str(outer)))
    wait_for(project, first)
    with pytest.raises(control.JobControlError, match=f"training job {first} "):
        control.launch(project, toy_config(output_dir=str(outer / "job2")))
    # A folder made by hand inside it (as an older version allowed) survives the delete too.
    inner = outer / "job2"
    inner.mkdir()
    with open_store(project) as store:
        second = jobs.create_job(store, "inner", toy_config().to_dict(), str(inner))
        (inner / "adapter_model.safetensors").write_bytes(b"weights")
        jobs.update_job(store, second, status="done")
        control.delete(store, first)
    assert (inner / "adapter_model.safetensors").read_bytes() == b"weights"
    assert sorted(p.name for p in outer.iterdir()) == ["job2"]


def test_a_new_folder_may_not_hold_another_runs_folder(project, tmp_path):
    first = control.launch(project, toy_config(output_dir=str(tmp_path / "a" / "b")))
    wait_for(project, first)
    with pytest.raises(control.JobControlError, match=f"holds the folder of training job {first}"):
        control.launch(project, toy_config(output_dir=str(tmp_path / "a")))


def test_a_folder_the_user_picked_keeps_what_the_run_did_not_write(project, tmp_path):
    picked = tmp_path / "picked"
    picked.mkdir()        # existed (empty) before the launch: not the app's to remove
    job_id = control.launch(project, toy_config(output_dir=str(picked)))
    wait_for(project, job_id)
    (picked / "notes.txt").write_text("mine")
    with open_store(project) as store:
        control.delete(store, job_id)
    assert sorted(p.name for p in picked.iterdir()) == ["notes.txt"]


def test_a_forced_stop_never_signals_a_pid_it_cannot_prove_is_the_runs(project, tmp_path):
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        out = tmp_path / "run"
        out.mkdir()
        with open_store(project) as store:   # a row naming a live pid, but no pid files
            job_id = jobs.create_job(store, "legacy", toy_config().to_dict(), str(out))
            jobs.update_job(store, job_id, status="running", pid=stranger.pid)
            control.request_stop(store, job_id, force=True)
            assert jobs.get_job(store, job_id)["status"] == "stopping"
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_a_launch_whose_supervisor_cannot_start_ends_failed_with_the_reason(project,
                                                                           monkeypatch):
    def no_fork(*args, **kwargs):
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(control.subprocess, "Popen", no_fork)
    with pytest.raises(OSError, match="Resource temporarily"):
        control.launch(project, toy_config())
    with open_store(project) as store:
        [job] = control.list_jobs(store)
    assert job["status"] == "failed"
    assert "could not start the run: OSError: Resource temporarily" in job["stderr_tail"]


def test_the_supervisor_keeps_a_done_runs_test_evaluation_failure(project, tmp_path):
    from mmla_core.train import supervise

    out = tmp_path / "run"
    out.mkdir()
    (out / "train.log").write_text("done at step 2\n")
    with open_store(project) as store:
        job_id = jobs.create_job(store, "t", toy_config().to_dict(), str(out))
        jobs.update_job(store, job_id, status="done",
                        stderr_tail="test evaluation failed: RuntimeError: no memory")
        supervise._record_end(store, job_id, 0, None)
        job = jobs.get_job(store, job_id)
    assert (job["status"], job["exit_code"]) == ("done", 0)
    assert job["stderr_tail"] == "test evaluation failed: RuntimeError: no memory"


def test_the_supervisor_runs_the_real_trainer_whatever_the_environment(monkeypatch, tmp_path):
    """No test seam in the product: the old MMLA_TRAINER_CMD hook is gone, the trainer is
    `python -m mmla_core.train` with the run's arguments, and a launch starts the real
    supervisor unless a test points `control.SUPERVISOR` at its stand-in."""
    from mmla_core.train import supervise

    monkeypatch.setenv("MMLA_TRAINER_CMD", "/bin/false")
    assert supervise.trainer_command(tmp_path / "config.yaml", tmp_path / "p.sqlite", 3,
                                     "latest") == [
        sys.executable, "-m", "mmla_core.train", str(tmp_path / "config.yaml"),
        "--db", str(tmp_path / "p.sqlite"), "--job", "3", "--resume", "latest"]
    assert control.SUPERVISOR == "mmla_core.train.supervise"


def test_launch_records_the_registered_name_a_model_prefix_stood_for(project):
    """training.md: the job's config.yaml is what resume and export-config read. `--model tiny`
    was kept as `tiny`, which stops naming one model (the resume and the exported config fail
    as ambiguous) once another `tiny-*` model is registered."""
    with open_store(project) as store:
        add_model(store, "tiny-qwen2_5_omni", "qwen2_5_omni", str(project.parent / "m"))
    job_id = control.launch(project, toy_config(model="tiny"))
    job = wait_for(project, job_id)
    assert json.loads(job["config_json"])["model"] == "tiny-qwen2_5_omni"
    saved = TrainConfig.from_yaml((Path(job["output_dir"]) / "config.yaml").read_text())
    assert saved.model == "tiny-qwen2_5_omni" and saved.name == "toy run"
    folder = project.parent / "tiny"   # a folder is not a prefix: it stays as given
    folder.mkdir()
    other = wait_for(project, control.launch(project, toy_config(model=str(folder))))
    assert json.loads(other["config_json"])["model"] == str(folder)
