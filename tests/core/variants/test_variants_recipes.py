"""Recipe registry, parameter checks, the CLI spec syntax, badges and the pure transforms."""

from __future__ import annotations

import numpy as np
import pytest

from mmla_core.variants.recipes import (
    RECIPES,
    RecipeError,
    badge,
    format_spec,
    normalize_steps,
    parse_spec,
    validate_step,
)
from mmla_core.variants.transforms import (
    add_noise,
    derive_seed,
    fit_length,
    long_context,
    prepend_caption,
    shift_audio,
)


def test_registry_names_the_eight_recipes_with_defaults():
    assert list(RECIPES) == ["audio_swap", "frames_black", "audio_silent", "audio_removed",
                             "caption_misleading", "context_long", "av_offset", "audio_noise"]
    assert validate_step("av_offset") == ("av_offset", {"ms": 200, "start_s": None,
                                                        "end_s": None})
    assert validate_step("audio_swap")[1] == {"donor_clip_id": None, "fit": "loop"}
    assert RECIPES["frames_black"].changes == {"video"}


@pytest.mark.parametrize(("name", "params", "message"), [
    ("nope", {}, "unknown recipe 'nope'"),
    ("av_offset", {"seconds": 1}, "unknown parameter(s) seconds"),
    ("av_offset", {"ms": "soon"}, "ms='soon' is not a int"),
    ("av_offset", {"ms": 1.5}, "is not a int"),
    ("audio_noise", {"snr_db": 500}, "snr_db must be <= 80"),
    ("audio_noise", {"snr_db": float("nan")}, "is not a float"),
    ("audio_swap", {"fit": "stretch"}, "fit must be one of ['loop', 'pad']"),
    ("audio_noise", {"start_s": 2.0, "end_s": 1.0}, "end_s (1.0) must be after start_s"),
    ("context_long", {"words": 0}, "words must be >= 1"),
])
def test_bad_parameters_are_refused_with_the_reason(name, params, message):
    with pytest.raises(RecipeError) as err:
        validate_step(name, params)
    assert message in str(err.value)


def test_steps_accept_names_pairs_and_dicts_and_need_one():
    steps = normalize_steps(["frames_black", ("audio_swap", {"donor_clip_id": "7"}),
                             {"name": "audio_noise", "params": {"snr_db": "5"}}])
    assert [n for n, _ in steps] == ["frames_black", "audio_swap", "audio_noise"]
    assert steps[1][1]["donor_clip_id"] == 7 and steps[2][1]["snr_db"] == 5.0
    with pytest.raises(RecipeError):
        normalize_steps([])


def test_cli_spec_round_trips():
    variants = parse_spec("audio_swap, frames_black+audio_swap:fit=pad ,av_offset:ms=-300")
    assert [[n for n, _ in v] for v in variants] == [
        ["audio_swap"], ["frames_black", "audio_swap"], ["av_offset"]]
    assert variants[2][0][1]["ms"] == -300
    assert format_spec(variants[1]) == "frames_black+audio_swap:fit=pad"
    with pytest.raises(RecipeError, match="key=value"):
        parse_spec("av_offset:300")
    with pytest.raises(RecipeError, match="no recipes"):
        parse_spec(" , ")


def test_badges_say_what_changed():
    recipe = {"steps": [
        {"name": "audio_swap", "params": {"donor_clip_id": 17}},
        {"name": "frames_black", "params": {}},
        {"name": "caption_misleading", "params": {"mode": "replace", "donor_clip_id": 3}},
        {"name": "av_offset", "params": {"ms": -120, "start_s": 1.0, "end_s": 2.5}},
    ]}
    assert badge(recipe) == ("audio ← clip 17 · frames black · transcript replaced (← clip 3)"
                             " · audio offset -120 ms (1–2.5 s)")


def test_fit_length_trims_loops_and_pads():
    signal = np.arange(1, 5, dtype=np.float32)[None, :]
    assert fit_length(signal, 2).tolist() == [[1, 2]]
    assert fit_length(signal, 10, "loop").tolist() == [[1, 2, 3, 4, 1, 2, 3, 4, 1, 2]]
    assert fit_length(signal, 6, "pad").tolist() == [[1, 2, 3, 4, 0, 0]]


def test_shift_keeps_length_and_only_moves_the_range():
    rate = 1000
    audio = np.arange(1, 11, dtype=np.float32)[None, :]
    assert shift_audio(audio, rate, 3).tolist() == [[0, 0, 0, 1, 2, 3, 4, 5, 6, 7]]
    assert shift_audio(audio, rate, -3).tolist() == [[4, 5, 6, 7, 8, 9, 10, 0, 0, 0]]
    ranged = shift_audio(audio, rate, 2, start_s=0.004, end_s=0.007)
    assert ranged.tolist() == [[1, 2, 3, 4, 3, 4, 5, 8, 9, 10]]


def test_noise_hits_the_snr_is_seeded_and_refuses_silence():
    clean = (0.3 * np.sin(np.arange(32000) / 7.0))[None, :].astype(np.float32)
    noisy = add_noise(clean, 16000, 10.0, seed=5)
    snr = 10 * np.log10(np.mean(clean**2) / np.mean((noisy - clean) ** 2))
    assert abs(snr - 10.0) < 0.2
    assert np.array_equal(noisy, add_noise(clean, 16000, 10.0, seed=5))
    assert not np.array_equal(noisy, add_noise(clean, 16000, 10.0, seed=6))
    ranged = add_noise(clean, 16000, 0.0, seed=1, start_s=0.5, end_s=1.0)
    assert np.array_equal(ranged[:, :8000], clean[:, :8000])
    assert np.array_equal(ranged[:, 16000:], clean[:, 16000:])
    with pytest.raises(ValueError, match="silent"):
        add_noise(np.zeros((1, 100), np.float32), 16000, 10.0, seed=0)


def test_text_transforms_and_seeds():
    assert prepend_caption("hi there", "Fowl") == "Video_caption: Fowl. hi there"
    text = long_context("hi", 10_000, "letters", seed=3)
    assert text.startswith("hi ") and len(text.split()) == 10_001
    assert all(len(w) == 1 for w in text.split()[1:])
    assert long_context("hi", 50, "words", seed=3) == long_context("hi", 50, "words", seed=3)
    assert long_context("hi", 50, "words", seed=3) != long_context("hi", 50, "words", seed=4)
    assert derive_seed(0, 12, 0, "audio_swap") == derive_seed(0, 12, 0, "audio_swap")
    assert derive_seed(0, 12, 0, "audio_swap") != derive_seed(1, 12, 0, "audio_swap")
