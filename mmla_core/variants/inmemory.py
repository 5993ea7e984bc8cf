"""Build a variant as arrays for probing, with no file (DESIGN rule 5: write only when needed).

The parent is decoded once (frames uint8 THWC with their real presentation times, audio
float32 mono 16 kHz) and every variant is derived from those arrays: black frames are a fresh
zero array, removed audio is None, swapped audio is the donor's, fitted to the parent's length
exactly as the writer fits it. Arrays a recipe leaves alone are shared, not copied.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from mmla_core.media.decode import MediaError, decode_audio, decode_frames_at, frame_times
from mmla_core.media.probe import probe
from mmla_core.store.catalog import get_clip
from mmla_core.store.db import Store
from mmla_core.variants.plan import DatasetContext, VariantPlan, plan_variant
from mmla_core.variants.recipes import VariantError
from mmla_core.variants.store_ops import variants_dir
from mmla_core.variants.transforms import add_noise, fit_length, shift_audio
from mmla_core.variants.writer import check_parent

__all__ = ["AUDIO_RATE", "MODEL_AUDIO_LIMIT_S", "VariantArrays", "apply_plan", "build_in_memory",
           "load_arrays"]

AUDIO_RATE = 16000
# The most audio a model takes: Qwen2.5-Omni's feature extractor reads 300 s (chunk_length
# 300). Decoding more only costs time (a 3-hour FLAC took 434 s per prediction) and memory.
MODEL_AUDIO_LIMIT_S = 300.0
DonorAudio = Callable[[int], np.ndarray]


@dataclass(frozen=True)
class VariantArrays:
    """A clip (or variant) as model inputs: what the model sees, hears and reads."""

    frames: np.ndarray | None  # (T, H, W, 3) uint8 RGB
    frame_times: np.ndarray | None  # (T,) s: when each frame is shown
    fps: float | None  # the rate the frames were sampled at (pass it to the processor)
    audio: np.ndarray | None  # (samples,) float32 mono at audio_rate
    audio_rate: int
    transcript: str
    audio_length: int  # samples the clip's audio lasts (kept when a recipe replaces it)
    recipe: dict | None = None  # None: the parent itself


def load_arrays(path: str | os.PathLike | None, transcript: str, *, times=None,
                max_side: int | None = None,
                max_audio_s: float = MODEL_AUDIO_LIMIT_S) -> VariantArrays:
    """Decode a clip once: every frame (or those shown at `times`) and its 16 kHz audio, the
    audio only as far as a model takes it (`max_audio_s`)."""
    if path is None:
        return VariantArrays(None, None, None, None, AUDIO_RATE, transcript, 0)
    info = probe(path)
    if not (info.has_video or info.has_audio):  # broken or stream-less: never a silent text-only
        raise MediaError(info.health_detail or f"{path}: holds no audio or video stream")
    if "unreadable" in info.problems:  # damaged frames, an absurd sample rate: not a model input
        raise MediaError(info.health_detail)
    frames = shown = fps = None
    if info.has_video:
        all_times = frame_times(path)
        shown = all_times if times is None else np.asarray(times, np.float64)
        frames = decode_frames_at(path, shown, max_side=max_side)
        fps = info.fps if times is None else _sampled_fps(shown, info.fps)
    audio = decode_audio(path, AUDIO_RATE, max_s=max_audio_s) if info.has_audio else None
    video_length = round(min(info.video_duration_s or 0.0, max_audio_s) * AUDIO_RATE)
    length = audio.size if audio is not None else video_length
    return VariantArrays(frames, shown, fps, audio, AUDIO_RATE, transcript, length)


def _sampled_fps(times: np.ndarray, native: float | None) -> float | None:
    if times.size < 2:
        return native
    return float((times.size - 1) / (times[-1] - times[0])) if times[-1] > times[0] else native


def apply_plan(base: VariantArrays, plan: VariantPlan, donor_audio: DonorAudio) -> VariantArrays:
    """The variant of `base` that `plan` describes (the same edits the writer makes)."""
    frames, audio = base.frames, base.audio
    for (name, params), seed in zip(plan.steps, plan.step_seeds, strict=True):
        if name == "frames_black":
            if frames is None:
                raise VariantError(plan.parent_name, name, "the clip has no video stream")
            frames = np.zeros(frames.shape, np.uint8)  # calloc: costs nothing until read
        elif name == "audio_swap":
            donor = donor_audio(params["donor_clip_id"])[None, :]
            audio = fit_length(donor, base.audio_length, params["fit"])[0]
        elif name == "audio_silent":
            audio = np.zeros(base.audio_length, np.float32)
        elif name == "audio_removed":
            audio = None
        elif name in ("av_offset", "audio_noise"):
            audio = _edit(plan, name, params, seed, audio)
    return replace(base, frames=frames, audio=audio, transcript=plan.transcript,
                   recipe=plan.recipe())


def _edit(plan: VariantPlan, name: str, params: dict, seed: int,
          audio: np.ndarray | None) -> np.ndarray:
    if audio is None:
        raise VariantError(plan.parent_name, name, "there is no audio to change")
    planar = audio[None, :]
    if name == "av_offset":
        return shift_audio(planar, AUDIO_RATE, params["ms"], params["start_s"], params["end_s"])[0]
    try:
        return add_noise(planar, AUDIO_RATE, params["snr_db"], seed, params["start_s"],
                         params["end_s"])[0]
    except ValueError as exc:
        raise VariantError(plan.parent_name, name, str(exc)) from exc


def donor_loader(plan_donors: dict) -> DonorAudio:
    """Decode each donor's audio once (16 kHz mono, at most what a model takes), however many
    variants use it."""
    cache: dict[int, np.ndarray] = {}

    def load(clip_id: int) -> np.ndarray:
        if clip_id not in cache:
            cache[clip_id] = decode_audio(plan_donors[clip_id], AUDIO_RATE,
                                          max_s=MODEL_AUDIO_LIMIT_S)
        return cache[clip_id]

    return load


def build_in_memory(store: Store, parent_id: int, steps, seed: int = 0, *, times=None,
                    max_side: int | None = None) -> VariantArrays:
    """Plan and build one variant of `parent_id` as arrays; nothing is written."""
    row = get_clip(store, parent_id)
    if row is None:
        raise VariantError(f"clip {parent_id}", "-", "no such clip in the project")
    ctx = DatasetContext(store, row["dataset_id"], preload=False)
    plan = plan_variant(ctx, parent_id, steps, seed, variants_dir(store, row["dataset_name"]))
    if plan.out_path is not None:
        check_parent(plan)
    media = plan.parent_media or _media_or_none(ctx, parent_id)
    base = load_arrays(media, ctx.clip(parent_id).transcript, times=times, max_side=max_side)
    return apply_plan(base, plan, donor_loader(plan.donor_media))


def _media_or_none(ctx: DatasetContext, clip_id: int) -> str | None:
    try:
        return ctx.clip(clip_id).media("-")
    except VariantError:
        return None
