"""Clip -> model inputs: frame sampling, pixel cap, both audio-in-video halves, the audio cap."""

import numpy as np
import pytest

from mmla_core.models.inputs import (
    InferenceSettings,
    build_model_inputs,
    build_model_inputs_batch,
    clip_input_from_store,
    sample_frame_times,
)
from tests.support import models_fixtures

omni_dir = models_fixtures.omni_dir
vl_dir = models_fixtures.vl_dir
vl25_dir = models_fixtures.vl25_dir
text_dir = models_fixtures.text_dir
models_demo_db = models_fixtures.models_demo_db
synthetic_clip = models_fixtures.synthetic_clip
SMALL = models_fixtures.SMALL_PIXELS


@pytest.fixture(scope="module")
def processors(omni_dir, vl_dir, vl25_dir, text_dir):
    from mmla_core.models.processors import load_processor

    return {family: load_processor(path, family) for family, path in (
        ("qwen2_5_omni", omni_dir), ("qwen2_vl", vl_dir), ("qwen2_5_vl", vl25_dir),
        ("text_lm", text_dir))}


def test_settings_validate():
    with pytest.raises(ValueError, match="exactly one"):
        InferenceSettings(num_frames=4, sample_fps=2.0)
    with pytest.raises(ValueError, match="answer_mode"):
        InferenceSettings(answer_mode="vote")


def test_num_frames_is_mmla_linspace_and_fps_samples_per_second(good_clip):
    from mmla_core.media.decode import frame_times

    times = frame_times(good_clip)  # 2 s at 25 fps
    four = sample_frame_times(good_clip, InferenceSettings(num_frames=4))
    picks = np.linspace(0, len(times) - 1, 4).round().astype(int)
    assert np.allclose(four, times[picks])
    two_fps = sample_frame_times(good_clip, InferenceSettings(num_frames=None, sample_fps=2.0))
    assert np.allclose(two_fps, [0.0, 0.48, 1.0, 1.48])  # the frames shown at k / 2 s


def test_clip_from_store_honours_settings(models_demo_db):
    from mmla_core.store import open_store

    with open_store(models_demo_db) as store:
        four = clip_input_from_store(store, 1, InferenceSettings(num_frames=4))
        dense = clip_input_from_store(store, 1, InferenceSettings(num_frames=None, sample_fps=4.0))
        variant = clip_input_from_store(store, 1, InferenceSettings(),
                                        recipe_steps=["frames_black", "audio_silent"])
    assert four.frames.shape[0] == 4 and four.has_audio and four.transcript
    assert dense.frames.shape[0] == int(np.floor(dense.audio.size / 16000 * 4 + 1e-9))
    assert abs(dense.fps - 4.0) < 0.2  # the rate really sampled, from the frames' times
    assert four.fps == pytest.approx(3 / (four.frame_times[-1] - four.frame_times[0]))
    assert not variant.frames.any() and not variant.audio.any()
    assert variant.recipe["steps"][0]["name"] == "frames_black"


def _count(inputs, token_id):
    return int((inputs["input_ids"] == token_id).sum())


def test_omni_gets_both_audio_in_video_halves_and_a_capped_track(processors):
    proc = processors["qwen2_5_omni"]
    clip = synthetic_clip(seconds=2.0)
    inputs = build_model_inputs(proc, "qwen2_5_omni", clip, "Which intent?",
                                InferenceSettings(max_pixels=SMALL))
    assert inputs["use_audio_in_video"] is True  # the model half travels with the inputs
    # processor half: audio tokens interleaved inside the video block, 25 per second
    assert _count(inputs, proc.tokenizer.audio_token_id) == 50
    assert _count(inputs, proc.tokenizer.audio_bos_token_id) == 1
    # audio padding capped to the clip's own 2 s (200 mel frames), not the 30 s default
    assert inputs["input_features"].shape[-1] == 200
    assert int(inputs["feature_attention_mask"].sum()) == 200


