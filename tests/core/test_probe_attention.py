"""Attention shares by modality on the tiny Omni model: sums, spans and the probe's capture."""

import models_fixtures
import pytest
import torch
from probe_helpers import demo_copy, first_clip

from mmla_core.models.inputs import InferenceSettings, build_model_inputs
from mmla_core.models.prompting import plan_prompt
from mmla_core.probe import load_probe, run_probe
from mmla_core.probe.attention import (
    answer_attention,
    attention_shares,
    cohens_d_by_layer,
    modality_spans,
    modality_token_ids,
)
from mmla_core.tasks import builtin_task

omni_dir = models_fixtures.omni_dir
omni_engine = models_fixtures.omni_engine
vl_dir = models_fixtures.vl_dir
text_dir = models_fixtures.text_dir
models_demo_db = models_fixtures.models_demo_db

SMALL = InferenceSettings(max_pixels=models_fixtures.SMALL_PIXELS)


def test_shares_sum_to_one_per_layer_and_spans_match_token_ids(omni_engine):
    task = builtin_task("MIntRec")
    clip = models_fixtures.synthetic_clip(0)
    settings = InferenceSettings(max_pixels=models_fixtures.SMALL_PIXELS,
                                 prompt_kind="audio_focused")
    before = omni_engine.info.attn_implementation
    profile = attention_shares(omni_engine, clip, task, settings)
    assert omni_engine.info.attn_implementation == before  # eager only for the capture
    layers = omni_engine.model.config.text_config.num_hidden_layers
    assert len(profile.shares) == layers
    for row in profile.shares:
        assert sum(row) == pytest.approx(1.0, abs=1e-9)
        assert all(0.0 <= share <= 1.0 for share in row)
    # the spans are the processor's placeholder ids, nothing else
    plan = plan_prompt(task, clip.transcript, "audio_focused")
    inputs = build_model_inputs(omni_engine.processor, "qwen2_5_omni", clip, plan.text, settings)
    ids = inputs["input_ids"][0]
    tok = omni_engine.processor.tokenizer
    video = (ids == tok.video_token_id).nonzero().flatten().tolist()
    audio = (ids == tok.audio_token_id).nonzero().flatten().tolist()
    assert video and audio
    assert profile.spans["video"] == video and profile.spans["audio"] == audio
    assert sorted(profile.spans["video"] + profile.spans["audio"] + profile.spans["text"]) == \
        list(range(len(ids)))
    # as many video placeholders as the grid has merged patches, audio as the encoder's output
    merge = omni_engine.processor.video_processor.merge_size ** 2
    assert len(video) == int(inputs["video_grid_thw"].prod()) // merge
    assert profile.num_tokens == len(ids)


def _full_eager_rows(engine, inputs: dict) -> list:
    """Reference (the capture's first version): the whole prompt in ONE eager forward with
    every layer's heads x L x L weights, of which the last row is kept."""
    previous = engine.info.attn_implementation
    engine.model.set_attn_implementation("eager")
    try:
        with torch.no_grad():
            out = engine.model(**inputs, output_attentions=True, use_cache=False)
    finally:
        engine.model.set_attn_implementation(previous)
    return [layer[0, :, -1, :] for layer in out.attentions]


def _check_rows_equal_full_eager(engine, clip, prompt_kind: str, long_text: str = "") -> None:
    task = builtin_task("MIntRec")
    settings = InferenceSettings(max_pixels=models_fixtures.SMALL_PIXELS, prompt_kind=prompt_kind)
    text = plan_prompt(task, clip.transcript + long_text, prompt_kind).text
    inputs = engine._to_device(build_model_inputs(engine.processor, engine.info.family, clip,
                                                  text, settings))
    before = engine.info.attn_implementation
    rows = answer_attention(engine, inputs)
    assert engine.info.attn_implementation == before
    assert engine.model.config._attn_implementation == before  # switched back after the row
    reference = _full_eager_rows(engine, inputs)
    assert len(rows) == len(reference) == engine.model.config.get_text_config().num_hidden_layers
    length = inputs["input_ids"].shape[1]
    for row, ref in zip(rows, reference, strict=True):
        assert row.shape == ref.shape == (ref.shape[0], length)  # heads x keys: one row only
        torch.testing.assert_close(row, ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("prompt_kind", ["zero_shot", "visual_focused"])
def test_answer_row_equals_the_full_eager_forward_omni(omni_engine, prompt_kind):
    # mRoPE: the last token's 3-D position comes from the cached prefix's rope_deltas
    _check_rows_equal_full_eager(omni_engine, models_fixtures.synthetic_clip(1), prompt_kind)


@pytest.mark.parametrize("family_dir", ["vl_dir", "text_dir"])
def test_answer_row_equals_the_full_eager_forward_other_families(family_dir, request):
    from mmla_core.models.engine import Engine

    engine = Engine.load(request.getfixturevalue(family_dir), device="cpu")
    try:
        _check_rows_equal_full_eager(engine, models_fixtures.synthetic_clip(2, audio=False),
                                     "zero_shot", long_text=" and then some" * 20)
    finally:
        engine.close()


def test_attention_implementation_restored_when_the_row_fails(omni_engine, monkeypatch):
    before = omni_engine.info.attn_implementation
    seen = []

    def failing_extension(model, *args, **kwargs):
        seen.append(model.config._attn_implementation)
        raise RuntimeError("out of memory")

    monkeypatch.setattr("mmla_core.models.scoring.extend_prefix", failing_extension)
    inputs = {"input_ids": torch.tensor([[1, 2, 3]]), "attention_mask": torch.ones(1, 3)}
    with pytest.raises(RuntimeError, match="out of memory"):
        answer_attention(omni_engine, inputs)
    assert seen == ["eager"]
    assert omni_engine.model.config._attn_implementation == before != "eager"


def test_spans_skip_padding():
    ids = torch.tensor([0, 0, 5, 9, 9, 7, 3])
    mask = torch.tensor([0, 0, 1, 1, 1, 1, 1])
    spans = modality_spans(ids, {"video": {9}, "audio": {7}}, mask)
    assert spans == {"video": [3, 4], "audio": [5], "text": [2, 6]}


def test_token_ids_come_from_the_config(omni_engine):
    ids = modality_token_ids(omni_engine)
    tok = omni_engine.processor.tokenizer
    assert tok.video_token_id in ids["video"] and ids["audio"] == {tok.audio_token_id}


def test_probe_with_attention_stores_and_reopens_shares(models_demo_db, tmp_path, omni_engine):
    store = demo_copy(models_demo_db, tmp_path)
    try:
        result = run_probe(store, omni_engine, first_clip(store), "MIntRec", settings=SMALL,
                           scenarios=("aligned", "frames_zeroed", "audio_removed"),
                           prompts=("visual_focused", "audio_focused"), attention=True)
        for cell in result.cells:
            assert cell.attention and all(sum(r) == pytest.approx(1.0) for r in cell.attention)
        removed = result.cell("audio_removed", "visual_focused").attention
        assert all(row[1] == 0.0 for row in removed)  # no audio tokens, no audio share
        assert load_probe(store, result.run_id) == result
        d = cohens_d_by_layer([result.cell("aligned", "visual_focused").attention,
                               result.cell("frames_zeroed", "visual_focused").attention],
                              [result.cell("aligned", "audio_focused").attention,
                               result.cell("frames_zeroed", "audio_focused").attention], "video")
        assert len(d) == len(removed)
    finally:
        store.close()
