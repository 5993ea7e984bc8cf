"""The model worker process, for real (spawned), with the fake engine: requests, progress,
cancel, errors, and crashes reported while the caller stays up; a crashed run resumes."""

import json
import os
import signal
import time

import pytest

from mmla_core.eval.run_plan import prepare_job
from mmla_core.eval.runs import run_evaluation
from mmla_core.procs import process_owner
from mmla_core.store import open_store
from mmla_core.store.results import get_run, run_predictions
from mmla_core.worker.client import WorkerClient, crash_message
from tests.support import models_fixtures
from tests.support.eval_project import make_project
from tests.support.fake_engine import FACTORIES as FAKE

FACTORIES = {"engine_factory": FAKE["engine"], "input_factory": FAKE["inputs"]}
ENV = ("FAKE_ENGINE_DELAY", "FAKE_ENGINE_EXIT_AFTER", "FAKE_ENGINE_FAIL_LOAD",
       "FAKE_ENGINE_OOM_AFTER", "FAKE_ENGINE_FAIL_CLIPS", "FAKE_INPUT_FAIL_CLIPS")
TIMEOUT = 60


@pytest.fixture
def project(tmp_path, monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "p.sqlite"
    return path, make_project(path)


@pytest.fixture
def clients():
    made = []

    def make(path):
        client = WorkerClient(path, **FACTORIES)
        made.append(client)
        client.start()
        return client

    yield make
    for client in made:
        client.stop()


def eval_kwargs(path, **kw):
    return {"model": str(path.parent / "model"), "task": "MELD", "dataset": "ds",
            "split": "test", "settings": {"num_frames": 2}, "batch_size": 2, **kw}


def db_rows(path, run_id):
    with open_store(path) as store:
        return run_predictions(store, run_id), get_run(store, run_id)


def test_load_predict_and_evaluate_in_the_worker(project, clients):
    path, clip_ids = project
    client = clients(path)
    loaded = client.wait(client.load(str(path.parent / "model")), timeout=TIMEOUT)
    assert loaded["type"] == "loaded" and loaded["info"]["name"] == "fake-omni"
    assert client.pid != os.getpid() and client.alive
    answer = client.wait(client.predict(clip_ids[0], "MELD", {"num_frames": 2},
                                        model=str(path.parent / "model")), timeout=TIMEOUT)
    assert answer["type"] == "prediction" and answer["result"]["parsed_label"]
    events = []
    final = client.wait(client.evaluate(**eval_kwargs(path)), timeout=TIMEOUT,
                        on_event=events.append)
    assert final["type"] == "finished" and final["status"] == "done"
    progress = [e for e in events if e["type"] == "progress"]
    assert progress[-1]["done"] == progress[-1]["total"] == 9
    assert len(db_rows(path, final["run_id"])[0]) == 9
    assert not client.busy


def test_a_bad_request_is_an_error_event_and_the_worker_goes_on(project, clients):
    path, _ = project
    client = clients(path)
    error = client.wait(client.evaluate(**eval_kwargs(path, task="Nope")), timeout=TIMEOUT)
    assert error["type"] == "error" and "no task 'Nope'" in error["message"]
    final = client.wait(client.evaluate(**eval_kwargs(path)), timeout=TIMEOUT)
    assert final["status"] == "done"


def test_cancel_stops_after_the_current_batch(project, clients, monkeypatch):
    path, _ = project
    monkeypatch.setenv("FAKE_ENGINE_DELAY", "0.05")
    client = clients(path)
    request = client.evaluate(**eval_kwargs(path))

    def on_event(event):
        if event["type"] == "progress" and event["done"] >= 2:
            client.cancel()

    final = client.wait(request, timeout=TIMEOUT, on_event=on_event)
    assert final["status"] == "cancelled"
    assert len(db_rows(path, final["run_id"])[0]) < 9


def test_ctrl_c_in_the_terminal_reaches_the_worker_too_and_only_cancels(project, clients,
                                                                        monkeypatch):
    """A terminal's Ctrl+C goes to the whole process group, the worker included: the worker
    ignores it (its client decides), so `mmla eval` cancels after the batch, with no traceback
    and no "worker exited unexpectedly"."""
    path, _ = project
    monkeypatch.setenv("FAKE_ENGINE_DELAY", "0.05")
    client = clients(path)
    request = client.evaluate(**eval_kwargs(path))

    def on_event(event):
        if event["type"] == "progress" and event["stage"] == "running" and event["done"]:
            os.kill(client.pid, signal.SIGINT)
            client.cancel()

    final = client.wait(request, timeout=TIMEOUT, on_event=on_event)
    assert final["type"] == "finished" and final["status"] == "cancelled"
    assert client.alive and 0 < len(db_rows(path, final["run_id"])[0]) < 9


def test_cancelling_one_request_never_stops_another_on_the_same_worker(project, clients,
                                                                       monkeypatch):
    """Two windows share one worker: the Probe tab's cancel must not stop an evaluation."""
    path, _ = project
    monkeypatch.setenv("FAKE_ENGINE_DELAY", "0.02")
    client = clients(path)
    running = client.evaluate(**eval_kwargs(path))
    queued = client.evaluate(**eval_kwargs(path))
    client.cancel(queued)
    seen = []
    final_queued = client.wait(queued, timeout=TIMEOUT, on_event=seen.append)
    final_running = next(e for e in seen if e["type"] == "finished"
                         and e["request"] == running)
    assert final_running["status"] == "done"
    assert len(db_rows(path, final_running["run_id"])[0]) == 9
    assert final_queued["status"] == "cancelled"


def test_crash_is_reported_and_the_run_resumes_to_the_same_result(project, clients,
                                                                   monkeypatch):
    path, _ = project
    monkeypatch.setenv("FAKE_ENGINE_EXIT_AFTER", "5")  # dies in the third batch of two
    client = clients(path)
    started = time.monotonic()
    crash = client.wait(client.evaluate(**eval_kwargs(path)), timeout=TIMEOUT)
    assert crash["type"] == "crashed" and crash["exitcode"] == 1
    assert "exited unexpectedly (exit code 1)" in crash["message"]
    run_id = crash["run_ids"][0]
    assert f"--resume {run_id}" in crash["message"]
    assert time.monotonic() - started < TIMEOUT and not client.alive
    for thread in client.crash_writes:
        thread.join(10)
    rows, run = db_rows(path, run_id)
    assert run["status"] == "failed" and "exit code 1" in run["error"]
    assert len(rows) == 4  # two batches committed before the crash
    monkeypatch.delenv("FAKE_ENGINE_EXIT_AFTER")
    final = client.wait(client.evaluate(resume=run_id), timeout=TIMEOUT)  # restarts the worker
    assert final["status"] == "done" and final["run_id"] == run_id
    resumed, run = db_rows(path, run_id)
    assert run["error"] is None and len(resumed) == 9
    fresh_id = run_evaluation(path, **eval_kwargs(path), **FACTORIES)
    fresh, _ = db_rows(path, fresh_id)
    key = [(r["clip_id"], r["parsed_label"], r["scores_json"], r["is_correct"]) for r in fresh]
    assert [(r["clip_id"], r["parsed_label"], r["scores_json"], r["is_correct"])
            for r in resumed] == key


def test_killed_worker_says_out_of_memory(project, clients, monkeypatch):
    path, _ = project
    monkeypatch.setenv("FAKE_ENGINE_DELAY", "0.2")
    client = clients(path)
    request = client.evaluate(**eval_kwargs(path))

    def on_event(event):
        if event["type"] == "progress" and event["stage"] == "running" and event["done"]:
            os.kill(client.pid, signal.SIGKILL)

    crash = client.wait(request, timeout=TIMEOUT, on_event=on_event)
    assert crash["type"] == "crashed" and crash["exitcode"] == -signal.SIGKILL
    assert "out of memory" in crash["message"]
    assert client.poll() == []  # reported once


def test_stop_ends_the_process(project, clients):
    path, _ = project
    client = clients(path)
    client.wait(client.load("m"), timeout=TIMEOUT)
    process_pid = client.pid
    client.stop()
    assert not client.alive and client.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(process_pid, 0)


def test_crash_messages_name_the_cause():
    assert "segmentation fault" in crash_message(-signal.SIGSEGV, [])
    assert "SIGTERM" in crash_message(-signal.SIGTERM, [])
    assert "resume" in crash_message(1, [4]) and "--resume 4" in crash_message(1, [4])


# --- end to end: the real engine, a tiny random Qwen2.5-Omni, the demo project ---------------

omni_dir = models_fixtures.omni_dir  # the session's tiny model, shared with the engine tests


def test_tiny_omni_on_the_demo_through_the_worker(omni_dir, demo_db, tmp_path):
    import json
    import shutil

    from mmla_core.eval.compare import run_report
    from mmla_core.models.registry import inspect_model

    path = tmp_path / "p.sqlite"
    shutil.copy(demo_db, path)
    client = WorkerClient(path)  # the real engine and input builder
    try:
        final = client.wait(client.evaluate(
            model=str(omni_dir), task="MELD", dataset="demo", split="test",
            settings={"num_frames": 2, "max_pixels": models_fixtures.SMALL_PIXELS},
            variants="frames_black"), timeout=600)
    finally:
        client.stop()
    assert final["type"] == "finished", final
    assert final["status"] == "done", final["error"]
    rows, run = db_rows(path, final["run_id"])
    assert len(rows) == 6 and not any(r["error"] for r in rows)  # 3 clips x (clip, variant)
    check = inspect_model(omni_dir)
    engine = json.loads(run["settings_json"])["engine"]
    assert engine["random_weights"] is True and engine["family"] == "qwen2_5_omni"
    with open_store(path) as store:
        model = store.query("SELECT * FROM models WHERE id = ?", (run["model_id"],))[0]
        report = run_report(store, final["run_id"])
        labels = set(json.loads(store.scalar("SELECT labels_json FROM tasks WHERE name = "
                                             "'MELD'")))
    assert model["random_weights"] == 1 and model["weights_hash"] == check.weights_hash
    for r in rows:  # DESIGN rule 6: every prediction can be traced and re-run
        assert r["weights_hash"] == check.weights_hash and r["model_id"] == run["model_id"]
        assert r["prompt_template"] and r["prompt_hash"] and r["prompt_kind"] == "zero_shot"
        assert r["num_frames"] == 2 and r["max_pixels"] == models_fixtures.SMALL_PIXELS
        assert r["answer_mode"] == "scoring" and r["seed"] == 0 and r["latency_ms"] > 0
        scores = json.loads(r["scores_json"])
        assert set(scores) == labels and abs(sum(scores.values()) - 1) < 1e-4
        assert r["parsed_label"] in labels and r["raw_output"]
        assert r["is_correct"] == int(r["parsed_label"] == r["gold_label"])
    assert all(r["audio_on"] == 1 for r in rows)  # the Omni model heard each clip's audio
    variant = next(r for r in rows if r["variant"] == "frames_black")
    assert json.loads(variant["recipe_json"])["steps"][0]["name"] == "frames_black"
    assert report.metrics.n == 3
    assert report.metrics.accuracy == sum(r["is_correct"] for r in rows if not r["variant"]) / 3
    assert [v.variant for v in report.by_variant] == ["original", "frames_black"]


def test_a_crash_write_held_up_until_a_resume_never_fails_the_resumed_run(project, clients,
                                                                          monkeypatch):
    """The client marks the dead worker's run failed from a thread; that write waits behind a
    long database lock, and the user resumes the run meanwhile: the resumed run stays running
    under its new owner, then finishes."""
    path, _ = project
    monkeypatch.setenv("FAKE_ENGINE_EXIT_AFTER", "5")  # dies in the third batch of two
    client = clients(path)
    client.evaluate(**eval_kwargs(path))
    deadline = time.monotonic() + TIMEOUT
    while client.alive and time.monotonic() < deadline:   # dead, not polled: no crash seen yet
        time.sleep(0.02)
    monkeypatch.delenv("FAKE_ENGINE_EXIT_AFTER")
    with open_store(path) as store, store.write():   # the long lock the crash write waits on
        crash = next(e for e in client.poll() if e["type"] == "crashed")
        run_id = crash["run_ids"][0]
        prepare_job(store, {"resume": run_id})   # the resume: running again, this process's
    for thread in client.crash_writes:
        thread.join(TIMEOUT)
    _, run = db_rows(path, run_id)
    assert (run["status"], run["error"]) == ("running", None)
    assert json.loads(run["environment_json"])["owner"] == process_owner()
    assert run_evaluation(path, resume=run_id, **FACTORIES) == run_id
    rows, run = db_rows(path, run_id)
    assert run["status"] == "done" and len(rows) == 9
