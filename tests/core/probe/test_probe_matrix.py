"""run_probe / load_probe on the tiny Omni model and the demo project."""

import json
import threading

import pytest

from mmla_core.models.inputs import InferenceSettings
from mmla_core.probe import DEFAULT_PROMPTS, DEFAULT_SCENARIOS, load_probe, run_probe
from mmla_core.store.labels import gold_label
from tests.support import models_fixtures
from tests.support.probe_helpers import demo_copy, first_clip

omni_dir = models_fixtures.omni_dir
omni_engine = models_fixtures.omni_engine
models_demo_db = models_fixtures.models_demo_db

SMALL = InferenceSettings(max_pixels=models_fixtures.SMALL_PIXELS)


@pytest.fixture
def store(models_demo_db, tmp_path):
    s = demo_copy(models_demo_db, tmp_path)
    yield s
    s.close()


def test_full_probe_fills_the_matrix_streams_and_reopens_exactly(store, omni_engine):
    clip = first_clip(store)
    streamed = []
    result = run_probe(store, omni_engine, clip, "MIntRec", settings=SMALL,
                       progress=streamed.append)
    assert result.status == "done"
    assert len(result.cells) == len(DEFAULT_SCENARIOS) * len(DEFAULT_PROMPTS) == 18
    assert streamed == result.cells
    task_id = store.scalar("SELECT id FROM tasks WHERE name = 'MIntRec'")
    assert result.gold == gold_label(store, clip, task_id) is not None
    for row in result.matrix():
        assert all(cell is not None for cell in row)
    for cell in result.cells:
        assert len(cell.scores) == 20
        assert sum(cell.scores.values()) == pytest.approx(1.0)
        assert cell.predicted == max(cell.scores, key=cell.scores.get)
        assert cell.correct == (cell.predicted == cell.gold)
    # every cell is a prediction row of one probe run, with its scenario and prompt kind
    run = store.query("SELECT * FROM runs WHERE id = ?", (result.run_id,))[0]
    assert run["kind"] == "probe" and run["status"] == "done"
    meta = json.loads(run["settings_json"])["probe"]
    assert meta["clip_id"] == clip and meta["scenarios"] == list(DEFAULT_SCENARIOS)
    rows = store.query("SELECT * FROM predictions WHERE run_id = ?", (result.run_id,))
    assert {(r["variant"], r["prompt_kind"]) for r in rows} == \
        {(s, p) for s in DEFAULT_SCENARIOS for p in DEFAULT_PROMPTS}
    for r in rows:
        assert r["weights_hash"] and r["prompt_hash"] and r["prompt_template"]
        assert (r["recipe_json"] is None) == (r["variant"] == "aligned")
    assert load_probe(store, result.run_id) == result


def test_audio_question_under_audio_swap_is_judged_against_the_donor(store, omni_engine):
    clip = first_clip(store)
    result = run_probe(store, omni_engine, clip, "MIntRec", settings=SMALL,
                       scenarios=("aligned", "audio_swap"),
                       prompts=("visual_focused", "audio_focused"))
    row = store.query("SELECT recipe_json FROM predictions WHERE run_id = ? AND variant = "
                      "'audio_swap' AND prompt_kind = 'audio_focused'", (result.run_id,))[0]
    donor = json.loads(row["recipe_json"])["donor_clip_id"]
    task_id = store.scalar("SELECT id FROM tasks WHERE name = 'MIntRec'")
    assert result.cell("audio_swap", "audio_focused").gold == gold_label(store, donor, task_id)
    assert result.cell("audio_swap", "visual_focused").gold == result.gold


def test_cancel_keeps_finished_cells(store, omni_engine):
    # a row's prompts are answered together (one media pass), so cancel acts between rows
    stop = threading.Event()
    result = run_probe(store, omni_engine, first_clip(store), "MIntRec", settings=SMALL,
                       scenarios=("aligned", "frames_zeroed"),
                       progress=lambda cell: stop.set(), cancel=stop)
    assert result.status == "cancelled" and len(result.cells) == 3
    assert {c.scenario for c in result.cells} == {"aligned"}
    again = load_probe(store, result.run_id)
    assert again == result
    assert again.matrix()[1] == [None, None, None]


def test_unknown_scenario_is_refused(store, omni_engine):
    with pytest.raises(ValueError, match="unknown scenarios"):
        run_probe(store, omni_engine, first_clip(store), "MIntRec", scenarios=("nope",))


def test_unknown_prompt_kind_is_refused_before_a_run_exists(store, omni_engine):
    """`mmla probe --prompts nosuch` left a failed probe run behind (0/6 cells)."""
    runs = store.scalar("SELECT count(*) FROM runs")
    for prompts in (("zero_shot", "nosuch"), ("custom",)):
        with pytest.raises(ValueError, match=r"unknown prompt kind 'nosuch'|needs a template"):
            run_probe(store, omni_engine, first_clip(store), "MIntRec", prompts=prompts)
    assert store.scalar("SELECT count(*) FROM runs") == runs
