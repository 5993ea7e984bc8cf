"""Attention shares by modality on the tiny Omni model: sums, spans and the probe's capture."""

from dataclasses import replace

import pytest
import torch

from mmla_core.models.inputs import InferenceSettings, build_model_inputs
from mmla_core.models.prompting import plan_prompt
from mmla_core.probe import attention, load_probe, run_probe, shared_prefix
from mmla_core.probe.attention import (
    answer_attention,
    attention_shares,
    cohens_d_by_layer,
    leaf_attention,
    modality_spans,
    modality_token_ids,
)
from mmla_core.probe.matrix import ProbeRequest, _row_inputs
from mmla_core.store.catalog import get_clip
from mmla_core.tasks import builtin_task
from tests.support import models_fixtures
from tests.support.probe_helpers import demo_copy, first_clip

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

    monkeypatch.setattr("mmla_core.probe.attention.extend_prefix", failing_extension)
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


PROMPTS = ("zero_shot", "visual_focused", "audio_focused")
EDITED = {"zero_shot": "Say {task} for: {transcript}. Labels: [{labels}]. "
                        "Answer '{task}: [label]'.",
          "audio_focused": "{transcript}\nWhat do you HEAR? Options: [{labels}]."}


def _prompt_inputs(engine, clip, settings: InferenceSettings) -> dict:
    task = builtin_task("MIntRec")
    text = plan_prompt(task, clip.transcript, settings.prompt_kind,
                       template=settings.template).text
    return engine._to_device(build_model_inputs(engine.processor, engine.info.family, clip,
                                                text, settings))


@pytest.mark.parametrize("long_branch", [False, True])
def test_rows_from_the_probe_leaves_equal_a_separate_pass_and_the_full_eager_forward(
        omni_engine, monkeypatch, long_branch):
    # long_branch: every branch past 8 tokens runs from the start (long_context's path, whose
    # leaf cache is a fresh pass, not an extension), with edited prompts
    clip = models_fixtures.synthetic_clip(8, transcript="t n g u l m n t z f " * 4 + "Help?")
    templates = EDITED if long_branch else {}
    if long_branch:
        monkeypatch.setattr(shared_prefix, "FRESH_RUN", 8)
    settings = [replace(SMALL, prompt_kind=p, template=templates.get(p)) for p in PROMPTS]
    fresh = []
    real_run = shared_prefix._Tree.extend

    def counting_extend(self, node, path, ids, scored=0):
        fresh.append(len(ids) > shared_prefix.FRESH_RUN)
        return real_run(self, node, path, ids, scored)

    monkeypatch.setattr(shared_prefix._Tree, "extend", counting_extend)
    rows = {}

    def on_leaf(index, leaf, prompt_ids):
        rows[index] = (leaf_attention(omni_engine, leaf, prompt_ids), prompt_ids)

    shared_prefix.answer_prompts(omni_engine, clip, builtin_task("MIntRec"), settings,
                                 on_leaf=on_leaf)
    assert any(fresh) == long_branch
    assert sorted(rows) == [0, 1, 2]
    for i, s in enumerate(settings):
        inputs = _prompt_inputs(omni_engine, clip, s)
        got, prompt_ids = rows[i]
        assert prompt_ids == inputs["input_ids"][0].tolist()
        for row, separate, full in zip(got, answer_attention(omni_engine, inputs),
                                       _full_eager_rows(omni_engine, inputs), strict=True):
            assert row.shape == full.shape == (full.shape[0], len(prompt_ids))
            torch.testing.assert_close(row, separate, atol=1e-5, rtol=0)
            torch.testing.assert_close(row, full, atol=1e-5, rtol=0)


def test_a_leaf_of_another_prompt_is_refused(omni_engine):
    clip = models_fixtures.synthetic_clip(9)
    settings = [replace(SMALL, prompt_kind=p) for p in PROMPTS]
    leaves = {}
    shared_prefix.answer_prompts(omni_engine, clip, builtin_task("MIntRec"), settings,
                                 on_leaf=lambda i, leaf, ids: leaves.setdefault(i, (leaf, ids)))
    leaf, ids = leaves[0]
    with pytest.raises(ValueError, match="not this prompt's cache"):
        leaf_attention(omni_engine, leaf, ids[:-1])


