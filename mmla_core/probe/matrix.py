"""The probe of one clip: every (scenario, prompt) cell answered by label scoring.

The clip is decoded once (`variants.presets.mmabench_in_memory`, only the frames the settings
sample) and the six MMA-Bench scenarios are derived from those arrays in memory; existing variant
clips of the clip (written files or text recipes) can follow as extra rows (key
"variant:<clip id>"). A row's prompts share one pass over its media (`probe.shared_prefix`),
equal to one `Engine.predict` per cell; edited prompt texts replace the defaults
(`templates`, by prompt kind) and are kept in the run's settings. Every cell is written as
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
from pathlib import Path

from mmla_core.eval.recorder import RunRecorder, engine_columns, result_columns
from mmla_core.eval.run_plan import engine_info_dict
from mmla_core.media.probe import probe
from mmla_core.models.inputs import (
    InferenceSettings,
    clip_input_from_arrays,
    clip_input_from_store,
    sample_frame_times,
)
from mmla_core.models.prompting import check_prompt_text, plan_prompt
from mmla_core.probe.attention import attention_shares, leaf_profile
from mmla_core.probe.shared_prefix import answer_prompts
from mmla_core.store.catalog import clip_media_path, get_clip, task_by_name, variant_descendants
from mmla_core.store.db import Store
from mmla_core.store.label_policy import CURATED, resolve_labels
from mmla_core.store.labels import gold_label
from mmla_core.store.results import (
    get_run,
    prediction_recipes,
    predictions_in_order,
    sample_key,
)
from mmla_core.tasks import Task
from mmla_core.variants.presets import MMABENCH, mmabench_in_memory

__all__ = ["DEFAULT_PROMPTS", "DEFAULT_SCENARIOS", "ProbeCell", "ProbeRequest", "ProbeResult",
           "load_probe", "run_probe", "variant_key", "variant_rows"]

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
    templates: dict[str, str] = field(default_factory=dict)  # edited prompt texts by kind
    variants: dict[str, dict] = field(default_factory=dict)  # row key -> existing variant info
    adapter: str | None = None        # the LoRA adapter folder the model ran with, if any

    def title(self) -> str:
        """Which probe this is, for people: run, model and adapter."""
        folder = Path(self.adapter) if self.adapter else None
        adapter = f" + adapter {folder.parent.name}/{folder.name}" if folder else ""
        return f"probe #{self.run_id}: {self.model or '?'}{adapter}"

    def row_title(self, key: str) -> str:
        """A row's name on screen: the scenario, or the existing variant's recipe and id."""
        info = self.variants.get(key)
        if info is None:
            return key
        return f"variant {info['clip_id']}: {info.get('label') or '?'}"

    def cell(self, scenario: str, prompt: str) -> ProbeCell | None:
        return next((c for c in self.cells if c.scenario == scenario and c.prompt == prompt),
                    None)

    def matrix(self) -> list[list[ProbeCell | None]]:
        """Rows = scenarios, columns = prompts (None for a cell not run, e.g. cancelled)."""
        return [[self.cell(s, p) for p in self.prompts] for s in self.scenarios]


def _task(store: Store, task: Task | str) -> tuple[int | None, Task]:
    name = task if isinstance(task, str) else task.name
    found = task_by_name(store, name)
    if found is None:
        if isinstance(task, str):
            raise ValueError(f"no task {task!r} in this project (see `mmla tasks`)")
        return None, task
    return found[0], found[1] if isinstance(task, str) else task


def sampled_times(row: dict, settings: InferenceSettings):
    """The frame times the settings sample from the clip (None: no video or no file)."""
    path = clip_media_path(row)
    if path is None or not probe(path).has_video:
        return None
    return sample_frame_times(path, settings)


def cell_gold(store: Store, clip_gold: str | None, scenario: str, prompt: str, recipe: dict | None,
              task_id: int | None, source: str = "curated") -> str | None:
    """What a cell is judged against: the clip's label, except the audio-focused question under
    an audio swap, judged against the donor's label (from the same label source)."""
    swapped = scenario == "audio_swap" or any(
        step.get("name") == "audio_swap" for step in (recipe or {}).get("steps", []))
    if swapped and prompt == "audio_focused" and recipe and task_id is not None:
        donor = recipe.get("donor_clip_id")
        donor_gold = gold_label(store, int(donor), task_id, source) if donor is not None \
            else None
        if donor_gold is not None:
            return donor_gold
    return clip_gold


