"""Evaluation runs and training jobs written straight into a store, for the comparison tests."""

from __future__ import annotations

from mmla_core.store.catalog import clip_ids_by_key
from mmla_core.store.jobs import create_job
from mmla_core.store.results import finish_run, start_run, upsert_eval_predictions
from mmla_core.train.config import TrainConfig

GOLD = ["joy", "anger", "neutral", "joy"]


def add_run(store, answers, task="MELD", adapter=None, settings=None, gold=GOLD) -> int:
    """A finished evaluation run of model 'tiny-omni' on the dataset's first clips (one per
    answer, in id order) answering `answers` against `gold`."""
    model_id = store.scalar("SELECT id FROM models WHERE name = 'tiny-omni'")
    task_id = store.scalar("SELECT id FROM tasks WHERE name = ?", (task,))
    run_id = start_run(store, "eval", model_id=model_id, task_id=task_id, split="test",
                       adapter_path=adapter,
                       dataset_id=store.scalar("SELECT id FROM datasets"),
                       settings={"inference": {"num_frames": 4}, **(settings or {})})
    clips = sorted(clip_ids_by_key(store, store.scalar("SELECT id FROM datasets")).values())
    clips = clips[:len(answers)]
    upsert_eval_predictions(store, [
        {"run_id": run_id, "clip_id": clip, "task_id": task_id, "prompt_template": "t",
         "prompt_hash": "h", "answer_mode": "scoring", "parsed_label": answer,
         "gold_label": gold, "is_correct": int(answer == gold),
         "sample_key": f"{clip}|{task_id}|zero_shot|"}
        for clip, answer, gold in zip(clips, answers, gold, strict=False)])
    finish_run(store, run_id)
    return run_id


def add_job(store, tmp_path, name, tasks, mode, **config) -> tuple[int, str]:
    out = tmp_path / name
    job_id = create_job(store, name, TrainConfig(name=name, model="tiny-omni", tasks=tasks,
                                                 mode=mode, **config).to_dict(), str(out))
    return job_id, str(out / "adapter")
