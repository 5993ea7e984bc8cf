"""MMA-Bench's four alignment checks answered by a model (seeds_systems.md 2.2).

Per clip the clip is decoded once and each check runs as one label-scoring prediction with prompt
kind `check:<key>`: the engine shows the check's view (audio muted, frames black, or the full
clip) and scores "Yes" against "No". The answer lands in `check_answers` with source "model",
annotator `model:<model name>`, confidence = P(answer) and the prediction's id; it is a layer of
its own (one row per clip, check and annotator), so a curator's answer (another annotator) is
never overwritten, and the checks panel offers the model's answers to accept or override.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

from mmla_core.checks import MMA_CHECKS
from mmla_core.eval.recorder import (
    RunRecorder,
    engine_columns,
    error_text,
    result_columns,
)
from mmla_core.eval.run_plan import describe_failure, engine_info_dict
from mmla_core.models.inputs import InferenceSettings, clip_input_from_store
from mmla_core.prompts import template_hash
from mmla_core.store.catalog import clip_dataset_id
from mmla_core.store.db import Store
from mmla_core.store.labels import set_check_answer
from mmla_core.store.results import sample_key
from mmla_core.tasks import Task

__all__ = ["MODEL_ANNOTATOR_PREFIX", "model_annotator", "run_model_checks"]

MODEL_ANNOTATOR_PREFIX = "model:"


def model_annotator(model_name: str) -> str:
    return f"{MODEL_ANNOTATOR_PREFIX}{model_name}"


def run_model_checks(store: Store, engine, clip_ids, *, settings: InferenceSettings | None = None,
                     checks=MMA_CHECKS, progress: Callable[[int, int], None] | None = None,
                     cancel=None, name: str = "") -> int:
    """Answer the checks for each clip; returns the run id (kind "checks").

    `progress(done, total)` after each clip; `cancel` (Event or callable) is checked between
    clips. A clip whose input or model fails is recorded as an error row and skipped.
    """
    settings = settings or InferenceSettings()
    clip_ids = [int(c) for c in clip_ids]
    recorder = RunRecorder.for_engine(store, engine)
    annotator = model_annotator(recorder.model_name)
    dataset_id = clip_dataset_id(store, clip_ids[0]) if clip_ids else None
    recorder.start("checks", name=name, dataset_id=dataset_id,
                   total=len(clip_ids) * len(checks), settings={
                       "checks": [c.key for c in checks], "clip_ids": clip_ids,
                       "annotator": annotator, "inference": dict(vars(settings)),
                       "engine": engine_info_dict(engine.info)})
    status = "done"
    with recorder.failing_on_exception():
        for done, clip_id in enumerate(clip_ids, 1):
            if recorder.cancelled(cancel):
                status = "cancelled"
                break
            try:
                clip = clip_input_from_store(store, clip_id, settings)
            except Exception as exc:  # a broken clip: record it and go on
                _error_rows(recorder, clip_id, checks, settings, describe_failure(exc))
            else:
                for check in checks:
                    _answer(recorder, engine, clip, check, settings, annotator)
            if progress is not None:
                progress(done, len(clip_ids))
    recorder.finish(status)
    return recorder.run_id


def _answer(recorder: RunRecorder, engine, clip, check, settings, annotator) -> None:
    kind = f"check:{check.key}"
    task = Task("check", "check", ("yes", "no"))  # the check plan supplies the labels
    result = engine.predict(clip, task, replace(settings, prompt_kind=kind))
    answer = result.parsed_label
    key = sample_key(clip.clip_id, None, kind, None)
    columns = {**result_columns(result), "prompt_kind": kind}
    recorder.write([recorder.row(
        clip_id=clip.clip_id, task_id=None, **engine_columns(engine.info), **columns,
        recipe_json=json.dumps({"view": check.shown}), sample_key=key, variant=None)])
    set_check_answer(recorder.store, clip.clip_id, check.key, answer, annotator,
                     source="model", confidence=float(result.scores[answer]),
                     prediction_id=recorder.prediction_id(key))


def _error_rows(recorder: RunRecorder, clip_id, checks, settings, message: str) -> None:
    recorder.write([recorder.row(
        clip_id=clip_id, task_id=None, prompt_template=c.model_prompt,
        prompt_hash=template_hash(c.model_prompt), prompt_kind=f"check:{c.key}",
        answer_mode=settings.answer_mode,
        sample_key=sample_key(clip_id, None, f"check:{c.key}", None),
        error=error_text(f"input: {message}")) for c in checks])