def test_audio_off_and_video_only_families_get_no_audio(processors):
    clip = synthetic_clip()
    muted = build_model_inputs(processors["qwen2_5_omni"], "qwen2_5_omni", clip, "q",
                               InferenceSettings(max_pixels=SMALL, audio_on=False))
    assert muted["use_audio_in_video"] is False and "input_features" not in muted
    assert _count(muted, processors["qwen2_5_omni"].tokenizer.audio_token_id) == 0
    for family in ("qwen2_vl", "qwen2_5_vl"):
        inputs = build_model_inputs(processors[family], family, clip, "q",
                                    InferenceSettings(max_pixels=SMALL))
        assert "input_features" not in inputs and "use_audio_in_video" not in inputs
        assert "pixel_values_videos" in inputs
    text = build_model_inputs(processors["text_lm"], "text_lm", clip, "q", InferenceSettings())
    assert set(text) == {"input_ids", "attention_mask"}


def test_max_pixels_caps_the_grid(processors):
    proc = processors["qwen2_vl"]
    clip = synthetic_clip()
    for cap in (SMALL, 4 * SMALL):
        inputs = build_model_inputs(proc, "qwen2_vl", clip, "q", InferenceSettings(max_pixels=cap))
        t, h, w = inputs["video_grid_thw"][0].tolist()
        assert t == 2 and h * w * 14 * 14 <= cap


def test_numpy_video_processor_matches_the_real_patch_layout(processors):
    """Two identical frames through our video processor = one image through transformers'."""
    proc = processors["qwen2_vl"]
    size = {"shortest_edge": 56 * 56, "longest_edge": SMALL}
    frame = np.random.default_rng(3).integers(0, 255, (112, 84, 3), dtype=np.uint8)  # no resize
    video = proc.video_processor([np.stack([frame, frame])], size=size)
    image = proc.image_processor(frame, size=size, return_tensors="np")
    assert video["video_grid_thw"].tolist() == image["image_grid_thw"].tolist() == [[1, 8, 6]]
    assert np.abs(video["pixel_values_videos"] - image["pixel_values"]).max() < 1e-5
    big = np.random.default_rng(4).integers(0, 255, (360, 640, 3), dtype=np.uint8)
    video = proc.video_processor([np.stack([big, big])], size=size)
    image = proc.image_processor(big, size=size, return_tensors="np")
    assert video["video_grid_thw"].tolist() == image["image_grid_thw"].tolist()


def test_batch_keeps_each_clips_sampling_rate(processors):
    proc = processors["qwen2_5_omni"]
    clips = [synthetic_clip(0, seconds=2.0), synthetic_clip(1, frames=4, seconds=4.0)]
    batch = build_model_inputs_batch(proc, "qwen2_5_omni", clips, ["a", "b"],
                                      InferenceSettings(max_pixels=SMALL))
    expected = [2 / c.fps for c in clips]
    assert batch["video_second_per_grid"].tolist() == pytest.approx(expected)
    assert batch["attention_mask"][:, 0].tolist().count(0) <= 1  # left padded


def test_processor_reloads_identically(tmp_path, processors):
    from mmla_core.models.processors import load_processor, save_processor

    proc = processors["qwen2_5_omni"]
    save_processor(proc, tmp_path)
    again = load_processor(tmp_path, "qwen2_5_omni")
    clip, settings = synthetic_clip(), InferenceSettings(max_pixels=SMALL)
    a = build_model_inputs(proc, "qwen2_5_omni", clip, "q", settings)
    b = build_model_inputs(again, "qwen2_5_omni", clip, "q", settings)
    for key in ("input_ids", "pixel_values_videos", "input_features"):
        assert np.array_equal(np.asarray(a[key]), np.asarray(b[key]))


def test_omni_tokenizer_without_named_media_tokens_still_loads(tmp_path, omni_dir):
    import json
    import shutil

    from mmla_core.models.processors import load_processor

    folder = shutil.copytree(omni_dir, tmp_path / "old")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    for key in ("audio_token", "image_token", "video_token", "audio_bos_token"):
        config.pop(key)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    proc = load_processor(folder, "qwen2_5_omni")
    assert proc.tokenizer.convert_ids_to_tokens(proc.audio_token_id) == "<|AUDIO|>"
