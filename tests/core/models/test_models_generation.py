"""MMLA's parser on its edge cases, greedy generation, and the prompt kinds."""

import pytest

from mmla_core.answers import MULTI, UNKNOWN, clean
from mmla_core.models.inputs import InferenceSettings
from mmla_core.models.prompting import MMA_VISUAL, PromptKindError, plan_prompt
from mmla_core.prompts import ZERO_SHOT, render
from mmla_core.tasks import builtin_task
from tests.support import models_fixtures

omni_dir = models_fixtures.omni_dir
omni_engine = models_fixtures.omni_engine
synthetic_clip = models_fixtures.synthetic_clip
DA = builtin_task("MELD-DA").labels
INTENTS = builtin_task("MIntRec").labels


@pytest.mark.parametrize(("text", "labels", "expected"), [
    ("dialogue act: statement-non-opinion", DA, "statement-non-opinion"),
    ("statement-opinion", DA, "statement-opinion"),
    ("It is Statement-Opinion.", DA, "statement-opinion"),
    ("The answer is statement-opinion.", DA, MULTI),  # "answer" is a label too (MMLA counts it)
    ("agreement", DA, "agreement"),
    ("intent: agree", INTENTS, "agree"),
    ("agreement", INTENTS, UNKNOWN),            # "agree" must not match inside "agreement"
    ("intent: ask for help", INTENTS, "ask for help"),
    ("intent: thank or praise", INTENTS, MULTI),
    ("complain, praise, apologise", INTENTS, MULTI),
    ("", INTENTS, UNKNOWN),
    ("I cannot tell.", INTENTS, UNKNOWN),
    ("intent: [joke]", INTENTS, "joke"),
])
def test_mmla_parser(text, labels, expected):
    assert clean(text, labels, "dialogue act" if labels is DA else "intent") == expected


def test_task_word_prefix_is_stripped_before_matching():
    labels = ("question", "other")
    assert clean("question: other", labels) == MULTI  # MMLA's plain rule
    assert clean("question: other", labels, task_word="question") == "other"


def test_greedy_generation_is_capped_parsed_and_repeatable(omni_engine):
    from mmla_core.models.generation import generate_answers
    from mmla_core.models.inputs import build_model_inputs

    task = builtin_task("MIntRec")
    settings = InferenceSettings(max_pixels=models_fixtures.SMALL_PIXELS,
                                 answer_mode="generation", max_new_tokens=3)
    clip = synthetic_clip()
    first = omni_engine.predict(clip, task, settings)
    again = omni_engine.predict(clip, task, settings)
    assert first.raw_output == again.raw_output
    assert first.parsed_label == clean(first.raw_output, task.labels, "intent")
    plan = plan_prompt(task, clip.transcript)
    inputs = build_model_inputs(omni_engine.processor, "qwen2_5_omni", clip, plan.text, settings)
    out = generate_answers(omni_engine.model, omni_engine.processor, inputs, max_new_tokens=3)
    assert out.texts == [first.raw_output] and out.token_counts[0] <= 3


def test_zero_shot_is_mmlas_prompt_and_answer_format():
    task = builtin_task("MELD-DA")
    plan = plan_prompt(task, "Okay.")
    assert plan.text == render(task, "Okay.") and plan.template == ZERO_SHOT
    assert plan.answers[0] == "dialogue act: greeting" and plan.task_word == "dialogue act"


def test_mma_bench_and_check_prompts():
    task = builtin_task("MELD")
    visual = plan_prompt(task, "Video_caption: Fowl. Hi.", "visual_focused")
    assert visual.template == MMA_VISUAL and visual.answers == task.labels
    assert visual.text.startswith("Video_caption: Fowl. Hi.\nWhich class best describes the "
                                  "visual content of this video? Options: [neutral, surprise")
    audio = plan_prompt(task, "", "audio_focused")
    assert audio.text.startswith("Which class best describes the audio content")
    check = plan_prompt(task, "Hi.", "check:audio_only")
    assert check.labels == ("yes", "no") and check.answers == ("Yes", "No")
    assert check.view == "black_frames" and check.text.endswith("Answer with Yes or No.")
    custom = plan_prompt(task, "Hi.", "custom", template="Say {task} of: {transcript} [{labels}]")
    assert custom.text.startswith("Say emotion of: Hi. [neutral")
    with pytest.raises(PromptKindError):
        plan_prompt(task, "Hi.", "custom")
    with pytest.raises(PromptKindError):
        plan_prompt(task, "Hi.", "sarcastic_focused")


def test_check_prompts_show_the_clip_as_the_check_does(omni_engine):
    task = builtin_task("MELD")
    settings = InferenceSettings(max_pixels=models_fixtures.SMALL_PIXELS,
                                 prompt_kind="check:visual_only")
    result = omni_engine.predict(synthetic_clip(), task, settings)
    assert set(result.scores) == {"yes", "no"} and result.parsed_label in ("yes", "no")
    assert result.raw_output in ("Yes", "No") and result.audio_on  # muted: silence is heard
    assert result.prompt_kind == "check:visual_only"