@dataclass(frozen=True)
class ProbeRequest:
    """What to probe besides the clip: scenarios, prompts, edited prompt texts, variants."""

    scenarios: tuple[str, ...] = DEFAULT_SCENARIOS
    prompts: tuple[str, ...] = DEFAULT_PROMPTS
    templates: dict | None = None     # prompt kind -> edited text (None/missing: the default)
    variants: tuple[int, ...] = ()    # existing variant clips of the clip, as extra rows


def _check_request(store: Store, clip_id: int, task: Task, request: ProbeRequest) -> dict:
    """Refuse unknown scenarios, unusable templates and foreign variants; variant row infos."""
    known = [s.key for s in MMABENCH]
    unknown = [s for s in request.scenarios if s not in known]
    if unknown:
        raise ValueError(f"unknown scenarios {unknown}; known: {', '.join(known)}")
    for kind, text in (request.templates or {}).items():
        if kind not in request.prompts:
            raise ValueError(f"a prompt text was given for {kind!r}, which is not probed")
        check_prompt_text(task, kind, text)
    for kind in set(request.prompts) - set(request.templates or {}):
        plan_prompt(task, "", kind)  # an unknown kind (or custom without text): no failed run
    return variant_rows(store, clip_id, request.variants)


def variant_rows(store: Store, clip_id: int, variant_ids) -> dict[str, dict]:
    """{row key: info} for existing variants of the clip (written files or text recipes)."""
    mine = {int(r["id"]): r for r in variant_descendants(store, clip_id) if r["id"] != clip_id}
    rows = {}
    for vid in variant_ids:
        row = mine.get(int(vid))
        if row is None:
            raise ValueError(f"clip {vid} is not a variant of clip {clip_id}")
        recipe = json.loads(row["recipe_json"] or "{}")
        rows[variant_key(int(vid))] = {"clip_id": int(vid), "label": recipe.get("type") or "",
                                       "external_id": row["external_id"]}
    return rows


def variant_key(clip_id: int) -> str:
    return f"variant:{clip_id}"


