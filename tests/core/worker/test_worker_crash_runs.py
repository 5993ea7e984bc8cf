"""A model worker that dies under a probe, a probe set or the model checks leaves no run
claiming to run: every run it had started and not ended is failed with the cause and what a
rerun does, `mmla runs ls` says so, and the next probe of the clip (a fresh worker) works."""

import shutil

import pytest

from mmla_core.cli import main
from mmla_core.store import open_store
from mmla_core.worker.client import WorkerClient
from tests.core.worker.test_worker import ENV, FACTORIES
from tests.support.probe_helpers import first_clip

TIMEOUT = 60
# the fake engine answers prompts one by one (no shared media pass): generation, not scoring
PROBE = {"scenarios": ["aligned", "frames_zeroed"], "settings": {"answer_mode": "generation"}}


@pytest.fixture
def demo(demo_db, tmp_path, monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "project.sqlite"
    shutil.copy(demo_db, path)
    with open_store(path) as store:
        clip = first_clip(store)
    client = WorkerClient(path, **FACTORIES)
    yield path, clip, client
    client.stop()


def runs(path) -> dict[int, dict]:
    with open_store(path) as store:
        return {r["id"]: r for r in store.query("SELECT id, kind, status, error FROM runs")}


def crash_during(client, monkeypatch, after: int, op: str, *args, **kwargs) -> dict:
    """Send `op` to a worker that dies (os._exit(1)) after `after` predictions."""
    monkeypatch.setenv("FAKE_ENGINE_EXIT_AFTER", str(after))  # the spawned worker reads it
    crash = client.wait(getattr(client, op)(*args, model="fake", **kwargs), timeout=TIMEOUT)
    monkeypatch.delenv("FAKE_ENGINE_EXIT_AFTER")
    for thread in client.crash_writes:
        thread.join(10)
    assert crash["type"] == "crashed" and crash["exitcode"] == 1, crash
    return crash


def assert_failed(path, crash: dict, kind: str, rerun: str) -> dict:
    """The crash's runs are failed with its cause and a rerun hint; none is left running."""
    rows = runs(path)
    assert [r for r in rows.values() if r["status"] == "running"] == []
    assert len(crash["run_ids"]) == 1, crash
    failed = rows[crash["run_ids"][0]]
    assert failed["kind"] == kind and failed["status"] == "failed"
    assert "exit code 1" in failed["error"] and rerun in failed["error"]
    assert f"run {failed['id']} is marked failed" in crash["message"] and rerun in crash["message"]
    return rows


def test_a_probe_the_worker_dies_under_is_failed_and_the_clip_probes_again(demo, monkeypatch,
                                                                           capsys):
    path, clip, client = demo
    crash = crash_during(client, monkeypatch, 4, "probe", clip, "MELD", **PROBE)  # of 6 cells
    rows = assert_failed(path, crash, "probe", "probe the clip again")
    run_id = crash["run_ids"][0]
    assert main(["--db", str(path), "runs", "ls"]) == 0
    listed = next(line for line in capsys.readouterr().out.splitlines()
                  if line.split() and line.split()[0] == str(run_id))
    assert "failed" in listed
    final = client.wait(client.probe(clip, "MELD", model="fake", **PROBE), timeout=TIMEOUT)
    assert final["type"] == "finished" and final["status"] == "done"
    assert runs(path)[final["run_id"]]["status"] == "done" and final["run_id"] not in rows


def test_a_probe_set_the_worker_dies_under_keeps_its_finished_probes(demo, monkeypatch):
    path, clip, client = demo
    crash = crash_during(client, monkeypatch, 8, "probe_set", [clip, clip + 1], "MELD",
                         **PROBE)  # the first clip's 6 cells, then 2 of the second's
    rows = assert_failed(path, crash, "probe", "running the missing ones again")
    probes = {r["status"] for r in rows.values() if r["kind"] == "probe"}
    assert probes == {"done", "failed"}  # the first clip's probe stays done


def test_model_checks_the_worker_dies_under_are_failed(demo, monkeypatch):
    path, clip, client = demo
    crash = crash_during(client, monkeypatch, 5, "model_checks", [clip, clip + 1])
    assert_failed(path, crash, "checks", "run the checks again")
