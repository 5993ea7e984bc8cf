"""The probe's shared media prefix: a row's prompts over one media pass score exactly as one
`Engine.predict` per prompt (the independent path), for each family and prompt shape."""

from dataclasses import replace

import pytest
import torch

from mmla_core.models.engine import Engine
from mmla_core.models.inputs import InferenceSettings, build_model_inputs
from mmla_core.models.scoring import (
    answer_token_ids,
    crop_prefix,
    extend_prefix,
    run_prefix,
    score_from_prefix,
    score_packed,
)
from mmla_core.probe import shared_prefix
from mmla_core.probe.shared_prefix import answer_prompts, media_prefix_text
from mmla_core.tasks import builtin_task
from tests.support import models_fixtures

omni_dir = models_fixtures.omni_dir
vl_dir = models_fixtures.vl_dir
text_dir = models_fixtures.text_dir
omni_engine = models_fixtures.omni_engine

SMALL = InferenceSettings(max_pixels=models_fixtures.SMALL_PIXELS)
PROMPTS = ("zero_shot", "visual_focused", "audio_focused")
TASK = builtin_task("MIntRec")


def _settings(templates=None):
    return [replace(SMALL, prompt_kind=p, template=(templates or {}).get(p)) for p in PROMPTS]


def _assert_same(engine, clip, settings_list):
    shared = answer_prompts(engine, clip, TASK, settings_list)
    for settings, got in zip(settings_list, shared, strict=True):
        ref = engine.predict(clip, TASK, settings)
        assert got.parsed_label == ref.parsed_label
        assert got.template == ref.template and got.prompt_hash == ref.prompt_hash
        for label, p in ref.scores.items():
            assert got.scores[label] == pytest.approx(p, abs=1e-4)
        for label, lp in ref.logprobs.items():
            assert got.logprobs[label] == pytest.approx(lp, abs=1e-3)
    return shared


@pytest.mark.parametrize("audio", [True, False])
def test_prompts_over_one_media_pass_equal_independent_requests(omni_engine, audio):
    clip = models_fixtures.synthetic_clip(3, audio=audio)
    _assert_same(omni_engine, clip, _settings())


def test_edited_prompts_and_a_long_shared_run_equal_independent_requests(omni_engine,
                                                                         monkeypatch):
    # the visual and audio questions share the transcript: long enough here to take the
    # fresh-pass branch (long_context's letters do with the real threshold)
    monkeypatch.setattr(shared_prefix, "FRESH_RUN", 8)
    clip = models_fixtures.synthetic_clip(
        4, transcript="t n g u l m n t z f " * 6 + "Could you help me?")
    edited = {"zero_shot": "Say {task} for: {transcript}. Labels: [{labels}]. Answer '{task}: "
                           "[label]'.",
              "audio_focused": "{transcript}\nWhat do you HEAR? Options: [{labels}]."}
    _assert_same(omni_engine, clip, _settings(edited))


@pytest.mark.parametrize("family_dir", ["vl_dir", "text_dir"])
def test_other_families_equal_independent_requests(request, family_dir):
    engine = Engine.load(request.getfixturevalue(family_dir), device="cpu")
    try:
        _assert_same(engine, models_fixtures.synthetic_clip(5), _settings())
    finally:
        engine.close()


def test_media_prefix_ends_after_the_media_and_tokenises_apart(omni_engine):
    processor = omni_engine.processor
    clip = models_fixtures.synthetic_clip(6)
    from mmla_core.models.inputs import chat_texts

    texts, _ = chat_texts(processor, "qwen2_5_omni", [clip, clip], ["Hello there", "Hi"], SMALL)
    head = media_prefix_text(processor, texts)
    assert head.endswith("<|vision_eos|>") and texts[0].startswith(head)
    # the head's ids (placeholders expanded) + the rest tokenised alone = the whole prompt's ids
    from mmla_core.models.inputs import build_chat_inputs

    whole = build_chat_inputs(processor, "qwen2_5_omni", clip, texts[0], SMALL)["input_ids"][0]
    part = build_chat_inputs(processor, "qwen2_5_omni", clip, head, SMALL)["input_ids"][0]
    rest = processor.tokenizer(texts[0][len(head):], add_special_tokens=False)["input_ids"]
    assert whole.tolist() == part.tolist() + rest


def test_packed_candidates_equal_one_row_per_candidate(omni_engine):
    clip = models_fixtures.synthetic_clip(7)
    inputs = omni_engine._to_device(build_model_inputs(
        omni_engine.processor, "qwen2_5_omni", clip, "Which intent?", SMALL))
    prefix = run_prefix(omni_engine.model, "qwen2_5_omni", inputs)
    cands = answer_token_ids(omni_engine.processor, [f"intent: {x}" for x in TASK.labels])
    rows = score_from_prefix(omni_engine.model, "qwen2_5_omni", prefix, cands)[0]
    packed = score_packed(omni_engine.model, "qwen2_5_omni", prefix, cands)
    assert torch.allclose(rows, packed, atol=1e-4)


def test_a_cropped_prefix_extends_like_the_whole_and_leaves_it_alone(omni_engine):
    # the attention capture extends a crop of a probe leaf by its last prompt token
    clip = models_fixtures.synthetic_clip(8)
    inputs = omni_engine._to_device(build_model_inputs(
        omni_engine.processor, "qwen2_5_omni", clip, "Which intent is it?", SMALL))
    whole = run_prefix(omni_engine.model, "qwen2_5_omni", inputs)
    keys = [layer.keys.clone() for layer in whole.cache.layers]
    ids = inputs["input_ids"][0].tolist()
    cropped = crop_prefix(whole, len(ids) - 3)
    assert cropped.cache.get_seq_length() == len(ids) - 3
    again = extend_prefix(omni_engine.model, "qwen2_5_omni", cropped, ids[-3:])
    assert torch.allclose(again.next_logprobs, whole.next_logprobs, atol=1e-4)
    assert whole.cache.get_seq_length() == len(ids)
    assert all(torch.equal(layer.keys, k) for layer, k in zip(whole.cache.layers, keys,
                                                              strict=True))
    with pytest.raises(ValueError, match="cannot crop"):
        crop_prefix(whole, len(ids) + 1)
