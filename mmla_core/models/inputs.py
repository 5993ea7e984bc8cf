"""A clip (or an in-memory variant) -> what a model of each family is fed.

Frames are sampled here with their real presentation times (MMLA: 4 frames, np.linspace over the
frame indices; or `sample_fps` per second, Qwen style), decoded with PyAV and handed to the
processor as arrays together with the rate they were really sampled at, which Qwen2.5-Omni turns
into TMRoPE seconds per grid. The audio is the clip's own 16 kHz track.

Audio-in-video has two halves (reference/ml_stack.md 0.2): the processor half
(`load_audio_from_video=True` with the decoded track, which interleaves audio and video tokens
per 2 s chunk) and the model half (`use_audio_in_video=True` on forward/generate, which builds
matching TMRoPE positions). Forgetting the second is silent, so `build_model_inputs` returns it
*inside* the inputs dict: `model(**inputs)` and `model.generate(**inputs)` cannot drop it.
The processor pads audio to 300 s by default; `audio_kwargs.max_length` caps it at the clip's
real length (the encoder only reads the unpadded frames, so logits are unchanged, 10x faster).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace

import numpy as np

from mmla_core.media.decode import FrameClock, MediaError, resample_audio, sample_times
from mmla_core.media.probe import probe
from mmla_core.models.prompting import chat_prompt, end_token_text
from mmla_core.models.registry import FAMILIES
from mmla_core.store.catalog import clip_media_path, get_clip
from mmla_core.variants.inmemory import build_in_memory, load_arrays

__all__ = [
    "AUDIO_RATE",
    "ClipInput",
    "InferenceSettings",
    "build_chat_inputs",
    "build_model_inputs",
    "build_model_inputs_batch",
    "chat_texts",
    "clip_input_from_arrays",
    "clip_input_from_store",
    "group_key",
    "sample_frame_times",
    "video_size",
    "with_view",
]

AUDIO_RATE = 16000
DEFAULT_FPS = 2.0  # what the processor assumes when no rate is known (a single frame)
MIN_AUDIO_SAMPLES = 1600  # 0.1 s: shorter tracks are zero-padded so the mel frontend has frames
VIDEO_MIN_PIXELS = 128 * 28 * 28  # Qwen's own lower bound for video frames (qwen-vl-utils)


@dataclass(frozen=True)
class InferenceSettings:
    num_frames: int | None = 4          # MMLA zero-shot used 4 frames; None -> use fps
    sample_fps: float | None = None
    max_pixels: int = 360 * 420
    audio_on: bool = True               # only meaningful for families that hear
    answer_mode: str = "scoring"        # "scoring" | "generation"
    prompt_kind: str = "zero_shot"      # zero_shot | visual_focused | audio_focused |
    #                                     check:<key> | custom
    template: str | None = None         # custom template text
    seed: int = 0
    max_new_tokens: int = 32
    attn_implementation: str | None = None  # None = auto; "eager" for attention maps

    def __post_init__(self):
        if (self.num_frames is None) == (self.sample_fps is None):
            raise ValueError("give exactly one of num_frames or sample_fps")
        if self.num_frames is not None and self.num_frames < 1:
            raise ValueError("num_frames must be at least 1")
        if self.sample_fps is not None and self.sample_fps <= 0:
            raise ValueError("sample_fps must be positive")
        if self.answer_mode not in ("scoring", "generation"):
            raise ValueError("answer_mode must be 'scoring' or 'generation'")
        if self.max_pixels < 28 * 28:
            raise ValueError("max_pixels must be at least 784 (one 28x28 patch)")


@dataclass(frozen=True)
class ClipInput:
    """One clip as arrays: what the model sees, hears and reads."""

    frames: np.ndarray | None        # (T, H, W, 3) uint8 RGB, already sampled
    frame_times: np.ndarray | None   # (T,) s: when each sampled frame is shown
    fps: float | None                # the rate the frames were sampled at
    audio: np.ndarray | None         # float32 mono at audio_rate (None: no track)
    transcript: str
    audio_rate: int = AUDIO_RATE
    clip_id: int | None = None
    recipe: dict | None = None       # the variant recipe when built in memory

    @property
    def has_video(self) -> bool:
        return self.frames is not None and len(self.frames) > 0

    @property
    def has_audio(self) -> bool:
        return self.audio is not None and self.audio.size > 0


def clip_input_from_arrays(arrays, clip_id: int | None = None) -> ClipInput:
    """From `variants.inmemory.VariantArrays`."""
    return ClipInput(arrays.frames, arrays.frame_times, arrays.fps, arrays.audio,
                     arrays.transcript, arrays.audio_rate, clip_id, arrays.recipe)


def sample_frame_times(path, settings: InferenceSettings) -> np.ndarray:
    """Presentation times to sample: `num_frames` by linspace over frames, or `sample_fps`."""
    clock = FrameClock.from_path(path)
    if settings.num_frames is not None:
        return sample_times(0.0, num_frames=settings.num_frames, clock=clock)
    steps = np.diff(clock.times)
    last_frame = float(np.median(steps)) if steps.size else 0.0  # the last frame lasts too
    duration = float(clock.times[-1] - clock.times[0]) + last_frame
    return sample_times(duration, fps=settings.sample_fps, clock=clock)


def clip_input_from_store(store, clip_id: int, settings: InferenceSettings, *,
                          recipe_steps=None, seed: int = 0) -> ClipInput:
    """Decode a clip (or build its variant in memory from `recipe_steps`) for the model.

    A variant row without its own file (text recipes, or one never written) is rebuilt in
    memory from its parent and its stored recipe.
    """
    row = get_clip(store, clip_id)
    if row is None:
        raise ValueError(f"no clip {clip_id} in the project")
    if recipe_steps is None and not row.get("media_path") and row.get("recipe_json"):
        recipe = json.loads(row["recipe_json"])
        recipe_steps, seed = recipe["steps"], recipe.get("seed", 0)
        parent = get_clip(store, row["parent_clip_id"])
        if parent is None:
            raise ValueError(f"clip {clip_id}: its parent clip {row['parent_clip_id']} is not in "
                             "the project")
        row = parent
    _require_media_file(row)
    times = _times_or_none(clip_media_path(row), settings)
    if recipe_steps is not None:
        arrays = build_in_memory(store, row["id"], recipe_steps, seed, times=times)
    else:
        arrays = load_arrays(clip_media_path(row), row.get("transcript") or "", times=times)
    return clip_input_from_arrays(arrays, clip_id)


def _require_media_file(row: dict) -> None:
    """A clip that names a media file is never fed as text because the file is gone: the
    evaluation records this error for it (and goes on with the other clips)."""
    path = clip_media_path(row)
    if path is not None and not os.path.exists(path):
        raise MediaError(f"clip {row['external_id']!r} (id {row['id']}): its media file {path} "
                         "is missing (not scored on its transcript alone; restore the file, "
                         "then `mmla media probe`)")


def _times_or_none(path, settings) -> np.ndarray | None:
    if path is None or not probe(path).has_video:
        return None
    return sample_frame_times(path, settings)


# --- processor calls ---------------------------------------------------------------------------

def video_size(settings: InferenceSettings) -> dict:
    """The processor's pixel range per frame: frames below Qwen's video minimum (~100k px) are
    upsampled toward it as the real processor does, and none exceeds `max_pixels`."""
    return {"shortest_edge": min(VIDEO_MIN_PIXELS, settings.max_pixels),
            "longest_edge": settings.max_pixels}


def _hears(family: str, clip: ClipInput, settings: InferenceSettings) -> bool:
    return FAMILIES[family].hears_audio and settings.audio_on and clip.has_audio


def _audio_track(clip: ClipInput) -> np.ndarray:
    audio = np.asarray(clip.audio, np.float32).reshape(-1)
    if clip.audio_rate != AUDIO_RATE:
        audio = resample_audio(audio, clip.audio_rate, AUDIO_RATE)
    if audio.size < MIN_AUDIO_SAMPLES:
        audio = np.pad(audio, (0, MIN_AUDIO_SAMPLES - audio.size))
    return audio


def build_model_inputs(processor, family: str, clip: ClipInput, prompt_text: str,
                       settings: InferenceSettings, *, answer_text: str | None = None) -> dict:
    """Processor outputs (torch tensors) for one clip, plus the model-side flags.

    `prompt_text` is the user turn (prompting.plan_prompt's text); it is chat-wrapped here with
    the family's media placeholders. `answer_text` (training, reference scoring) is appended
    after the assistant header with the end token.
    """
    return build_model_inputs_batch(processor, family, [clip], [prompt_text], settings,
                                    answer_texts=None if answer_text is None else [answer_text])


def build_model_inputs_batch(processor, family: str, clips: list[ClipInput],
                             prompt_texts: list[str], settings: InferenceSettings, *,
                             answer_texts: list[str] | None = None) -> dict:
    """Left-padded batch. All clips must agree on hearing (the model flag is per batch)."""
    texts, hear = chat_texts(processor, family, clips, prompt_texts, settings)
    if answer_texts is not None:
        end = end_token_text(processor)
        texts = [t + a + end for t, a in zip(texts, answer_texts, strict=True)]
    if family == "text_lm":
        tok = processor
        return dict(tok(texts, return_tensors="pt", padding=True, padding_side="left"))
    return _call_processor(processor, family, clips, texts, settings, hear)


def chat_texts(processor, family: str, clips: list[ClipInput], prompt_texts: list[str],
               settings: InferenceSettings) -> tuple[list[str], bool]:
    """Each clip's chat-wrapped prompt (media placeholders first) and whether the batch hears."""
    hears = {_hears(family, c, settings) for c in clips}
    if len(hears) > 1:
        raise ValueError("a batch mixes clips with and without audio; group them first")
    hear = hears.pop()
    sees = FAMILIES[family].sees_video
    return [chat_prompt(processor, family, text, video=sees and clip.has_video,
                        audio=hear and not clip.has_video)
            for clip, text in zip(clips, prompt_texts, strict=True)], hear


def build_chat_inputs(processor, family: str, clip: ClipInput, chat_text: str,
                      settings: InferenceSettings) -> dict:
    """Processor outputs for one clip and an already chat-wrapped text (e.g. a prompt cut
    after its media placeholders, the prefix several questions share)."""
    if family == "text_lm":
        return dict(processor([chat_text], return_tensors="pt"))
    return _call_processor(processor, family, [clip], [chat_text], settings,
                           _hears(family, clip, settings))


def _call_processor(processor, family, clips, texts, settings, hear: bool) -> dict:
    kwargs: dict = {"text": texts, "return_tensors": "pt", "padding": True,
                    "text_kwargs": {"padding_side": "left"}}
    videos = [c.frames for c in clips if c.has_video]
    if FAMILIES[family].sees_video and videos:
        if len(videos) != len(clips):
            raise ValueError("a batch mixes clips with and without video; group them first "
                             "(see group_key)")
        rates = [float(c.fps or DEFAULT_FPS) for c in clips]
        kwargs["videos"] = videos
        kwargs["videos_kwargs"] = {  # per-clip rates travel in the metadata (TMRoPE timing)
            "fps": rates[0], "size": video_size(settings),
            "video_metadata": [{"fps": r, "total_num_frames": len(v)}
                               for r, v in zip(rates, videos, strict=True)]}
    if hear:
        audio = [_audio_track(c) for c in clips]
        kwargs["audio"] = audio
        kwargs["audio_kwargs"] = {"max_length": max(a.size for a in audio)}
        if "videos" in kwargs:
            kwargs["audio_from_video_indices"] = list(range(len(clips)))
            kwargs["load_audio_from_video"] = True  # processor half of audio-in-video
    out = dict(processor(**kwargs))
    out.pop("video_metadata", None)
    if family == "qwen2_5_omni":
        out["use_audio_in_video"] = bool(hear and "videos" in kwargs)  # model half
    return out


def group_key(family: str, clip: ClipInput, settings: InferenceSettings) -> tuple:
    """Clips with equal keys can share one processor call and one forward."""
    return (_hears(family, clip, settings), FAMILIES[family].sees_video and clip.has_video)


def with_view(clip: ClipInput, view: str) -> ClipInput:
    """What an alignment check shows: muted audio, black frames, or the full clip."""
    if view == "muted" and clip.audio is not None:
        return replace(clip, audio=np.zeros_like(clip.audio))
    if view == "black_frames" and clip.frames is not None:
        return replace(clip, frames=np.zeros_like(clip.frames))
    return clip
