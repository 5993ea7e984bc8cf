"""The task registry: MMLA's 12 tasks with their exact label strings, plus user-defined tasks.

A task is what a label answers: a name (MMLA's code name, e.g. `MELD-DA`), a `task_key` (the TSV
label column and the word in the prompt, e.g. `dialogue_act` -> "dialogue act"), a dimension and
an ordered label list. Label strings and order are exactly those of MMLA's `labels_map`
(reference: seeds_systems.md 1.2); prompts list them in this order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

DIMENSIONS = (
    "intent",
    "emotion",
    "dialogue_act",
    "sentiment",
    "speaking_style",
    "communication_behavior",
)

_DIALOGUE_ACTS = (
    "greeting", "question", "answer", "statement-opinion", "statement-non-opinion", "apology",
    "command", "agreement", "disagreement", "acknowledge", "backchannel", "others",
)


@dataclass(frozen=True)
class Task:
    name: str
    task_key: str
    labels: tuple[str, ...]
    dimension: str = ""
    prompt_template: str | None = None  # None: MMLA's template
    builtin: bool = False
    folder_aliases: tuple[str, ...] = field(default=())

    @property
    def prompt_word(self) -> str:
        """The task as MMLA writes it in prompts: underscores become spaces."""
        return " ".join(self.task_key.split("_"))

    def canonical_label(self, raw: str) -> str | None:
        """The exact label for `raw` compared case-insensitively (IEMOCAP files capitalise)."""
        wanted = raw.strip().lower()
        return next((label for label in self.labels if label.lower() == wanted), None)


def _mmla(name: str, key: str, labels: tuple[str, ...], *aliases: str) -> Task:
    return Task(name, key, labels, dimension=key, builtin=True, folder_aliases=aliases)


MMLA_TASKS: tuple[Task, ...] = (
    _mmla("MIntRec", "intent", (
        "complain", "praise", "apologise", "thank", "criticize", "agree", "taunt", "flaunt",
        "joke", "oppose", "comfort", "care", "inform", "advise", "arrange", "introduce", "leave",
        "prevent", "greet", "ask for help")),
    _mmla("MIntRec2.0", "intent", (
        "acknowledge", "advise", "agree", "apologise", "arrange", "ask for help",
        "asking for opinions", "care", "comfort", "complain", "confirm", "criticize", "doubt",
        "emphasize", "explain", "flaunt", "greet", "inform", "introduce", "invite", "joke",
        "leave", "oppose", "plan", "praise", "prevent", "refuse", "taunt", "thank", "warn")),
    _mmla("MELD", "emotion", ("neutral", "surprise", "fear", "sadness", "joy", "anger", "disgust")),
    _mmla("IEMOCAP", "emotion", ("angry", "happy", "sad", "neutral", "frustrated", "excited")),
    _mmla("MELD-DA", "dialogue_act", _DIALOGUE_ACTS),
    _mmla("IEMOCAP-DA", "dialogue_act", _DIALOGUE_ACTS),
    _mmla("MOSI", "sentiment", ("positive", "negative")),
    # eval.py and all SFT data use three labels; some zero-shot scripts dropped "neutral" (1.9 #1)
    _mmla("Ch-sims", "sentiment", ("neutral", "positive", "negative"), "CH-SIMSv2.0", "CH-SIMS"),
    _mmla("UR-FUNNY", "speaking_style", ("humorous", "serious"), "UR-FUNNY-v2"),
    _mmla("MUStARD", "speaking_style", ("sincere", "sarcastic")),
    _mmla("AnnoMi-client", "communication_behavior", ("neutral", "change", "sustain"),
          "AnnoMI-client"),
    _mmla("AnnoMi-therapist", "communication_behavior",
          ("question", "therapist_input", "reflection", "other"), "AnnoMI-therapist"),
)

_BY_NAME = {task.name: task for task in MMLA_TASKS}


class TaskError(ValueError):
    """A task definition or lookup that cannot be satisfied."""


def builtin_task(name: str) -> Task:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise TaskError(f"unknown MMLA task {name!r}; known: {', '.join(_BY_NAME)}") from None


def mmla_task_for_folder(folder_name: str) -> Task | None:
    """The MMLA task a dataset folder holds, accepting Hugging Face folder names too."""
    for task in MMLA_TASKS:
        if folder_name == task.name or folder_name in task.folder_aliases:
            return task
    lowered = folder_name.lower()
    return next((t for t in MMLA_TASKS if t.name.lower() == lowered), None)


def make_custom_task(
    name: str, labels: list[str], *, task_key: str = "", dimension: str = "",
    prompt_template: str | None = None,
) -> Task:
    """Validate and build a user-defined task."""
    clean = [label.strip() for label in labels if label.strip()]
    if not name.strip():
        raise TaskError("a task needs a name")
    if len(clean) < 2:
        raise TaskError(f"task {name!r} needs at least two labels, got {clean}")
    duplicates = {lab for lab in clean if [x.lower() for x in clean].count(lab.lower()) > 1}
    if duplicates:
        raise TaskError(f"task {name!r} repeats labels: {sorted(duplicates)}")
    key = task_key.strip() or name.strip().lower().replace(" ", "_")
    return Task(name.strip(), key, tuple(clean), dimension=dimension or key,
                prompt_template=prompt_template)


def task_to_row(task: Task) -> dict:
    return {
        "name": task.name, "task_key": task.task_key, "dimension": task.dimension,
        "labels_json": json.dumps(list(task.labels)), "prompt_template": task.prompt_template,
        "builtin": int(task.builtin),
    }


def task_from_row(row: dict) -> Task:
    builtin = _BY_NAME.get(row["name"]) if row.get("builtin") else None
    return Task(
        row["name"], row["task_key"], tuple(json.loads(row["labels_json"])),
        dimension=row.get("dimension") or row["task_key"],
        prompt_template=row.get("prompt_template"), builtin=bool(row.get("builtin")),
        folder_aliases=builtin.folder_aliases if builtin else (),
    )
