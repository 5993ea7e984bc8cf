"""Label scoring: shared prefix == one full forward per label, a distribution over the label set,
and the clip's audio really reaching Qwen2.5-Omni (with both audio-in-video halves)."""

import math

import pytest

from mmla_core.models.inputs import InferenceSettings, build_model_inputs
from mmla_core.models.prompting import plan_prompt
from mmla_core.models.scoring import answer_token_ids, naive_scores, score_candidates
from mmla_core.tasks import builtin_task
from tests.support import models_fixtures

omni_dir = models_fixtures.omni_dir
vl_dir = models_fixtures.vl_dir
text_dir = models_fixtures.text_dir
omni_engine = models_fixtures.omni_engine
synthetic_clip = models_fixtures.synthetic_clip
SETTINGS = InferenceSettings(max_pixels=models_fixtures.SMALL_PIXELS)


def _inputs(engine, clip, task, settings=SETTINGS):
    plan = plan_prompt(task, clip.transcript)
    inputs = build_model_inputs(engine.processor, engine.info.family, clip, plan.text, settings)
    return inputs, plan, answer_token_ids(engine.processor, plan.answers)


@pytest.mark.parametrize("task_name", ["MIntRec", "MOSI"])
def test_shared_prefix_equals_one_forward_per_label(omni_engine, task_name):
    task = builtin_task(task_name)
    inputs, plan, cands = _inputs(omni_engine, synthetic_clip(), task)
    ours = score_candidates(omni_engine.model, "qwen2_5_omni", inputs, plan.labels, cands)[0]
    ref = naive_scores(omni_engine.model, "qwen2_5_omni", inputs, plan.labels, cands)[0]
    assert max(abs(a - b) for a, b in zip(ours.sum_logprobs, ref.sum_logprobs, strict=True)) < 1e-4
    assert ours.token_counts == [len(c) for c in cands]


@pytest.mark.parametrize("family_dir", ["vl_dir", "text_dir"])
def test_shared_prefix_equals_naive_for_other_families(request, family_dir):
    from mmla_core.models.engine import Engine

    engine = Engine.load(request.getfixturevalue(family_dir), device="cpu")
    inputs, plan, cands = _inputs(engine, synthetic_clip(), builtin_task("MELD-DA"))
    family = engine.info.family
    ours = score_candidates(engine.model, family, inputs, plan.labels, cands)[0]
    ref = naive_scores(engine.model, family, inputs, plan.labels, cands)[0]
    assert max(abs(a - b) for a, b in zip(ours.sum_logprobs, ref.sum_logprobs, strict=True)) < 1e-4


def test_scores_are_a_distribution_over_exactly_the_label_set(omni_engine):
    task = builtin_task("MELD")
    result = omni_engine.predict(synthetic_clip(), task, SETTINGS)
    assert list(result.scores) == list(task.labels) == list(result.logprobs)
    assert math.isclose(sum(result.scores.values()), 1.0, rel_tol=1e-6)
    assert result.parsed_label in task.labels
    assert result.raw_output == f"emotion: {result.parsed_label}"
    assert result.scores[result.parsed_label] == max(result.scores.values())
    best_sum = max(result.logprobs, key=result.logprobs.get)
    assert best_sum == result.parsed_label  # probabilities are a softmax of the summed log-probs
    assert set(result.mean_logprobs) == set(task.labels) and result.random_weights
    yes_no = omni_engine.predict(synthetic_clip(), task, SETTINGS, labels=("yes", "no"))
    assert set(yes_no.scores) == {"yes", "no"}


def test_batches_score_like_single_clips(omni_engine):
    task = builtin_task("MIntRec")
    clips = [synthetic_clip(0, seconds=2.0), synthetic_clip(1, frames=6, seconds=3.0),
             synthetic_clip(2, audio=False)]
    single = [omni_engine.predict(c, task, SETTINGS) for c in clips]
    batched = omni_engine.predict_batch(clips, task, SETTINGS, batch_size=3)
    for a, b in zip(single, batched, strict=True):
        assert a.audio_on == b.audio_on
        assert max(abs(a.logprobs[k] - b.logprobs[k]) for k in a.logprobs) < 1e-4
    assert [r.audio_on for r in batched] == [True, True, False]


def test_the_clips_audio_reaches_the_model(omni_engine):
    from dataclasses import replace

    import numpy as np

    task = builtin_task("MIntRec")
    clip = synthetic_clip()
    silent = replace(clip, audio=np.zeros_like(clip.audio))
    heard = omni_engine.predict(clip, task, SETTINGS).logprobs
    quiet = omni_engine.predict(silent, task, SETTINGS).logprobs
    assert max(abs(heard[k] - quiet[k]) for k in heard) > 1e-3
    off = omni_engine.predict(clip, task, InferenceSettings(max_pixels=SETTINGS.max_pixels,
                                                            audio_on=False))
    assert not off.audio_on and off.logprobs != heard


