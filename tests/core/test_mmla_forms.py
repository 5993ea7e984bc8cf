"""Our prompts, answers and sharegpt import against records copied from MMLA's own files.

tests/data/mmla_records/README.md names the repository, paths and commits. Every record must
come back byte for byte from (task, utterance, label), and the importer must recover exactly
that utterance, task and label from the record.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mmla_core.datasets.sharegpt import utterance_of
from mmla_core.prompts import VIDEO_TOKEN, ZERO_SHOT_LABELS, answer, render
from mmla_core.tasks import builtin_task
from tests.support.mmla_records import RECORDS, load, task_of, turns


def rebuilt(file_name: str, record: dict, kind: str) -> tuple[str, str]:
    """(prompt, answer) rendered by us from the record's utterance and label alone."""
    task = task_of(file_name)
    human, gpt = turns(record)
    label = task.canonical_label(gpt.partition(": ")[2])
    assert label is not None, gpt
    prefix = VIDEO_TOKEN if kind == "sft" else ""
    return prefix + render(task, utterance_of(human), kind=kind), answer(task, label, kind=kind)


@pytest.mark.parametrize(("file_name", "record"), load("video_sft.json"))
def test_video_sft_records_are_reproduced_byte_for_byte(file_name, record):
    assert rebuilt(file_name, record, "sft") == turns(record)


@pytest.mark.parametrize(("file_name", "record"), load("text_sft.json"))
def test_text_sft_records_are_reproduced_byte_for_byte(file_name, record):
    assert rebuilt(file_name, record, "text_sft") == turns(record)


def test_fixtures_cover_every_task_in_the_text_form_and_most_in_video():
    text = {task_of(f).name for f, _ in load("text_sft.json")}
    video = {task_of(f).name for f, _ in load("video_sft.json")}
    assert len(text) == 12 and len(video) == 12


def test_utterances_keep_their_own_punctuation():
    by_id = {(f, r["id"]): utterance_of(turns(r)[0]) for f, r in load("video_sft.json")}
    assert by_id[("MIntRec_dev_intent_llamafactory.json", 0)] == "that's a really good point."
    assert by_id[("MOSI_dev_sentiment_llamafactory.json", 0)] == "i definitely will buy it"
    assert by_id[("MUStARD_dev_speaking_style_llamafactory.json", 4)].endswith('"two."')
    assert by_id[("IEMOCAP_dev_emotion_llamafactory.json", 2)] == \
        "What do you want to do?  Argue with him?"


def infer_py_prompt(task_key: str, context: str, labels) -> str:
    """MMLA's infer.py lines (copied verbatim into the fixture) run as they are."""
    scope = {"args": SimpleNamespace(task=task_key), "context": context,
             "task_labels": list(labels)}
    exec((RECORDS / "zero_shot_infer_lines.txt").read_text(encoding="utf-8"), scope)
    return scope["instruction"]


@pytest.mark.parametrize(("file_name", "record"), load("video_sft.json")[::2])
def test_zero_shot_prompt_is_infer_py_byte_for_byte(file_name, record):
    task = task_of(file_name)
    context = utterance_of(turns(record)[0])
    labels = ZERO_SHOT_LABELS.get(task.name, task.labels)
    expected = infer_py_prompt(task.task_key, context, labels)
    assert render(task, context, kind="zero_shot", labels=labels) == expected
    assert utterance_of(expected) == context  # infer.py's added "." is not the utterance's


def test_zero_shot_keeps_the_task_labels_unless_told():
    task = builtin_task("Ch-sims")
    assert "[neutral, positive, negative]" in render(task, "好", kind="zero_shot")
    assert ZERO_SHOT_LABELS["Ch-sims"] == ("positive", "negative")


def test_custom_tasks_use_the_plain_text_form():
    from mmla_core.tasks import make_custom_task

    task = make_custom_task("Politeness level", ["Polite", "rude"])
    text = render(task, "hi.", kind="text_sft")
    assert text.startswith("The speaker says: hi. Based on the text, what is the politeness level")
    assert "[Polite, rude]. Respond in the format: 'politeness level: [label]'. Only" in text
    assert answer(task, "rude", kind="text_sft") == "politeness level: rude"


def test_plan_prompt_answers_in_the_sft_forms():
    from mmla_core.models.prompting import plan_prompt

    task = builtin_task("AnnoMi-client")
    text = plan_prompt(task, "Okay.", "text_sft")
    assert text.answers == ("talk_type: neutral", "talk_type: change", "talk_type: sustain")
    assert text.task_word == "talk_type" and text.text == render(task, "Okay.", kind="text_sft")
    video = plan_prompt(task, "Okay.", "sft")
    assert video.answers[0] == "communication behavior: neutral"
    edited = plan_prompt(task, "Okay.", "text_sft", template="Say: {transcript} [{labels}]")
    assert edited.text == "Say: Okay. [neutral, change, sustain]"
    assert edited.answers == text.answers
