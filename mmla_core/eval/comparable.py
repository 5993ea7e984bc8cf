"""Comparable comparisons: a fine-tuned run and a zero-shot run are only comparable when they saw
the clips the same way and were judged against the same labels.

- `adapter_settings`: the inference settings an adapter's training used (frames, max pixels,
  prompt form, audio, the label source), taken from the job's own test runs when it has them,
  else from its TrainConfig. Evaluating an adapter defaults to them (CLI `mmla eval --adapter`,
  the Evaluate window).
- `settings_differences`: the fields two runs differ in (`COMPARED`, plus the label source).
- `zero_shot_rerun`: the evaluation that re-runs the zero-shot side with the fine-tuned run's
  settings (no adapter), as `run_evaluation` keyword arguments, and `eval_command` its exact
  `mmla eval` line.

Frames: the trainer samples a clip at `fps`, at most `frames` (train.data.clip_settings); an
evaluation run takes `num_frames` frames (or a rate). The defaults here use `frames`, so a clip
shorter than frames/fps gets more frames than in training: the difference is named in
docs/evaluation.md, not hidden.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from mmla_core.models.registered import resolve_model
from mmla_core.models.registry import FAMILIES
from mmla_core.store.db import Store
from mmla_core.store.jobs import job_test_runs, jobs_with_output_newest_first
from mmla_core.store.results import get_run

COMPARED = ("num_frames", "sample_fps", "max_pixels", "prompt_kind", "template", "audio_on",
            "answer_mode")
LABELS_FIELD = "labels"  # the label source, compared too


def run_settings(run: dict) -> dict:
    """The compared fields of a run row: its inference settings and its label source."""
    settings = json.loads(run.get("settings_json") or "{}")
    inference = settings.get("inference") or {}
    out = {key: inference.get(key) for key in COMPARED}
    labels = settings.get("labels") or {}
    out[LABELS_FIELD] = labels.get("source", "import-first (before label sources)")
    return out


def settings_differences(a: dict, b: dict) -> list[tuple[str, object, object]]:
    """(field, value in a, value in b) for every compared field whose values differ."""
    return [(key, a.get(key), b.get(key)) for key in (*COMPARED, LABELS_FIELD)
            if a.get(key) != b.get(key)]


def run_differences(store: Store, run_a: int, run_b: int) -> list[tuple[str, object, object]]:
    row_a, row_b = get_run(store, run_a), get_run(store, run_b)
    if row_a is None or row_b is None:
        raise ValueError(f"no run {run_a if row_a is None else run_b} in this project")
    return settings_differences(run_settings(row_a), run_settings(row_b))


def describe_differences(diff) -> str:
    """'num_frames 4 vs 8, max_pixels 151200 vs 100352'."""
    return ", ".join(f"{key} {_short(a)} vs {_short(b)}" for key, a, b in diff)


def _short(value) -> str:
    text = "—" if value is None else str(value)
    return text if len(text) <= 24 else text[:23] + "…"


# --- an adapter's training settings ---------------------------------------------------------

def job_for_adapter(store: Store, adapter: str | None) -> dict | None:
    """The training job whose output folder holds `adapter` (its adapter or a checkpoint)."""
    if not adapter:
        return None
    wanted = Path(adapter).resolve()
    for job in jobs_with_output_newest_first(store):
        folder = Path(job["output_dir"]).resolve()
        if wanted == folder or folder in wanted.parents:
            return job
    return None


def adapter_settings(store: Store, adapter: str | None, task: str | None = None) -> dict | None:
    """The inference settings (and label selection) `adapter`'s training used; None when no
    job of this project made it. From the job's test run of `task` when there is one."""
    job = job_for_adapter(store, adapter)
    if job is None:
        return None
    config = json.loads(job["config_json"])
    for run in job_test_runs(store, int(job["id"])):
        if task is None or run["task"] == task:
            settings = json.loads(run["settings_json"] or "{}")
            inference = {k: v for k, v in (settings.get("inference") or {}).items()
                         if k in COMPARED or k == "seed"}
            return {"job_id": int(job["id"]), "inference": inference,
                    "selection": settings.get("selection") or _selection(config)}
    return {"job_id": int(job["id"]), "inference": _config_inference(store, config),
            "selection": _selection(config)}


def _selection(config: dict) -> dict:
    return {"labels": config.get("labels", "curated"),
            "include_rejected": bool(config.get("include_rejected")),
            "only_accepted": bool(config.get("only_accepted"))}


def _config_inference(store: Store, config: dict) -> dict:
    """What the trainer's test runs use (train.evaluation), from the config alone."""
    text = config.get("modality") == "text"
    if not text and config.get("modality") == "auto":
        try:
            _, family, _ = resolve_model(store, config["model"])
            text = not FAMILIES[family].sees_video
        except Exception:  # the model folder is gone: the video form is the usual one
            text = False
    mode = config.get("mode", "sft")
    return {"num_frames": int(config.get("frames", 8)), "sample_fps": None,
            "max_pixels": int(config.get("max_pixels", 128 * 28 * 28)),
            "prompt_kind": ("visual_focused" if mode == "alignment" else
                            "text_sft" if text else "sft"),
            "template": None, "seed": int(config.get("seed", 42))}


# --- re-running the zero-shot side ------------------------------------------------------------

def zero_shot_rerun(store: Store, zero_run: int, tuned_run: int) -> dict:
    """`run_evaluation` kwargs: the zero-shot run's model, task, data and split, with the
    fine-tuned run's inference settings and label selection, no adapter."""
    zero, tuned = get_run(store, zero_run), get_run(store, tuned_run)
    if zero is None or tuned is None:
        raise ValueError(f"no run {zero_run if zero is None else tuned_run} in this project")
    zs, ts = (json.loads(r["settings_json"] or "{}") for r in (zero, tuned))
    inference = dict(zs.get("inference") or {})
    inference.update({k: v for k, v in (ts.get("inference") or {}).items() if k in COMPARED})
    return {"model": zs.get("model") or zero["model_name"], "task": zero["task_name"],
            "dataset": zero["dataset_name"], "split": zero["split"], "settings": inference,
            "selection": ts.get("selection") or {"labels": "curated"},
            "name": f"zero-shot with the settings of run {tuned_run}"}


def eval_command(kwargs: dict, db_path: str | None = None) -> str:
    """The `mmla eval` line for `zero_shot_rerun`'s kwargs (a template needs its file)."""
    s, selection = kwargs["settings"], kwargs.get("selection") or {}
    parts = ["mmla", *(["--db", str(db_path)] if db_path else []), "eval",
             "--model", str(kwargs["model"]), "--task", str(kwargs["task"]),
             "--dataset", str(kwargs["dataset"]), "--split", str(kwargs["split"] or "all")]
    if s.get("sample_fps") is not None:
        parts += ["--fps", str(s["sample_fps"])]
    elif s.get("num_frames") is not None:
        parts += ["--frames", str(s["num_frames"])]
    for flag, key in (("--max-pixels", "max_pixels"), ("--prompt-kind", "prompt_kind"),
                      ("--mode", "answer_mode"), ("--seed", "seed")):
        if s.get(key) is not None:
            parts += [flag, str(s[key])]
    if s.get("audio_on") is False:
        parts.append("--no-audio")
    if s.get("template"):
        parts += ["--template", "TEMPLATE.txt"]
    parts += ["--labels", selection.get("labels") or "curated"]
    parts += ["--include-rejected"] if selection.get("include_rejected") else []
    parts += ["--only-accepted"] if selection.get("only_accepted") else []
    parts += ["--name", kwargs.get("name") or ""]
    return shlex.join(parts)
