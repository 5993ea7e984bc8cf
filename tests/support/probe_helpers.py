"""Shared bits of the probe tests: a private copy of the demo project per test."""

from __future__ import annotations

import shutil


def demo_copy(models_demo_db, tmp_path):
    from mmla_core.store import open_store

    path = tmp_path / "project.sqlite"
    shutil.copy(models_demo_db, path)
    return open_store(path)


def first_clip(store) -> int:
    return int(store.scalar(
        "SELECT c.id FROM clips c JOIN datasets d ON d.id = c.dataset_id "
        "WHERE d.name = 'demo' AND c.parent_clip_id IS NULL ORDER BY c.id"))


def write_probe(db_path, clip_id: int, answers: dict, *, adapter=None, attention=None) -> int:
    """A finished MELD probe of `clip_id` written as the worker would, without a model:
    `answers[scenario]` = (P(joy), P(surprise)), the aligned answer for scenarios not given."""
    from mmla_core.probe.matrix import DEFAULT_PROMPTS, DEFAULT_SCENARIOS
    from mmla_core.store import open_store
    from mmla_core.store.results import add_model, start_run, upsert_eval_predictions

    with open_store(db_path) as store:
        model_id = add_model(store, "tiny-qwen2_5_omni", "qwen2_5_omni", "/models/tiny")
        task_id = store.scalar("SELECT id FROM tasks WHERE name = 'MELD'")
        settings = {"probe": {"clip_id": clip_id, "task": "MELD", "gold": "surprise",
                              "scenarios": list(DEFAULT_SCENARIOS),
                              "prompts": list(DEFAULT_PROMPTS)},
                    "attention": attention or {}}
        run_id = start_run(store, "probe", settings=settings, model_id=model_id,
                           task_id=task_id, status="done")
        rows = []
        for scenario in DEFAULT_SCENARIOS:
            joy, surprise = answers.get(scenario, answers["aligned"])
            scores = {"neutral": round(1 - joy - surprise, 6), "joy": joy, "surprise": surprise}
            predicted = max(scores, key=scores.get)
            rows += [{"run_id": run_id, "clip_id": clip_id, "task_id": task_id,
                      "model_id": model_id, "prompt_template": "t", "prompt_hash": "h",
                      "prompt_kind": prompt, "variant": scenario, "scores_json": scores,
                      "parsed_label": predicted, "gold_label": "surprise",
                      "adapter_path": adapter, "sample_key": f"{scenario}|{prompt}"}
                     for prompt in DEFAULT_PROMPTS]
        upsert_eval_predictions(store, rows)
    return run_id
