"""Model-assisted alignment checks: a model layer of its own, never over a human answer."""

import json

from mmla_core.checks import MMA_KEYS
from mmla_core.models.inputs import InferenceSettings
from mmla_core.probe.model_checks import run_model_checks
from mmla_core.store.checks import accept_model_answers, answer_check, clip_check_state
from mmla_core.store.labels import check_answers
from tests.support import models_fixtures
from tests.support.probe_helpers import demo_copy, first_clip

omni_dir = models_fixtures.omni_dir
omni_engine = models_fixtures.omni_engine
models_demo_db = models_fixtures.models_demo_db

SMALL = InferenceSettings(max_pixels=models_fixtures.SMALL_PIXELS)


def test_model_checks_land_as_a_separate_layer(models_demo_db, tmp_path, omni_engine):
    store = demo_copy(models_demo_db, tmp_path)
    try:
        clip = first_clip(store)
        answer_check(store, clip, "visual_only", "no", "alice")
        human_before = [r for r in check_answers(store, clip) if r["source"] == "human"]
        done = []
        run_id = run_model_checks(store, omni_engine, [clip, clip + 1], settings=SMALL,
                                  progress=lambda d, t: done.append((d, t)))
        assert done == [(1, 2), (2, 2)]
        rows = check_answers(store, clip)
        assert [r for r in rows if r["source"] == "human"] == human_before  # untouched
        model = {r["check_key"]: r for r in rows if r["source"] == "model"}
        assert set(model) == set(MMA_KEYS)
        for key, row in model.items():
            assert row["annotator"].startswith("model:")
            assert row["answer"] in ("yes", "no") and 0.5 <= row["confidence"] <= 1.0
            pred = store.query("SELECT * FROM predictions WHERE id = ?",
                               (row["prediction_id"],))[0]
            assert pred["run_id"] == run_id and pred["prompt_kind"] == f"check:{key}"
            assert pred["parsed_label"] == row["answer"]
            assert json.loads(pred["scores_json"])[row["answer"]] == row["confidence"]
        views = {r["prompt_kind"]: json.loads(r["recipe_json"])["view"] for r in store.query(
            "SELECT * FROM predictions WHERE run_id = ? AND clip_id = ?", (run_id, clip))}
        assert views == {"check:visual_only": "muted", "check:audio_only": "black_frames",
                         "check:full_visual": "full", "check:full_audio": "full"}
        assert store.scalar("SELECT kind FROM runs WHERE id = ?", (run_id,)) == "checks"
        # the curator sees them pre-filled; accepting copies only the checks left open
        state = clip_check_state(store, clip, "alice")
        assert state.mine == {"visual_only": "no"} and set(state.model) == set(MMA_KEYS)
        copied = accept_model_answers(store, clip, "alice")
        assert "visual_only" not in copied and set(copied) == set(MMA_KEYS) - {"visual_only"}
        assert clip_check_state(store, clip, "alice").mine["visual_only"] == "no"
        # a second pass updates the model layer, still leaving the human answers alone
        run_model_checks(store, omni_engine, [clip], settings=SMALL)
        assert len([r for r in check_answers(store, clip) if r["source"] == "model"]) == 4
        assert clip_check_state(store, clip, "alice").mine["visual_only"] == "no"
    finally:
        store.close()
