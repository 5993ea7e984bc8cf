"""The one model-run lifecycle (eval/recorder.py), the cancel token and the worker's event
shapes, on a bare project: no model, no media."""

import threading

import pytest

from mmla_core.cancel import is_cancelled
from mmla_core.eval.recorder import RunRecorder, error_text, exception_text
from mmla_core.store import open_store
from mmla_core.store.results import get_run, sample_key
from mmla_core.worker.events import finished, is_final, make_event
from tests.support.eval_project import make_project
from tests.support.fake_engine import FakeInfo


@pytest.fixture
def store(tmp_path):
    make_project(tmp_path / "p.sqlite")
    with open_store(tmp_path / "p.sqlite") as opened:
        yield opened


def info(path: str, name: str = "tiny") -> FakeInfo:
    return FakeInfo(name, "qwen2_5_omni", path, f"hash:{path}")


def test_a_model_is_registered_once_per_path_and_a_taken_name_is_not_reused(store):
    first = RunRecorder(store)
    model_id = first.register(info("/m/a"))
    assert RunRecorder(store).register(info("/m/a", name="renamed")) == model_id
    other = RunRecorder(store)
    other_id = other.register(info("/m/b"))   # same name "tiny", another folder
    assert other_id != model_id and other.model_name == "tiny-2"
    assert first.model_name == "tiny"


def test_a_run_is_started_written_and_finished(store):
    recorder = RunRecorder(store)
    recorder.register(info("/m/a"))
    run_id = recorder.start("probe", settings={"probe": {"clip_id": 1}}, total=1)
    run = get_run(store, run_id)
    assert (run["kind"], run["status"], run["model_id"]) == ("probe", "running",
                                                              recorder.model_id)
    clip = int(store.scalar("SELECT min(id) FROM clips"))
    key = sample_key(clip, None, "zero_shot", None)
    for answer in ("joy", "anger"):   # the same sample twice: one row, the latest answer
        recorder.write([recorder.row(clip_id=clip, task_id=None, prompt_template="t",
                                     prompt_hash="h", prompt_kind="zero_shot", sample_key=key,
                                     parsed_label=answer)])
    pid = recorder.prediction_id(key)
    rows = store.query("SELECT id, parsed_label FROM predictions WHERE run_id = ?", (run_id,))
    assert [(r["id"], r["parsed_label"]) for r in rows] == [(pid, "anger")]
    recorder.finish("cancelled")
    assert get_run(store, run_id)["status"] == "cancelled"


def test_an_exception_inside_fails_the_run_and_goes_on_up(store):
    recorder = RunRecorder(store)
    recorder.register(info("/m/a"))
    run_id = recorder.start("checks", settings={})
    with pytest.raises(ValueError, match="boom"), recorder.failing_on_exception():
        raise ValueError("boom")
    run = get_run(store, run_id)
    assert (run["status"], run["error"]) == ("failed", "ValueError: boom")
    assert exception_text(RuntimeError("x" * 3000)) == ("RuntimeError: " + "x" * 3000)[:2000]
    assert error_text("y" * 2500) == "y" * 2000


def test_ctrl_c_inside_cancels_the_run_keeping_what_was_written(store):
    """`mmla probe` interrupted after 9 of 18 cells said "failed: KeyboardInterrupt: " (its
    finished cells are kept, like an interrupted evaluation's, which says "cancelled")."""
    recorder = RunRecorder(store)
    recorder.register(info("/m/a"))
    run_id = recorder.start("probe", settings={}, total=18)
    with pytest.raises(KeyboardInterrupt), recorder.failing_on_exception():
        raise KeyboardInterrupt
    run = get_run(store, run_id)
    assert (run["status"], run["error"]) == ("cancelled", "interrupted after 0 of 18 cells")


def test_a_rank_ends_its_part_of_a_shared_run(store):
    recorder = RunRecorder(store)
    recorder.register(info("/m/a"))
    alone = recorder.start("eval", settings={}, total=3)
    assert recorder.finish_rank("done", "", total=3) == (
        "failed", "only 0 of 3 samples were written")
    assert get_run(store, alone)["status"] == "failed"
    shared = recorder.start("eval", settings={}, total=3)
    assert recorder.finish_rank("done", "", rank=1, world_size=2, total=3) == ("done", "")
    assert get_run(store, shared)["status"] == "running"   # the other rank still writes
    recorder.finish_rank("cancelled", "cancelled after 1 of 2 samples", rank=1, world_size=2)
    assert get_run(store, shared)["error"] == "rank 1: cancelled after 1 of 2 samples"


def test_the_cancel_token_is_an_event_a_callable_or_nothing():
    event = threading.Event()
    assert not is_cancelled(event) and not is_cancelled(None)
    event.set()
    assert is_cancelled(event) and is_cancelled(lambda: True)
    assert not is_cancelled(lambda: False)


def test_which_worker_events_end_a_request():
    assert is_final(finished(3, 7, "done"), 3)
    assert not is_final(finished(3, 7, "done"), 4)       # another request's end
    assert not is_final(make_event("progress", 3, done=1, total=2), 3)
    assert is_final({"type": "crashed", "requests": [3]}, 4)  # a crash ends them all
    assert finished(3, None, "done") == {"type": "finished", "request": 3, "run_id": None,
                                         "status": "done", "error": None}