def test_engine_passes_use_audio_in_video_to_the_model(omni_engine):
    """Fails if the model half of audio-in-video is dropped anywhere on the way to forward."""
    task = builtin_task("MOSI")
    clip = synthetic_clip()
    inputs, plan, cands = _inputs(omni_engine, clip, task)
    model = omni_engine.model
    with_flag = naive_scores(model, "qwen2_5_omni", dict(inputs, use_audio_in_video=True),
                             plan.labels, cands)[0].sum_logprobs
    without = naive_scores(model, "qwen2_5_omni", dict(inputs, use_audio_in_video=False),
                           plan.labels, cands)[0].sum_logprobs
    flag_effect = max(abs(a - b) for a, b in zip(with_flag, without, strict=True))
    assert flag_effect > 1e-4  # the model half of the flag changes the positions
    seen = []
    inner = model.model  # the thinker body: where the flag builds the TMRoPE positions
    original = inner.forward

    def spy(*args, **kwargs):
        if kwargs.get("input_features") is not None:
            seen.append(kwargs.get("use_audio_in_video"))
        return original(*args, **kwargs)

    inner.forward = spy
    try:
        result = omni_engine.predict(clip, task, SETTINGS)
    finally:
        del inner.forward
    assert seen == [True]
    engine_scores = [result.logprobs[label] for label in plan.labels]
    assert max(abs(a - b) for a, b in zip(engine_scores, with_flag, strict=True)) < 1e-4


def test_generation_mode_scores_match_scoring_mode(omni_engine):
    task = builtin_task("MIntRec")
    clip = synthetic_clip()
    scored = omni_engine.predict(clip, task, SETTINGS)
    settings = InferenceSettings(max_pixels=SETTINGS.max_pixels, answer_mode="generation",
                                 max_new_tokens=5)
    generated = omni_engine.predict(clip, task, settings)
    assert generated.answer_mode == "generation"
    assert max(abs(scored.logprobs[k] - generated.logprobs[k]) for k in task.labels) < 1e-4
    assert generated.parsed_label in (*task.labels, "unknown", "multi")


def test_text_only_clips_after_video_batches_use_fresh_positions(vl_dir):
    """Qwen2-VL keeps the last batch's mRoPE offsets; a text-only pass must not reuse them."""
    from dataclasses import replace

    from mmla_core.models.engine import Engine

    engine = Engine.load(vl_dir, device="cpu")
    task = builtin_task("MOSI")
    clips = [synthetic_clip(0), synthetic_clip(1), replace(synthetic_clip(2), frames=None)]
    batched = engine.predict_batch(clips, task, SETTINGS, batch_size=3)
    single = engine.predict(clips[2], task, SETTINGS)
    assert max(abs(single.logprobs[k] - batched[2].logprobs[k]) for k in task.labels) < 1e-4
    engine.close()


def test_prefetching_inputs_in_a_thread_changes_nothing(omni_engine):
    from mmla_core.models.engine import Engine

    threaded = Engine(omni_engine.model, omni_engine.processor, omni_engine.info, prefetch=True)
    clips = [synthetic_clip(i) for i in range(3)]
    task = builtin_task("MOSI")
    plain = omni_engine.predict_batch(clips, task, SETTINGS, batch_size=1)
    ahead = threaded.predict_batch(clips, task, SETTINGS, batch_size=1)
    assert [r.logprobs for r in ahead] == [r.logprobs for r in plain]


@pytest.mark.parametrize("family_dir", ["omni_dir", "vl_dir", "text_dir"])
def test_scoring_and_generation_use_the_caches_current_name(request, family_dir):
    """transformers 5.40 drops `past_key_values` (5.25 warns on each use): the scoring passes and
    reads the cache by the name the model declares, so no deprecation is raised on our side."""
    import warnings

    from mmla_core.models.engine import Engine

    engine = Engine.load(request.getfixturevalue(family_dir), device="cpu")
    task = builtin_task("MELD")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*past_key_values.*")
        inputs, plan, cands = _inputs(engine, synthetic_clip(), task)
        score_candidates(engine.model, engine.info.family, inputs, plan.labels, cands)
        engine.predict(synthetic_clip(), task, InferenceSettings(
            max_pixels=models_fixtures.SMALL_PIXELS, answer_mode="generation", max_new_tokens=3))
