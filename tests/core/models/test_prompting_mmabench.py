"""MMA-Bench's modality-focused question, as the authors' project page writes it.

cskyl/MMA-Bench `assets/js/main.js` @ 429348ca1d73bc741d7538de88e4ab1b67444107, SCENARIOS
"baseline" and "semantic-av" (`question`, with "visual/audio" for the two prompts and
"[List of classes]" for the option list). Where our prompts differ from the other scenarios'
questions there, docs/evaluation.md ("MMA-Bench's scenarios") says why.
"""

from __future__ import annotations

from mmla_core.models.prompting import plan_prompt
from mmla_core.tasks import make_custom_task

MAIN_JS_QUESTION = ("Which class best describes the visual/audio content of this video? "
                    "Options: [List of classes]. Answer using a single class name.")
CLASSES = ("Canidae", "Cash_register", "Printer", "Bowed_string_instrument")


def theirs(modality: str) -> str:
    return (MAIN_JS_QUESTION.replace("visual/audio", modality)
            .replace("List of classes", ", ".join(CLASSES)))


def test_focused_questions_are_main_js_byte_for_byte():
    task = make_custom_task("AudioSet classes", list(CLASSES))
    assert plan_prompt(task, "", "visual_focused").text == theirs("visual")
    assert plan_prompt(task, "", "audio_focused").text == theirs("audio")
    assert plan_prompt(task, "", "audio_focused").answers == CLASSES  # the bare class name


def test_a_transcript_or_caption_comes_on_the_line_before():
    task = make_custom_task("AudioSet classes", list(CLASSES))
    text = plan_prompt(task, "Video_caption: Printer.", "visual_focused").text
    assert text == "Video_caption: Printer.\n" + theirs("visual")
