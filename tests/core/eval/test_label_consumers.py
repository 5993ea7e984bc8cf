"""Training samples, evaluation gold and their records follow the label policy and verdicts."""

from __future__ import annotations

import json

import pytest

from mmla_core.eval.run_plan import EvalError
from mmla_core.eval.runs import run_evaluation
from mmla_core.store import open_store
from mmla_core.store.catalog import clip_ids_by_key, find_dataset, task_by_name
from mmla_core.store.labels import set_label
from mmla_core.store.results import get_run, run_predictions
from mmla_core.store.review import mark_reviewed
from mmla_core.train.config import TrainConfig, TrainConfigError
from mmla_core.train.samples import build_samples, labels_record
from tests.support import models_fixtures
from tests.support.fake_engine import clip_input, load, reset_counter
from tests.support.train_fixtures import TOY_TASK, toy_config, toy_db, toy_project

text_dir = models_fixtures.text_dir
__all__ = ["toy_db", "toy_project"]


def curate(path):
    """train-00 relabelled by a person (imported: sincere), train-01 rejected; their ids."""
    with open_store(path) as store:
        ids = clip_ids_by_key(store, int(find_dataset(store, "toy")["id"]))
        task_id = task_by_name(store, TOY_TASK)[0]
        relabelled, rejected = ids[("train", "train-00")], ids[("train", "train-01")]
        set_label(store, relabelled, task_id, "sarcastic", "ana")
        mark_reviewed(store, rejected, "ana", "reject")
        test_clip = ids[("test", "test-00")]
        set_label(store, test_clip, task_id, "sarcastic", "ana")
        mark_reviewed(store, ids[("test", "test-01")], "ana", "reject")
    return relabelled, rejected, test_clip


def test_training_samples_use_the_curated_label_and_leave_rejected_out(toy_project, text_dir):
    relabelled, rejected, _ = curate(toy_project)
    with open_store(toy_project) as store:
        config = toy_config(text_dir)
        samples = {s.clip_id: s.label for s in build_samples(store, config, "train")}
        assert samples[relabelled] == "sarcastic" and rejected not in samples
        record = labels_record(store, config)
        assert record["source"] == "curated" and record["counts"]["person"] == 2
        assert record["counts"]["import"] == 24 - 2 - 2 and record["left_out"]["rejected"] == 2
        imported = toy_config(text_dir, labels="import", include_rejected=True)
        samples = {s.clip_id: s.label for s in build_samples(store, imported, "train")}
        assert samples[relabelled] == "sincere" and rejected in samples
        assert labels_record(store, imported)["left_out"] == {"rejected": 0, "not_accepted": 0}
    with pytest.raises(TrainConfigError, match="unknown label source"):
        TrainConfig.from_dict({"name": "x", "model": "m", "tasks": ["MELD"], "labels": "best"})


def test_evaluation_gold_follows_the_selection_and_is_recorded(toy_project):
    *_, test_clip = curate(toy_project)
    reset_counter()
    args = {"model": str(toy_project.parent / "model"), "task": TOY_TASK, "dataset": "toy",
            "split": "test", "settings": {"num_frames": 2}, "engine_factory": load,
            "input_factory": clip_input}
    run_id = run_evaluation(toy_project, **args)
    with open_store(toy_project) as store:
        gold = {p["clip_id"]: p["gold_label"] for p in run_predictions(store, run_id)}
        settings = json.loads(get_run(store, run_id)["settings_json"])
    assert gold[test_clip] == "sarcastic" and len(gold) == 7  # test-01 rejected: left out
    assert settings["labels"]["counts"] == {"adjudicated": 0, "person": 1, "import": 6,
                                            "unresolved": 0}
    assert settings["labels"]["left_out"]["rejected"] == 1
    assert settings["selection"] == {"labels": "curated", "include_rejected": False,
                                     "only_accepted": False}
    run_id = run_evaluation(toy_project, **args, selection={"labels": "import",
                                                            "include_rejected": True})
    with open_store(toy_project) as store:
        gold = {p["clip_id"]: p["gold_label"] for p in run_predictions(store, run_id)}
    assert gold[test_clip] == "sincere" and len(gold) == 8
    with pytest.raises(EvalError, match="unknown label source"):
        run_evaluation(toy_project, **args, selection={"labels": "nobody"})
    with pytest.raises(EvalError, match="nothing to evaluate"):
        run_evaluation(toy_project, **args, selection={"only_accepted": True})
