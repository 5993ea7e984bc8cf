"""Prompt templates, reproduced character for character from MMLA (seeds_systems.md 1.4).

Two MMLA forms exist and both are kept:
- `zero_shot`: built by MMLA's `infer.py` (no space after "]." and two before "Only");
- `sft`: the canonical form in MMLA's LLaMA-Factory / Swift training files, prefixed by `<video>`
  for video models; its answer is `"<task word>: <label>"`.
- `text_sft`: the text-only LLM form ("The speaker says: ...", "Based on the text"); MMLA's
  text files capitalise each label (`[Complain, ..., Ask for help]`, answer `intent: Inform`).
User templates use `str.format` fields: {transcript}, {task}, {labels}.
"""

from __future__ import annotations

import hashlib
import string

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
    "You are presented with a video in which the speaker says: {transcript}."
    " Based on the text, video, and audio content, what is the {task} of this speaker?\n"
    "The candidate labels for {task} are: [{labels}]."
    " Respond in the format: '{task}: [label]'. Only one label should be provided."
)

TEXT_SFT = (
    "The speaker says: {transcript}. Based on the text, what is the {task} of this speaker?\n"
    "The candidate labels for {task} are: [{labels}]."
    " Respond in the format: '{task}: [label]'. Only one label should be provided."
)

TEMPLATES = {"zero_shot": ZERO_SHOT, "sft": SFT, "text_sft": TEXT_SFT}
_FIELDS = {"transcript", "task", "labels"}


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


def render(task: Task, transcript: str, *, kind: str = "zero_shot",
           template: str | None = None, labels: tuple[str, ...] | None = None) -> str:
    """The prompt text for one clip (no model-specific media tokens)."""
    chosen = template or task.prompt_template or TEMPLATES[kind]
    check_template(chosen)
    shown = labels if labels is not None else task.labels
    if kind == "text_sft" and template is None and task.prompt_template is None:
        shown = [_capitalised(label) for label in shown]
    return chosen.format(transcript=transcript, task=task.prompt_word, labels=", ".join(shown))


def answer(task: Task, label: str, *, kind: str = "sft") -> str:
    """The SFT target: MMLA writes the spaced task word, e.g. `dialogue act: question`."""
    return f"{task.prompt_word}: {_capitalised(label) if kind == 'text_sft' else label}"


def _capitalised(label: str) -> str:
    return label[:1].upper() + label[1:]


def template_hash(template: str) -> str:
    """Short stable id of a template, stored with every prediction."""
    return hashlib.sha256(template.encode("utf-8")).hexdigest()[:16]
