"""What a model is asked, and what each answer looks like, for every prompt kind.

Kinds:
- `zero_shot`: MMLA's zero-shot prompt (prompts.ZERO_SHOT, character for character, or the
  task's own template); the answer is MMLA's format `"<task word>: <label>"`.
- `visual_focused` / `audio_focused`: MMA-Bench's modality-focused questions ("Which class best
  describes the visual content of this video? Options: [...]. Answer using a single class
  name."), preceded by the transcript (a misleading-caption variant puts its caption there, as
  MMA-Bench prepends it to the text query); the answer is the bare label.
- `check:<key>`: one of the four alignment checks (checks.MMA_CHECKS), "... Answer with Yes or
  No."; answers "Yes" / "No" for the labels ("yes", "no"). The check's view is applied to the
  clip (audio muted, frames black) exactly as the curator sees it.
- `sft` / `text_sft`: MMLA's fine-tuning forms (prompts.SFT, and the dataset's own text-only
  form prompts.TEXT_FORMS), answered exactly as MMLA's LLaMA-Factory files answer
  (`dialogue act: question`; `dialogue_act: question`, `intent: Inform` in text-only files).
- `custom`: a user template with {transcript} {task} {labels}; answered in MMLA's format.

The chat wrapper is the model's own template with the media placeholder before the text, as
MMLA's Qwen2-VL inference put the video first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mmla_core.checks import MMA_CHECKS, CheckError, check_by_key
from mmla_core.prompts import (
    SFT,
    ZERO_SHOT,
    PromptError,
    answer,
    answer_word,
    check_template,
    render,
    text_form,
)
from mmla_core.tasks import Task

__all__ = [
    "MMA_AUDIO",
    "MMA_VISUAL",
    "PROMPT_KINDS",
    "PromptPlan",
    "chat_prompt",
    "check_prompt_text",
    "default_template",
    "end_token_id",
    "end_token_text",
    "plan_prompt",
]

MMA_VISUAL = ("{transcript}\nWhich class best describes the visual content of this video? "
              "Options: [{labels}]. Answer using a single class name.")
MMA_AUDIO = ("{transcript}\nWhich class best describes the audio content of this video? "
             "Options: [{labels}]. Answer using a single class name.")
PROMPT_KINDS = ("zero_shot", "sft", "text_sft", "visual_focused", "audio_focused", "custom",
                "check:<key>")
CHECK_LABELS = ("yes", "no")
END_TOKEN = "<|im_end|>"


class PromptKindError(ValueError):
    """A prompt kind or template that cannot be used."""


@dataclass(frozen=True)
class PromptPlan:
    kind: str
    template: str                 # stored and hashed with every prediction
    text: str                     # the user turn, rendered
    labels: tuple[str, ...]       # candidates, in the task's order
    answers: tuple[str, ...]      # the answer text scored for each label
    task_word: str | None         # parser strips a leading "<task word>:"
    view: str = "full"            # full | muted | black_frames (alignment checks)


def plan_prompt(task: Task, transcript: str, kind: str = "zero_shot", *,
                template: str | None = None, labels=None) -> PromptPlan:
    """The prompt and candidate answers for one clip and task."""
    if kind.startswith("check:"):
        return _check_plan(kind, template, labels)
    shown = tuple(labels) if labels is not None else task.labels
    if kind in ("sft", "text_sft"):
        plan = _sft_plan(task, transcript, kind, shown)
        if not template or template == plan.template:
            return plan
        check_template(template)  # an edited SFT prompt: rendered as written, MMLA's answers
        text = render(task, transcript, template=template, labels=shown)
        return PromptPlan(kind, template, text, shown, plan.answers, plan.task_word)
    if kind == "zero_shot":
        chosen = template or task.prompt_template or ZERO_SHOT
    elif kind in ("visual_focused", "audio_focused"):
        chosen = template or (MMA_VISUAL if kind == "visual_focused" else MMA_AUDIO)
        text = chosen.format(transcript=transcript, task=task.prompt_word,
                             labels=", ".join(shown)).strip()
        return PromptPlan(kind, chosen, text, shown, shown, None)
    elif kind == "custom":
        if not template:
            raise PromptKindError("prompt kind 'custom' needs a template")
        chosen = template
    else:
        raise PromptKindError(f"unknown prompt kind {kind!r}; known: {', '.join(PROMPT_KINDS)}")
    check_template(chosen)
    text = render(task, transcript, template=chosen, labels=shown)
    answers = tuple(f"{task.prompt_word}: {label}" for label in shown)
    return PromptPlan(kind, chosen, text, shown, answers, task.prompt_word)


def _sft_plan(task: Task, transcript: str, kind: str, shown: tuple[str, ...]) -> PromptPlan:
    text = render(task, transcript, kind=kind, labels=shown)
    answers = tuple(answer(task, label, kind=kind) for label in shown)
    template = text_form(task).template if kind == "text_sft" else SFT
    return PromptPlan(kind, template, text, shown, answers, answer_word(task, kind))


def default_template(task: Task, kind: str) -> str:
    """The text a prompt kind uses unless the user edits it."""
    if kind == "zero_shot":
        return task.prompt_template or ZERO_SHOT
    if kind in ("visual_focused", "audio_focused"):
        return MMA_VISUAL if kind == "visual_focused" else MMA_AUDIO
    raise PromptKindError(f"prompt kind {kind!r} has no default text")


def check_prompt_text(task: Task, kind: str, text: str) -> None:
    """Refuse an edited prompt text that cannot be rendered, naming the prompt kind."""
    if not text.strip():
        raise PromptKindError(f"the {kind} prompt text is empty")
    try:
        check_template(text)
        plan_prompt(task, "", kind, template=text)
    except (PromptError, KeyError, IndexError, ValueError) as exc:
        raise PromptKindError(f"the {kind} prompt text cannot be used: {exc}") from None


def _check_plan(kind: str, template: str | None, labels) -> PromptPlan:
    key = kind.split(":", 1)[1]
    try:
        check = check_by_key(MMA_CHECKS, key)
        question, view = check.model_prompt, check.shown
    except CheckError:
        if not template:
            raise PromptKindError(f"{kind}: not one of MMA-Bench's checks; give the question "
                                  "as the template") from None
        question, view = template, "full"
    question = template or question
    shown = tuple(labels) if labels is not None else CHECK_LABELS
    answers = tuple(label[:1].upper() + label[1:] for label in shown)
    return PromptPlan(kind, question, question, shown, answers, None, view)


def chat_prompt(processor, family: str, text: str, *, video: bool, audio: bool = False) -> str:
    """The full prompt string up to the assistant's turn, with the media placeholders."""
    messages: list[dict[str, Any]]
    if family == "text_lm":
        messages = [{"role": "user", "content": text}]
    else:
        content = [{"type": "video"}] if video else []
        content += [{"type": "audio"}] if audio else []
        messages = [{"role": "user", "content": [*content, {"type": "text", "text": text}]}]
    return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def _tokenizer(processor):
    return getattr(processor, "tokenizer", processor)


def end_token_text(processor) -> str:
    tok = _tokenizer(processor)
    return END_TOKEN if END_TOKEN in tok.get_vocab() else tok.eos_token


def end_token_id(processor) -> int:
    return _tokenizer(processor).convert_tokens_to_ids(end_token_text(processor))
