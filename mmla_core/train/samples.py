"""Training samples from the store: labelled clips -> (prompt, answer) pairs (checked before launch
by train.preflight).

SFT / IT (MMLA): the prompt is MMLA's SFT form (prompt kind `sft`, `prompts.SFT`; `text_sft`,
the dataset's own text-only form `prompts.TEXT_FORMS`, for text-only input), rendered through
`models.prompting.plan_prompt` exactly as the engine renders it when it scores the dev and test
splits, and the answer is the one MMLA's LLaMA-Factory files give (`"<task word>: <label>"`).
IT mixes several tasks; MMLA's prompt names the task word in every prompt, so one adapter learns
them all.

Alignment (MMA-Bench 2.7): for every clip and scenario (aligned, audio swapped, misleading
caption) one visual-focused and one audio-focused question whose answer follows the asked
modality: the clip's label, except the audio question under an audio swap, whose answer is the
donor clip's label (`probe.matrix.cell_gold`'s rule; a donor with no label gives no question).

Labels: the config's label source (`store.label_policy`, curated by default), and only the
clips its verdict rule keeps (`store.verdicts`: rejected clips left out by default);
`labels_record` is what the job records and the Train preview shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmla_core.models.prompting import plan_prompt
from mmla_core.models.registered import resolve_model
from mmla_core.models.registry import FAMILIES
from mmla_core.prompts import answer
from mmla_core.store.catalog import clip_media_path, find_dataset, task_by_name
from mmla_core.store.clip_rows import original_clips_in_split
from mmla_core.store.db import Store
from mmla_core.tasks import Task
from mmla_core.train.config import TrainConfig, TrainConfigError
from mmla_core.variants.plan import DatasetContext, plan_variant
from mmla_core.variants.presets import MMABENCH
from mmla_core.variants.recipes import VariantError
from mmla_core.variants.store_ops import variants_dir

__all__ = ["ALIGN_SCENARIOS", "TrainSample", "UnknownSource", "build_samples",
           "effective_modality", "labelled_clips", "labels_record", "preview",
           "resolve_tasks", "selected_dataset_ids"]

ALIGN_SCENARIOS = ("aligned", "audio_swap", "misleading_caption")
ALIGN_PROMPTS = ("visual_focused", "audio_focused")


@dataclass(frozen=True)
class TrainSample:
    clip_id: int
    task: str
    split: str
    prompt: str                 # the user turn, rendered (no chat wrapper, no media tokens)
    answer: str                 # what the loss is computed on (+ the end token)
    label: str
    media_path: str | None
    variant: str | None = None  # MMA-Bench scenario key (alignment mode)
    prompt_kind: str = "sft"    # engine prompt kind: sft | text_sft (MMLA's forms) | *_focused
    template: str | None = None  # a user template behind `prompt` (None: the kind's own)


class UnknownSource(Exception):
    """A task or dataset the config names that the project lacks: one problem that makes the
    rest of the checks meaningless."""


# --- what the config names ---------------------------------------------------------------------

def effective_modality(config: TrainConfig, family: str) -> str:
    """"video+audio" | "video" | "text": what the model is fed (auto = the family's default)."""
    fam = FAMILIES[family]
    if config.modality == "text" or not fam.sees_video:
        return "text"
    if config.modality == "video" or not fam.hears_audio:
        return "video"
    return "video+audio"


def resolve_tasks(store: Store, names: list[str]) -> list[tuple[int, Task]]:
    found = []
    for name in names:
        hit = task_by_name(store, name)
        if hit is None:
            raise UnknownSource(f"unknown task {name!r}: see `mmla tasks` for the project's tasks")
        found.append(hit)
    return found


def selected_dataset_ids(store: Store, config: TrainConfig) -> list[int] | None:
    if config.dataset is None:
        return None
    row = find_dataset(store, config.dataset)
    if row is None:
        raise UnknownSource(f"unknown dataset {config.dataset!r}: see `mmla ls --datasets`")
    return [int(row["id"])]


def _clip_rows(store: Store, dataset_ids, split: str) -> list[dict]:
    return original_clips_in_split(store, split, dataset_ids)


def labelled_clips(store: Store, config: TrainConfig, task_id: int, split: str) -> list[tuple]:
    """[(clip row, label)] of the split for the task, in clip id order: the config's label
    source, the clips its verdict rule keeps."""
    selection = config.selection()
    gold = selection.resolve(store, task_id=task_id).labels
    gate = selection.gate(store)
    rows = _clip_rows(store, selected_dataset_ids(store, config), split)
    return [(row, gold[row["id"]][task_id]) for row in rows
            if task_id in gold.get(row["id"], {}) and gate.keep(row["id"])]


def labels_record(store: Store, config: TrainConfig) -> dict:
    """What the job records (`training_jobs.labels_json`) and the Train preview shows: the label
    source, per-kind counts over the (clip, task) pairs of the run's splits, and how many clips
    the verdict rule left out (each clip once)."""
    selection = config.selection()
    try:
        dataset_ids = selected_dataset_ids(store, config)
        tasks = resolve_tasks(store, config.tasks)
    except UnknownSource:
        dataset_ids, tasks = None, []
    policy = selection.resolve(store, dataset_id=dataset_ids[0] if dataset_ids else None)
    gate = selection.gate(store)
    splits = dict.fromkeys([*config.train_splits, config.dev_split, config.test_split])
    rows = {row["id"]: row for split in splits for row in _clip_rows(store, dataset_ids, split)}
    kept = [clip_id for clip_id in rows if gate.keep(clip_id)]
    return selection.record(policy, [(c, t) for c in kept for t, _ in tasks], gate)


# --- samples -----------------------------------------------------------------------------------

def _media(row: dict) -> str | None:
    path = clip_media_path(row) if row.get("media_path") else None
    return None if path is None else str(path)


def _sft_samples(config, task: Task, split: str, pairs, kind: str) -> list[TrainSample]:
    """MMLA's SFT form (`sft`, or the dataset's own `text_sft` form for text-only models)."""
    out = []
    for row, label in pairs:
        plan = plan_prompt(task, row["transcript"] or "", kind)
        out.append(TrainSample(row["id"], task.name, split, plan.text,
                               answer(task, label, kind=kind), label, _media(row), None, kind,
                               None))
    return out


def _alignment_samples(store: Store, config, task_id: int, task: Task, split: str,
                       pairs) -> list[TrainSample]:
    scenarios = [s for s in MMABENCH if s.key in ALIGN_SCENARIOS]
    gold = {cid: labels.get(task_id) for cid, labels in
            config.selection().resolve(store, task_id=task_id).labels.items()}
    contexts: dict[int, DatasetContext] = {}
    out = []
    for row, label in pairs:
        ctx = contexts.setdefault(row["dataset_id"], DatasetContext(store, row["dataset_id"]))
        for scenario in scenarios:
            transcript, audio_label = row["transcript"] or "", label
            if scenario.steps:
                try:
                    plan = plan_variant(ctx, row["id"], scenario.steps, config.seed,
                                        variants_dir(store, row["dataset_name"]))
                except VariantError:
                    continue  # e.g. no donor of another class: the scenario cannot apply
                transcript = plan.transcript
                donor = dict(plan.steps[0][1]).get("donor_clip_id")
                if donor is not None:
                    audio_label = gold.get(int(donor))
            for kind in ALIGN_PROMPTS:
                wanted = audio_label if kind == "audio_focused" else label
                if wanted is None:
                    continue
                plan_text = plan_prompt(task, transcript, kind).text
                out.append(TrainSample(row["id"], task.name, split, plan_text, wanted, wanted,
                                       _media(row), scenario.key, kind, None))
    return out


def build_samples(store: Store, config: TrainConfig, split: str) -> list[TrainSample]:
    """The split's samples for every task of the config, task by task, clip id order."""
    try:
        return _build(store, config, split)
    except UnknownSource as exc:
        raise TrainConfigError(str(exc)) from None


def _build(store: Store, config: TrainConfig, split: str) -> list[TrainSample]:
    _, family, _ = resolve_model(store, config.model)
    kind = "text_sft" if effective_modality(config, family) == "text" else "sft"
    samples: list[TrainSample] = []
    for task_id, task in resolve_tasks(store, config.tasks):
        pairs = labelled_clips(store, config, task_id, split)
        if config.mode == "alignment":
            samples += _alignment_samples(store, config, task_id, task, split, pairs)
        else:
            samples += _sft_samples(config, task, split, pairs, kind)
    return samples


def preview(store: Store, config: TrainConfig, n: int = 5) -> list[TrainSample]:
    """The first `n` training samples as the model will read them (prompt + answer)."""
    split = config.train_splits[0] if config.train_splits else "train"
    return build_samples(store, config, split)[:n]
