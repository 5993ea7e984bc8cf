"""MMLA's tasks and prompts, character for character."""

import pytest

from mmla_core.prompts import PromptError, answer, check_template, render, template_hash
from mmla_core.tasks import (
    MMLA_TASKS,
    TaskError,
    builtin_task,
    make_custom_task,
    mmla_task_for_folder,
)

# MMLA's first MIntRec training utterance, with its own final period (MMLA adds none in SFT)
SLUSHIE = "apparently, teens are drinking the slushie stuff inside of these for the alcohol."

MMLA_SFT_SAMPLE = (
    "You are presented with a video in which the speaker says: apparently, teens are drinking "
    "the slushie stuff inside of these for the alcohol. Based on the text, video, and audio "
    "content, what is the intent of this speaker?\nThe candidate labels for intent are: "
    "[complain, praise, apologise, thank, criticize, agree, taunt, flaunt, joke, oppose, comfort,"
    " care, inform, advise, arrange, introduce, leave, prevent, greet, ask for help]. Respond in "
    "the format: 'intent: [label]'. Only one label should be provided."
)


def test_twelve_tasks_with_mmla_label_counts():
    counts = {t.name: len(t.labels) for t in MMLA_TASKS}
    assert counts == {
        "MIntRec": 20, "MIntRec2.0": 30, "MELD": 7, "IEMOCAP": 6, "MELD-DA": 12,
        "IEMOCAP-DA": 12, "MOSI": 2, "Ch-sims": 3, "UR-FUNNY": 2, "MUStARD": 2,
        "AnnoMi-client": 3, "AnnoMi-therapist": 4,
    }
    assert len({t.dimension for t in MMLA_TASKS}) == 6


def test_sft_prompt_matches_the_published_sample():
    assert render(builtin_task("MIntRec"), SLUSHIE, kind="sft") == MMLA_SFT_SAMPLE
    assert answer(builtin_task("MIntRec"), "inform") == "intent: inform"


def test_zero_shot_prompt_keeps_mmla_spacing_quirks():
    text = render(builtin_task("MELD-DA"), "okay", kind="zero_shot")
    assert "what is the dialogue act of this speaker?\n" in text
    assert "backchannel, others].Respond in the format: 'dialogue act: [label]'. " in text
    assert text.endswith("'.  Only one label should be provided.")


def test_text_only_prompt_capitalises_labels_like_mmla():
    task = builtin_task("MIntRec")
    text = render(task, SLUSHIE, kind="text_sft")
    assert text.startswith(f"The speaker says: {SLUSHIE} Based on the text, what is the intent")
    assert "are: [Complain, Praise, Apologise," in text and "Greet, Ask for help]." in text
    assert answer(task, "inform", kind="text_sft") == "intent: Inform"


def test_folder_names_map_to_tasks():
    assert mmla_task_for_folder("CH-SIMSv2.0").name == "Ch-sims"
    assert mmla_task_for_folder("UR-FUNNY-v2").name == "UR-FUNNY"
    assert mmla_task_for_folder("AnnoMI-client").name == "AnnoMi-client"
    assert mmla_task_for_folder("Nope") is None


def test_labels_match_case_insensitively():
    assert builtin_task("IEMOCAP").canonical_label("Frustrated") == "frustrated"
    assert builtin_task("MELD-DA").canonical_label("agree") is None


def test_custom_tasks_are_validated():
    task = make_custom_task("Politeness", ["polite", " rude "], prompt_template="{transcript}?")
    assert task.labels == ("polite", "rude") and task.task_key == "politeness"
    with pytest.raises(TaskError):
        make_custom_task("X", ["only"])
    with pytest.raises(TaskError, match="repeats"):
        make_custom_task("X", ["a", "A"])
    with pytest.raises(TaskError, match="unknown MMLA task"):
        builtin_task("MELDD")


def test_user_templates_are_checked_before_use():
    check_template("Say {task} for {transcript} from [{labels}]")
    with pytest.raises(PromptError, match="unknown fields"):
        check_template("{transcript} {speaker}")
    with pytest.raises(PromptError, match="malformed"):
        check_template("{transcript")
    task = make_custom_task("P", ["a", "b"], prompt_template="{transcript} -> {labels}")
    assert render(task, "hi") == "hi -> a, b"
    assert len(template_hash("x")) == 16
