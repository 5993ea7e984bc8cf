"""The probe of one clip: every (scenario, prompt) cell answered by label scoring.

The clip is decoded once (`variants.presets.mmabench_in_memory`, only the frames the settings
sample) and the six MMA-Bench scenarios are derived from those arrays in memory; each cell is one
`Engine.predict` on a scenario's arrays with the prompt kind replaced. Every cell is written as
it is answered: one prediction row (DESIGN rule 6) of a run of kind "probe", with `variant` =
the scenario key (also "aligned"), `prompt_kind` = the prompt and a `sample_key`; the run's
settings JSON names the clip, scenarios, prompts, the clip's own gold label and (when captured)
the attention shares, so `load_probe` rebuilds the result exactly.

Gold per cell (what `correct` is judged against), as in MMA-Bench's metric: the clip's label,
except for the audio-focused prompt under `audio_swap`, where the audio is another clip's and the
right answer is the donor clip's label (when it has one for the task).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from mmla_core.models.inputs import InferenceSettings, clip_input_from_arrays
from mmla_core.store.catalog import clip_media_path, get_clip, task_by_name
from mmla_core.store.db import Store
from mmla_core.store.labels import gold_label
from mmla_core.store.results import (
    finish_run,
    get_run,
    sample_key,
    start_run,
    update_run,
    upsert_eval_predictions,
)
from mmla_core.tasks import Task

__all__ = ["DEFAULT_PROMPTS", "DEFAULT_SCENARIOS", "ProbeCell", "ProbeResult", "load_probe",
           "run_probe"]

DEFAULT_SCENARIOS = ("aligned", "audio_swap", "misleading_caption", "long_context",
                     "frames_zeroed", "audio_removed")
DEFAULT_PROMPTS = ("zero_shot", "visual_focused", "audio_focused")


@dataclass
class ProbeCell:
    scenario: str
    prompt: str
    scores: dict[str, float]          # probability per label (label order of the task)
    predicted: str
    gold: str | None                  # what `correct` is judged against (see module doc)
    correct: bool | None
    latency_ms: float | None = None
    prediction_id: int | None = None
    attention: list[list[float]] | None = None  # per layer [video, audio, text] shares

    def p(self, label: str | None) -> float | None:
        return None if label is None else self.scores.get(label)

    @property
    def p_gold(self) -> float | None:
        return self.p(self.gold)

    @property
    def p_predicted(self) -> float:
        return self.scores[self.predicted]


@dataclass
class ProbeResult:
    run_id: int
    clip_id: int
    task: str
    task_id: int | None
    model: str
    scenarios: tuple[str, ...]
    prompts: tuple[str, ...]
    gold: str | None                  # the clip's own label for the task
    cells: list[ProbeCell] = field(default_factory=list)
    status: str = "done"              # done | cancelled | failed | running

    def cell(self, scenario: str, prompt: str) -> ProbeCell | None:
        return next((c for c in self.cells if c.scenario == scenario and c.prompt == prompt),
                    None)

    def matrix(self) -> list[list[ProbeCell | None]]:
        """Rows = scenarios, columns = prompts (None for a cell not run, e.g. cancelled)."""
        return [[self.cell(s, p) for p in self.prompts] for s in self.scenarios]


def _cancelled(cancel) -> bool:
    if cancel is None:
        return False
    return bool(cancel.is_set() if hasattr(cancel, "is_set") else cancel())


def _task(store: Store, task: Task | str) -> tuple[int | None, Task]:
    name = task if isinstance(task, str) else task.name
    found = task_by_name(store, name)
    if found is None:
        if isinstance(task, str):
            raise ValueError(f"no task {task!r} in this project (see `mmla tasks`)")
        return None, task
    return found[0], found[1] if isinstance(task, str) else task


def register_engine_model(store: Store, engine) -> int:
    from mmla_core.eval.runs import _register_model

    return _register_model(store, engine.info, None)


def sampled_times(row: dict, settings: InferenceSettings):
    """The frame times the settings sample from the clip (None: no video or no file)."""
    from mmla_core.media.probe import probe
    from mmla_core.models.inputs import sample_frame_times

    path = clip_media_path(row)
    if path is None or not probe(path).has_video:
        return None
    return sample_frame_times(path, settings)


def cell_gold(store: Store, clip_gold: str | None, scenario: str, prompt: str, recipe: dict | None,
              task_id: int | None) -> str | None:
    if scenario == "audio_swap" and prompt == "audio_focused" and recipe and task_id is not None:
        donor = recipe.get("donor_clip_id")
        donor_gold = gold_label(store, int(donor), task_id) if donor is not None else None
        if donor_gold is not None:
            return donor_gold
    return clip_gold


def run_probe(store: Store, engine, clip_id: int, task: Task | str, *,
              scenarios=DEFAULT_SCENARIOS, prompts=DEFAULT_PROMPTS,
              settings: InferenceSettings | None = None, seed: int = 0,
              attention: bool = False, name: str = "",
              progress: Callable[[ProbeCell], None] | None = None, cancel=None) -> ProbeResult:
    """Probe one clip; cells stream through `progress(cell)` as they are written.

    `attention=True` also captures the attention shares of every cell (an extra eager-attention
    forward per cell; see probe.attention). `cancel`: an Event (or a callable) checked between
    cells; a cancelled probe keeps its finished cells (run status "cancelled").
    """
    from mmla_core.eval.run_plan import engine_info_dict
    from mmla_core.variants.presets import MMABENCH, mmabench_in_memory

    settings = settings or InferenceSettings(seed=seed)
    known = [s.key for s in MMABENCH]
    unknown = [s for s in scenarios if s not in known]
    if unknown:
        raise ValueError(f"unknown scenarios {unknown}; known: {', '.join(known)}")
    row = get_clip(store, clip_id)
    if row is None:
        raise ValueError(f"no clip {clip_id} in the project")
    task_id, task_obj = _task(store, task)
    clip_gold = gold_label(store, clip_id, task_id) if task_id is not None else None
    model_id = register_engine_model(store, engine)
    run_settings = {
        "probe": {"clip_id": clip_id, "scenarios": list(scenarios), "prompts": list(prompts),
                  "gold": clip_gold, "task": task_obj.name, "seed": seed,
                  "attention": attention},
        "inference": dict(vars(settings)),
        "engine": engine_info_dict(engine.info),
    }
    run_id = start_run(store, "probe", settings=run_settings, name=name, model_id=model_id,
                       task_id=task_id, dataset_id=row["dataset_id"], total=len(scenarios) *
                       len(prompts))
    model_name = store.scalar("SELECT name FROM models WHERE id = ?", (model_id,))
    result = ProbeResult(run_id, clip_id, task_obj.name, task_id, str(model_name),
                         tuple(scenarios), tuple(prompts), clip_gold, status="running")
    try:
        arrays = mmabench_in_memory(store, clip_id, seed, times=sampled_times(row, settings))
        shares: dict[str, list] = {}
        for scenario in scenarios:
            clip = clip_input_from_arrays(arrays[scenario], clip_id)
            for prompt in prompts:
                if _cancelled(cancel):
                    result.status = "cancelled"
                    break
                cell = _run_cell(store, engine, clip, task_obj, replace(
                    settings, prompt_kind=prompt, seed=seed), scenario, clip_gold, task_id,
                    run_id, model_id, attention)
                if cell.attention is not None:
                    shares[f"{scenario}|{prompt}"] = cell.attention
                result.cells.append(cell)
                if progress is not None:
                    progress(cell)
            if result.status == "cancelled":
                break
        if shares:
            run_settings["attention"] = shares
            update_run(store, run_id, settings=run_settings)
    except BaseException as exc:
        finish_run(store, run_id, "failed", error=f"{type(exc).__name__}: {exc}"[:2000])
        result.status = "failed"
        raise
    result.status = "cancelled" if result.status == "cancelled" else "done"
    finish_run(store, run_id, result.status)
    return result


def _run_cell(store, engine, clip, task: Task, settings: InferenceSettings, scenario: str,
              clip_gold, task_id, run_id: int, model_id: int, attention: bool) -> ProbeCell:
    predicted = engine.predict(clip, task, settings)
    gold = cell_gold(store, clip_gold, scenario, settings.prompt_kind, clip.recipe, task_id)
    key = sample_key(clip.clip_id, task_id, settings.prompt_kind, scenario)
    recipe = None if clip.recipe is None else json.dumps({"variant": scenario, **clip.recipe},
                                                         sort_keys=True)
    info = engine.info
    upsert_eval_predictions(store, [{
        "run_id": run_id, "clip_id": clip.clip_id, "task_id": task_id, "model_id": model_id,
        "weights_hash": info.weights_hash, "adapter_path": info.adapter_path,
        "prompt_template": predicted.template, "prompt_hash": predicted.prompt_hash,
        "prompt_kind": predicted.prompt_kind, "recipe_json": recipe,
        "num_frames": predicted.num_frames, "sample_fps": predicted.sample_fps,
        "max_pixels": predicted.max_pixels, "audio_on": predicted.audio_on,
        "seed": predicted.seed, "answer_mode": predicted.answer_mode,
        "raw_output": predicted.raw_output, "parsed_label": predicted.parsed_label,
        "gold_label": gold, "scores_json": dict(predicted.scores),
        "latency_ms": predicted.latency_ms, "sample_key": key, "variant": scenario}])
    pid = store.scalar("SELECT id FROM predictions WHERE run_id = ? AND sample_key = ?",
                       (run_id, key))
    shares = None
    if attention:
        from mmla_core.probe.attention import attention_shares

        shares = attention_shares(engine, clip, task, settings).shares
    return ProbeCell(scenario, settings.prompt_kind, dict(predicted.scores),
                     predicted.parsed_label, gold,
                     None if gold is None else predicted.parsed_label == gold,
                     predicted.latency_ms, int(pid), shares)


def load_probe(store: Store, run_id: int) -> ProbeResult:
    """A stored probe, exactly as it was run (cells in the run's scenario x prompt order)."""
    run = get_run(store, run_id)
    if run is None or run["kind"] != "probe":
        raise ValueError(f"no probe run {run_id} in this project")
    settings = json.loads(run["settings_json"] or "{}")
    meta, shares = settings.get("probe", {}), settings.get("attention", {})
    scenarios, prompts = tuple(meta.get("scenarios", ())), tuple(meta.get("prompts", ()))
    rows = store.query("SELECT * FROM predictions WHERE run_id = ? ORDER BY id", (run_id,))
    cells = []
    for r in rows:
        gold = r["gold_label"]
        cells.append(ProbeCell(
            r["variant"], r["prompt_kind"], json.loads(r["scores_json"] or "{}"),
            r["parsed_label"], gold, None if r["is_correct"] is None else bool(r["is_correct"]),
            r["latency_ms"], int(r["id"]), shares.get(f"{r['variant']}|{r['prompt_kind']}")))
    order = {(s, p): i for i, (s, p) in enumerate((s, p) for s in scenarios for p in prompts)}
    cells.sort(key=lambda c: order.get((c.scenario, c.prompt), len(order)))
    return ProbeResult(run_id, int(meta.get("clip_id")), meta.get("task") or run["task_name"],
                       run["task_id"], run["model_name"] or "", scenarios, prompts,
                       meta.get("gold"), cells, run["status"])
