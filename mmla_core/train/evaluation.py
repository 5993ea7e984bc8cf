"""After training: the adapter evaluated on the test split by the evaluation runs of `eval.runs`.

One run per (task, dataset) (IT: every task of the mix; alignment: the visual- and the
audio-focused question over MMA-Bench's scenarios), each a normal `runs` row with predictions, so
the results view lines it up against the zero-shot runs. Its settings name the adapter (as every
run does) plus `training_job_id` and `training` (mode, config name, output folder, the frame
rule), which is how the results view tells zero-shot, SFT and IT apart.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import partial
from pathlib import Path

from mmla_core.eval.runs import run_evaluation
from mmla_core.models.registered import resolve_model
from mmla_core.store.db import open_store
from mmla_core.store.jobs import job_created_at
from mmla_core.store.results import get_run, original_clip_score, update_run
from mmla_core.train.config import TrainConfig
from mmla_core.train.data import base_settings, training_clip_input
from mmla_core.train.samples import effective_modality, labelled_clips, resolve_tasks

__all__ = ["evaluate_after_training", "test_plan"]


def test_plan(store, config: TrainConfig) -> list[dict]:
    """[{task, dataset id, prompt_kind, template, variants}] for the runs to make (MMLA kinds)."""
    _, family, _ = resolve_model(store, config.model)
    modality = effective_modality(config, family)
    variants: str | None
    if config.mode == "alignment":
        kinds = [("visual_focused", None), ("audio_focused", None)]
        variants = "mmabench"
    else:
        kinds = [("text_sft" if modality == "text" else "sft", None)]
        variants = "mmabench" if config.eval_on_variants else None
    plan = []
    for task_id, task in resolve_tasks(store, config.tasks):
        datasets = sorted({row["dataset_id"] for row, _ in
                           labelled_clips(store, config, task_id, config.test_split)})
        plan += [{"task": task.name, "dataset": dataset, "prompt_kind": kind,
                  "template": template, "variants": variants, "modality": modality}
                 for dataset in datasets for kind, template in kinds]
    return plan


def evaluate_after_training(config: TrainConfig, db_path, job_id: int | None, adapter: Path,
                            device: str | None) -> tuple[list[int], dict[int, float | None]]:
    """Run the test evaluations; (run ids, {run id: accuracy on the clips themselves, None
    when none of them was scored})."""
    with open_store(db_path) as store:
        plan = test_plan(store, config)
    run_ids: list[int] = []
    accuracy: dict[int, float | None] = {}
    for item in plan:
        settings = {**asdict(base_settings(config, item["modality"])),
                    "prompt_kind": item["prompt_kind"], "template": item["template"]}
        run_id = run_evaluation(
            db_path, model=config.model, task=item["task"], dataset=item["dataset"],
            split=config.test_split, settings=settings, variants=item["variants"],
            adapter=str(adapter), device=device, batch_size=config.batch_size,
            selection=config.selection().to_dict(),
            name=f"{config.name} ({config.mode}, job {job_id if job_id is not None else '-'})",
            input_factory=partial(training_clip_input, fps=config.fps))
        with open_store(db_path) as store:
            _tag_run(store, run_id, config, job_id, adapter)
            accuracy[run_id] = _clip_accuracy(store, run_id)
        run_ids.append(run_id)
    return run_ids, accuracy


def _tag_run(store, run_id: int, config: TrainConfig, job_id: int | None, adapter: Path) -> None:
    run = get_run(store, run_id)
    if run is None:
        raise ValueError(f"test run {run_id} is not in the project (deleted while it ran?)")
    settings = json.loads(run["settings_json"] or "{}")
    settings["training_job_id"] = job_id
    created = None if job_id is None else job_created_at(store, job_id)
    # job_created_at + output_dir tell this job from a later one that reused its id
    settings["training"] = {"mode": config.mode, "name": config.name, "tasks": config.tasks,
                            "job_created_at": created,
                            "output_dir": str(adapter.parent), "adapter": str(adapter),
                            "frame_rule": f"min({config.frames}, ceil(duration x {config.fps}"
                                          " fps)), at least 2"}
    update_run(store, run_id, settings=settings)


def _clip_accuracy(store, run_id: int) -> float | None:
    scored, correct = original_clip_score(store, run_id)
    return correct / scored if scored else None