def run_probe(store: Store, engine, clip_id: int, task: Task | str, *,
              scenarios=DEFAULT_SCENARIOS, prompts=DEFAULT_PROMPTS,
              settings: InferenceSettings | None = None, seed: int = 0,
              attention: bool = False, name: str = "", templates: dict | None = None,
              variants=(), progress: Callable[[ProbeCell], None] | None = None,
              cancel=None, job: str = "probe") -> ProbeResult:
    """Probe one clip; cells stream through `progress(cell)` as they are written.

    Rows: the MMA-Bench `scenarios` built in memory, then the existing `variants` (clip ids).
    `templates`: edited prompt texts by prompt kind. `attention=True` also captures the
    attention shares of every cell (its last prompt token once more, with eager attention,
    over the cell's own cached pass; see probe.attention). `cancel`: an Event (or a
    callable) checked between rows; a cancelled probe keeps its finished cells (run status
    "cancelled"). `job`: "probe_set" when a probe set runs it (`probe.sets`), recorded with
    the run's owner so a run its killed process left is failed with a probe set's rerun words.
    """
    request = ProbeRequest(tuple(scenarios), tuple(prompts), dict(templates or {}) or None,
                           tuple(int(v) for v in variants))
    settings = settings or InferenceSettings(seed=seed)
    row, task_id, task_obj, extra = _prepare(store, clip_id, task, request)
    clip_gold, labels = _clip_gold(store, clip_id, task_id)
    recorder = RunRecorder.for_engine(store, engine)
    run_settings = _run_settings(clip_id, request, extra, clip_gold, task_obj, seed, attention,
                                 settings, engine)
    run_settings["labels"] = labels  # `mmla runs show`'s labels line, as an evaluation's
    rows = (*request.scenarios, *extra)
    run_id = recorder.start("probe", settings=run_settings, name=name, task_id=task_id, job=job,
                            dataset_id=row["dataset_id"], total=len(rows) * len(request.prompts))
    result = ProbeResult(run_id, clip_id, task_obj.name, task_id, recorder.model_name, rows,
                         request.prompts, clip_gold, status="running",
                         templates=dict(request.templates or {}), variants=extra,
                         adapter=run_settings["engine"].get("adapter_path"))
    cells = _ProbeJob(recorder, engine, task_obj, task_id, clip_gold, attention)
    cell_settings = [replace(settings, prompt_kind=p, seed=seed,
                             template=(request.templates or {}).get(p)) for p in request.prompts]
    with recorder.failing_on_exception():
        for key, clip in _row_inputs(store, row, request, extra, settings, seed):
            if recorder.cancelled(cancel):
                result.status = "cancelled"
                break
            for cell in cells.answer_row(key, clip, cell_settings):
                result.cells.append(cell)
                if progress is not None:
                    progress(cell)
        if cells.shares:
            run_settings["attention"] = cells.shares
            recorder.update(settings=run_settings)
    result.status = "cancelled" if result.status == "cancelled" else "done"
    recorder.finish(result.status)
    return result


def _clip_gold(store: Store, clip_id: int, task_id: int | None) -> tuple[str | None, dict]:
    """The clip's curated label for the task (what its cells are judged against) and what the
    run records about it: the label source and the kind of label (person, import, ...)."""
    if task_id is None:  # a task the project lacks: no gold
        return None, {"source": CURATED, "counts": {}}
    policy = resolve_labels(store, CURATED, clip_ids=[clip_id], task_id=task_id)
    return policy.get(clip_id, task_id), policy.summary([(clip_id, task_id)])


def _prepare(store: Store, clip_id: int, task, request: ProbeRequest):
    """The clip row, the task (id, object) and the variant rows, all checked before a run."""
    row = get_clip(store, clip_id)
    if row is None:
        raise ValueError(f"no clip {clip_id} in the project")
    task_id, task_obj = _task(store, task)
    return row, task_id, task_obj, _check_request(store, clip_id, task_obj, request)


def _run_settings(clip_id, request: ProbeRequest, extra: dict, clip_gold, task: Task, seed,
                  attention, settings, engine) -> dict:
    return {
        "probe": {"clip_id": clip_id, "scenarios": list(request.scenarios),
                  "prompts": list(request.prompts), "gold": clip_gold, "task": task.name,
                  "seed": seed, "attention": attention,
                  "templates": dict(request.templates or {}),
                  "variants": [{"key": k, **v} for k, v in extra.items()]},  # a list: ordered
        "inference": dict(vars(settings)),
        "engine": engine_info_dict(engine.info),
    }


def _row_inputs(store, row: dict, request: ProbeRequest, extra: dict, settings, seed):
    """(row key, ClipInput) per row: the scenarios from one decode, then each variant."""
    clip_id = int(row["id"])
    if request.scenarios:
        arrays = mmabench_in_memory(store, clip_id, seed, times=sampled_times(row, settings))
        for scenario in request.scenarios:
            yield scenario, clip_input_from_arrays(arrays[scenario], clip_id)
    for key, info in extra.items():
        clip = clip_input_from_store(store, info["clip_id"], settings, seed=seed)
        variant = get_clip(store, info["clip_id"])
        if variant is None:
            raise ValueError(f"variant clip {info['clip_id']} was deleted during the probe")
        recipe = json.loads(variant["recipe_json"] or "{}")
        yield key, replace(clip, recipe=recipe)


