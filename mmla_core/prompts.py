"""Prompt templates, reproduced byte for byte from MMLA's own files (seeds_systems.md 1.4).

MMLA writes three forms, each checked against the authors' files in tests/data/mmla_records/:
- `zero_shot`: built by MMLA's `src/Zero-shot_Inference/*/infer.py`: the utterance is followed
  by an added "." (`says: {context}.`), no space after "]." and two before "Only".
- `sft`: MMLA's video LLaMA-Factory files (`<DS>_<split>_<task>_llamafactory.json`), behind
  `<video>`: the utterance keeps its own punctuation and NO period is added (`says: {utterance}
  Based on the text, video, and audio content`); spaced task word, lower-case labels; the answer
  is `"<task word>: <label>"` (`intent: thank`).
- `text_sft`: MMLA's text-only files (`<DS>_<split>_text_<task>_llamafactory.json`), "The
  speaker says: {utterance} Based on the text, ...". Each dataset's file has its own spelling
  (`TEXT_FORMS`): the task word (`dialogue_act`, `talk_type`, `therapist_behaviour`), the case
  of the listed labels and of the answer (MIntRec capitalises both: `intent: Thank`; IEMOCAP and
  Ch-sims only the answer), and the glue before "Only" ("'. Only" or "'.Only").
User templates use `str.format` fields: {transcript}, {task}, {labels}.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass

from mmla_core.tasks import Task

VIDEO_TOKEN = "<video>"

ZERO_SHOT = (
    "You are presented with a video in which the speaker says: {transcript}."
    " Based on the text, video, and audio content, what is the {task} of this speaker?\n"
    "The candidate labels for {task} are: [{labels}]."
    "Respond in the format: '{task}: [label]'. "
    " Only one label should be provided."
)

SFT = (
    "You are presented with a video in which the speaker says: {transcript}"
    " Based on the text, video, and audio content, what is the {task} of this speaker?\n"
    "The candidate labels for {task} are: [{labels}]."
    " Respond in the format: '{task}: [label]'. Only one label should be provided."
)

TEXT_SFT = (
    "The speaker says: {transcript} Based on the text, what is the {task} of this speaker?\n"
    "The candidate labels for {task} are: [{labels}]."
    " Respond in the format: '{task}: [label]'. Only one label should be provided."
)
# The same without the space before "Only", as most of MMLA's text-only files have it.
TEXT_SFT_TIGHT = TEXT_SFT.replace("'. Only one", "'.Only one")

TEMPLATES = {"zero_shot": ZERO_SHOT, "sft": SFT, "text_sft": TEXT_SFT}
# The key order of a turn in MMLA's files: `{"value", "from"}` in every video file and most
# text-only ones, `{"from", "value"}` in the text-only files of MIntRec, MIntRec2.0, MELD, MELD-DA.
VALUE_FIRST, FROM_FIRST = ("value", "from"), ("from", "value")
_FIELDS = {"transcript", "task", "labels"}
AS_IS, CAPITALISED = "as_is", "capitalised"


@dataclass(frozen=True)
class TextForm:
    """How one MMLA text-only file spells its prompt and answer."""

    task_word: str
    list_case: str = AS_IS      # the candidate list
    answer_case: str = AS_IS    # the gpt turn
    template: str = TEXT_SFT_TIGHT
    turn_keys: tuple[str, str] = VALUE_FIRST  # the key order of each turn in the file


# Read from each dataset's train and dev text file in thuiar/MMLA (tests/data/mmla_records/).
TEXT_FORMS: dict[str, TextForm] = {
    "MIntRec": TextForm("intent", CAPITALISED, CAPITALISED, TEXT_SFT, FROM_FIRST),
    "MIntRec2.0": TextForm("intent", CAPITALISED, CAPITALISED, TEXT_SFT, FROM_FIRST),
    "MELD": TextForm("emotion", template=TEXT_SFT, turn_keys=FROM_FIRST),
    "MELD-DA": TextForm("dialogue_act", template=TEXT_SFT, turn_keys=FROM_FIRST),
    "IEMOCAP": TextForm("emotion", answer_case=CAPITALISED),
    "IEMOCAP-DA": TextForm("dialogue_act"),
    "MOSI": TextForm("sentiment"),
    "Ch-sims": TextForm("sentiment", answer_case=CAPITALISED),
    "UR-FUNNY": TextForm("speaking_style"),
    "MUStARD": TextForm("speaking_style"),
    "AnnoMi-client": TextForm("talk_type"),
    "AnnoMi-therapist": TextForm("therapist_behaviour"),
}

# infer.py's labels_map lists two Ch-sims labels where the task (eval.py, all SFT files) has
# three; runs keep the task's three, pass these to reproduce infer.py's prompt exactly.
ZERO_SHOT_LABELS: dict[str, tuple[str, ...]] = {"Ch-sims": ("positive", "negative")}


class PromptError(ValueError):
    """A user template that cannot be rendered."""


def check_template(template: str) -> None:
    """Refuse templates with unknown or malformed fields before they reach a run."""
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise PromptError(f"template is malformed: {exc}") from exc
    unknown = names - _FIELDS
    if unknown:
        raise PromptError(f"template uses unknown fields {sorted(unknown)}; allowed: {_FIELDS}")


def text_form(task: Task) -> TextForm:
    """MMLA's text-only form of a built-in task; custom tasks get the plain MIntRec layout."""
    form = TEXT_FORMS.get(task.name) if task.builtin else None
    return form or TextForm(task.prompt_word, template=TEXT_SFT)


def render(task: Task, transcript: str, *, kind: str = "zero_shot",
           template: str | None = None, labels: tuple[str, ...] | None = None) -> str:
    """The prompt text for one clip (no model-specific media tokens)."""
    shown = tuple(labels) if labels is not None else task.labels
    own = template or task.prompt_template
    if kind == "text_sft" and own is None:
        form = text_form(task)
        listed = ", ".join(_cased(label, form.list_case) for label in shown)
        return form.template.format(transcript=transcript, task=form.task_word, labels=listed)
    chosen = own or TEMPLATES[kind]
    check_template(chosen)
    return chosen.format(transcript=transcript, task=task.prompt_word, labels=", ".join(shown))


def answer(task: Task, label: str, *, kind: str = "sft") -> str:
    """The SFT target: `dialogue act: question` (video), per-file spelling for text-only."""
    if kind == "text_sft":
        form = text_form(task)
        return f"{form.task_word}: {_cased(label, form.answer_case)}"
    return f"{task.prompt_word}: {label}"


def answer_word(task: Task, kind: str) -> str:
    """The word before ':' in the answers of a prompt kind."""
    return text_form(task).task_word if kind == "text_sft" else task.prompt_word


def _cased(label: str, case: str) -> str:
    return label[:1].upper() + label[1:] if case == CAPITALISED else label


def template_hash(template: str) -> str:
    """Short stable id of a template, stored with every prediction."""
    return hashlib.sha256(template.encode("utf-8")).hexdigest()[:16]