def _probe(store, engine, attention, scenarios, templates=None):
    return run_probe(store, engine, first_clip(store), "MIntRec", settings=SMALL,
                     scenarios=scenarios, attention=attention, templates=templates)


def test_probe_capture_leaves_scores_alone_and_equals_a_separate_pass_per_cell(
        models_demo_db, tmp_path, omni_engine):
    store = demo_copy(models_demo_db, tmp_path)
    scenarios = ("aligned", "audio_swap", "misleading_caption", "frames_zeroed",
                 "audio_removed")
    try:
        plain = _probe(store, omni_engine, False, scenarios, EDITED)
        captured = _probe(store, omni_engine, True, scenarios, EDITED)
        assert [(c.scenario, c.prompt, c.scores, c.predicted) for c in captured.cells] == \
            [(c.scenario, c.prompt, c.scores, c.predicted) for c in plain.cells]
        request = ProbeRequest(scenarios, PROMPTS, EDITED)
        row = get_clip(store, captured.clip_id)
        task = builtin_task("MIntRec")
        for key, clip in _row_inputs(store, row, request, {}, SMALL, 0):
            for prompt in PROMPTS:
                settings = replace(SMALL, prompt_kind=prompt, template=EDITED.get(prompt))
                separate = attention_shares(omni_engine, clip, task, settings).shares
                got = captured.cell(key, prompt).attention
                assert torch.tensor(got) == pytest.approx(torch.tensor(separate), abs=1e-5)
    finally:
        store.close()


def test_a_probe_of_one_prompt_captures_through_its_own_pass(models_demo_db, tmp_path,
                                                            omni_engine):
    # one prompt per row: no shared media pass, no leaves; the capture runs its own pass
    store = demo_copy(models_demo_db, tmp_path)
    try:
        result = run_probe(store, omni_engine, first_clip(store), "MIntRec", settings=SMALL,
                           scenarios=("aligned",), prompts=("audio_focused",), attention=True)
        shares = result.cell("aligned", "audio_focused").attention
        assert shares and all(sum(r) == pytest.approx(1.0) for r in shares)
    finally:
        store.close()


@pytest.mark.slow
def test_long_context_cells_equal_a_separate_pass(models_demo_db, tmp_path, omni_engine):
    # the real 10k-letter context: the visual and audio questions' branch (> FRESH_RUN tokens)
    # runs from the start, so their leaf caches are fresh passes
    store = demo_copy(models_demo_db, tmp_path)
    try:
        plain = _probe(store, omni_engine, False, ("long_context",))
        captured = _probe(store, omni_engine, True, ("long_context",))
        assert [c.scores for c in captured.cells] == [c.scores for c in plain.cells]
        row = get_clip(store, captured.clip_id)
        (key, clip), = _row_inputs(store, row, ProbeRequest(("long_context",)), {}, SMALL, 0)
        for prompt in PROMPTS:
            settings = replace(SMALL, prompt_kind=prompt)
            separate = attention_shares(omni_engine, clip, builtin_task("MIntRec"), settings)
            assert separate.num_tokens > shared_prefix.FRESH_RUN
            got = captured.cell(key, prompt).attention
            assert torch.tensor(got) == pytest.approx(torch.tensor(separate.shares), abs=1e-5)
    finally:
        store.close()


def test_probe_capture_restores_the_attention_setting_on_error(models_demo_db, tmp_path,
                                                              omni_engine, monkeypatch):
    from mmla_core.models import scoring

    before = omni_engine.info.attn_implementation
    real_extend, seen = scoring.extend_prefix, []

    def failing_row(model, *args, output_attentions=False, **kwargs):
        if output_attentions:
            seen.append(model.config._attn_implementation)
            raise RuntimeError("out of memory")
        return real_extend(model, *args, **kwargs)

    for user in (attention, shared_prefix):   # where it is called (imported at their top)
        monkeypatch.setattr(user, "extend_prefix", failing_row)
    store = demo_copy(models_demo_db, tmp_path)
    try:
        with pytest.raises(RuntimeError, match="out of memory"):
            _probe(store, omni_engine, True, ("aligned",))
        assert seen == ["eager"]
        assert omni_engine.model.config._attn_implementation == before != "eager"
        assert store.scalar("SELECT status FROM runs ORDER BY id DESC LIMIT 1") == "failed"
    finally:
        store.close()