class _ProbeJob:
    """Answers one row's prompts (sharing its media prefix) and writes a prediction per cell."""

    def __init__(self, recorder: RunRecorder, engine, task, task_id, clip_gold, attention):
        self.recorder, self.store = recorder, recorder.store
        self.engine, self.task, self.task_id = engine, task, task_id
        self.clip_gold, self.attention = clip_gold, attention
        self.shares: dict[str, list] = {}

    def answer_row(self, key: str, clip, cell_settings: list[InferenceSettings]):
        captured: dict[int, list] = {}

        def capture(index: int, leaf, prompt_ids: list[int]) -> None:
            # the row from the cached pass the scores came from, not one more pass per cell
            captured[index] = leaf_profile(self.engine, leaf, prompt_ids).shares

        answers = answer_prompts(self.engine, clip, self.task, cell_settings,
                                 on_leaf=capture if self.attention else None)
        for i, (settings, predicted) in enumerate(zip(cell_settings, answers, strict=True)):
            cell = self._write(key, clip, settings, predicted)
            if self.attention:
                cell.attention = captured.get(i) or attention_shares(  # Engine.predict path
                    self.engine, clip, self.task, settings).shares
                self.shares[f"{key}|{settings.prompt_kind}"] = cell.attention
            yield cell

    def _write(self, key: str, clip, settings: InferenceSettings, predicted) -> ProbeCell:
        store = self.store
        gold = cell_gold(store, self.clip_gold, key, settings.prompt_kind, clip.recipe,
                         self.task_id)
        sample = sample_key(clip.clip_id, self.task_id, settings.prompt_kind, key)
        recipe = None if clip.recipe is None else json.dumps({"variant": key, **clip.recipe},
                                                             sort_keys=True)
        self.recorder.write([self.recorder.row(
            clip_id=clip.clip_id, task_id=self.task_id, **engine_columns(self.engine.info),
            **result_columns(predicted), recipe_json=recipe, gold_label=gold,
            sample_key=sample, variant=key)])
        return ProbeCell(key, settings.prompt_kind, dict(predicted.scores),
                         predicted.parsed_label, gold,
                         None if gold is None else predicted.parsed_label == gold,
                         predicted.latency_ms, self.recorder.prediction_id(sample))


def load_probe(store: Store, run_id: int) -> ProbeResult:
    """A stored probe, exactly as it was run (cells in the run's scenario x prompt order)."""
    run = get_run(store, run_id)
    if run is None or run["kind"] != "probe":
        raise ValueError(f"no probe run {run_id} in this project")
    settings = json.loads(run["settings_json"] or "{}")
    meta, shares = settings.get("probe", {}), settings.get("attention", {})
    variants = {v["key"]: {k: x for k, x in v.items() if k != "key"}
                for v in meta.get("variants") or []}
    scenarios = (*meta.get("scenarios", ()), *variants)
    prompts = tuple(meta.get("prompts", ()))
    rows = predictions_in_order(store, run_id)
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
                       meta.get("gold"), cells, run["status"], meta.get("templates") or {},
                       variants, rows[0]["adapter_path"] if rows else None)


def regold(store: Store, result: ProbeResult, source: str = "curated") -> ProbeResult:
    """The probe judged against today's labels from `source` (a probe stores the gold it had
    when it ran): the clip's label, the donor's for the audio question under an audio swap."""
    if result.task_id is None:
        return result
    clip_gold = gold_label(store, result.clip_id, result.task_id, source)
    recipes = prediction_recipes(store, result.run_id)
    cells = []
    for cell in result.cells:
        stored = None if cell.prediction_id is None else recipes.get(cell.prediction_id)
        recipe = json.loads(stored or "null")
        gold = cell_gold(store, clip_gold, cell.scenario, cell.prompt, recipe, result.task_id,
                         source)
        cells.append(replace(cell, gold=gold,
                             correct=None if gold is None else cell.predicted == gold))
    return replace(result, gold=clip_gold, cells=cells)

