"""Write a planned variant to MP4: copy every stream the recipe leaves alone, re-encode only
the one it changes, atomically, and never twice.

The file is named by the plan's content key, so an existing file *is* the finished variant
(it appears only by an atomic rename): writing again is a no-op, and a batch interrupted between
writing a file and recording its row resumes by just recording it. Swapped audio is copied
packet for packet when the donor's stream already has the target's codec, rate, channels and
exact length; otherwise it is decoded, fitted to the target's length and re-encoded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmla_core.fsutil import atomic_path
from mmla_core.media.decode import MediaError
from mmla_core.media.probe import DURATION_TOLERANCE_S, MediaInfo, probe
from mmla_core.variants.plan import VariantPlan
from mmla_core.variants.recipes import VariantError
from mmla_core.variants.streams import BlackVideo, CopyStream, EncodedAudio, decode_planar, mux
from mmla_core.variants.transforms import add_noise, fit_length, shift_audio

if TYPE_CHECKING:
    pass

__all__ = ["AudioSpec", "check_parent", "write_variant"]

BROKEN = ("missing_file", "empty_file", "unreadable", "not_a_file")
INFO_FIELDS = ("duration_s", "video_duration_s", "audio_duration_s", "fps", "frame_count",
               "width", "height", "video_codec", "audio_codec", "audio_rate", "audio_channels",
               "health", "health_detail")
DEFAULT_AUDIO_RATE = 16000


@dataclass(frozen=True)
class AudioSpec:
    """The rate, channels and exact sample count the variant's audio must have."""

    rate: int
    channels: int
    samples: int


def write_variant(plan: VariantPlan) -> Path | None:
    """Write `plan.out_path` unless it exists; None when the variant reuses the parent's media.

    Every failure is a VariantError naming the clip and recipe; no partial file is left.
    """
    import av

    if plan.out_path is None:
        return None
    out = Path(plan.out_path)
    if out.is_file():
        return out
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        info = check_parent(plan)
        sources = [s for s in (_video_source(plan, info), _audio_source(plan, info)) if s]
        if not sources:
            raise VariantError(plan.parent_name, plan.label, "no stream would be left to write")
        with atomic_path(out, suffix=".mp4") as tmp:
            mux(tmp, sources)
    except VariantError:
        raise
    except (MediaError, av.FFmpegError, ValueError, OSError) as exc:
        raise VariantError(plan.parent_name, plan.label, f"writing {out.name} failed: {exc}") \
            from exc
    return out


def media_info(path: str, facts: dict | None) -> MediaInfo:
    """The stored probe of `path` when the file is unchanged since (size and mtime), else a
    fresh probe: saves opening the file once more per variant in a batch."""
    if facts and facts.get("health") not in (None, "unprobed") and facts.get("media_size"):
        try:
            stat = os.stat(path)
        except OSError:
            return probe(path)
        if stat.st_size == facts["media_size"] and stat.st_mtime == facts.get("media_mtime"):
            values: dict[str, Any] = {k: facts.get(k) for k in INFO_FIELDS}  # as probe stored them
            return MediaInfo(path=str(path), size=stat.st_size, mtime=stat.st_mtime,
                             has_video=bool(facts.get("has_video")),
                             has_audio=bool(facts.get("has_audio")),
                             is_vfr=bool(facts.get("is_vfr")), **values)
    return probe(path)


def _parent_media(plan: VariantPlan) -> str:
    """The parent's media file, which every plan that writes one has: `plan_variant` gives a
    plan an out_path only with it (a text-only variant writes no file)."""
    if plan.parent_media is None:
        raise VariantError(plan.parent_name, plan.label, "the clip has no media file")
    return plan.parent_media


def check_parent(plan: VariantPlan) -> MediaInfo:
    """The parent's probe, refusing broken, zero-length and uneven-length clips."""
    media = _parent_media(plan)
    info = media_info(media, plan.facts.get(media))
    fail = _refusal(info)
    if fail:
        raise VariantError(plan.parent_name, plan.label, fail)
    return info


def _refusal(info: MediaInfo) -> str | None:
    if set(info.problems) & set(BROKEN):
        return f"the clip's media cannot be used: {info.health_detail}"
    lengths = [d for d in (info.video_duration_s, info.audio_duration_s) if d is not None]
    if not lengths or max(lengths) <= 0 or (info.has_video and not info.frame_count):
        return "zero-length clip: there is nothing to build a variant from"
    if len(lengths) == 2 and abs(lengths[0] - lengths[1]) > DURATION_TOLERANCE_S:
        return (f"its streams differ in length (video {lengths[0]:.3f} s, audio "
                f"{lengths[1]:.3f} s); a variant must keep one clock, trim the clip first")
    return None


def _video_source(plan: VariantPlan, info: MediaInfo):
    black = any(name == "frames_black" for name, _ in plan.steps)
    if black and not info.has_video:
        raise VariantError(plan.parent_name, "frames_black", "the clip has no video stream")
    if not info.has_video:
        return None
    return BlackVideo(_parent_media(plan)) if black else CopyStream(_parent_media(plan), "video")


def _audio_spec(plan: VariantPlan, info: MediaInfo) -> AudioSpec:
    """The parent's own rate and channels (mono or stereo), else the first donor's, else 16 kHz
    mono; the parent's audio length, else its video length (a swap into a video-only clip)."""
    rate, channels = info.audio_rate, info.audio_channels
    if not info.has_audio:
        donors = [media_info(path, plan.facts.get(path)) for path in plan.donor_media.values()]
        first = next((d for d in donors if d.has_audio), None)
        rate, channels = (first.audio_rate, first.audio_channels) if first else (None, None)
    rate = rate or DEFAULT_AUDIO_RATE
    length = info.audio_duration_s if info.has_audio else info.video_duration_s
    return AudioSpec(rate, 2 if (channels or 1) >= 2 else 1, round((length or 0.0) * rate))


def _audio_source(plan: VariantPlan, info: MediaInfo):
    """Follow the steps' audio edits; copy when the result is an untouched stream."""
    spec = _audio_spec(plan, info)
    state: tuple | None = ("parent",) if info.has_audio else None
    samples = None
    for (name, params), seed in zip(plan.steps, plan.step_seeds, strict=True):
        if name == "audio_swap":
            state, samples = ("donor", params["donor_clip_id"], params["fit"]), None
        elif name in ("audio_silent", "audio_removed"):
            state, samples = (("silence",) if name == "audio_silent" else None), None
        elif name in ("av_offset", "audio_noise"):
            if state is None:
                raise VariantError(plan.parent_name, name, "there is no audio to change")
            current = samples if samples is not None else _materialize(plan, state, spec)
            samples = _edit(plan, name, params, seed, current, spec.rate)
    if state is None:
        return None
    if samples is not None:
        return EncodedAudio(samples, spec.rate)
    if state[0] == "parent":
        return CopyStream(_parent_media(plan), "audio")
    if state[0] == "donor" and _donor_copyable(plan, plan.donor_media[state[1]], spec):
        return CopyStream(plan.donor_media[state[1]], "audio")
    return EncodedAudio(_materialize(plan, state, spec), spec.rate)


def _materialize(plan: VariantPlan, state: tuple, spec: AudioSpec) -> np.ndarray:
    if state[0] == "silence":
        return np.zeros((spec.channels, spec.samples), np.float32)
    if state[0] == "parent":
        return fit_length(decode_planar(_parent_media(plan), spec.rate, spec.channels),
                          spec.samples, "pad")
    try:
        donor = decode_planar(plan.donor_media[state[1]], spec.rate, spec.channels)
    except ValueError as exc:
        raise VariantError(plan.parent_name, "audio_swap",
                           f"donor clip {state[1]} gives no audio ({exc})") from exc
    if donor.shape[1] == 0:
        raise VariantError(plan.parent_name, "audio_swap", f"donor clip {state[1]} is silent "
                           "(zero samples)")
    return fit_length(donor, spec.samples, state[2])


def _edit(plan: VariantPlan, name: str, params: dict, seed: int, audio: np.ndarray,
          rate: int) -> np.ndarray:
    if name == "av_offset":
        return shift_audio(audio, rate, params["ms"], params["start_s"], params["end_s"])
    try:
        return add_noise(audio, rate, params["snr_db"], seed, params["start_s"], params["end_s"])
    except ValueError as exc:
        raise VariantError(plan.parent_name, name, str(exc)) from exc


def _donor_copyable(plan: VariantPlan, path: str, spec: AudioSpec) -> bool:
    """True when the donor's packets already are the target's audio, sample for sample."""
    donor = media_info(path, plan.facts.get(path))
    if not donor.has_audio or donor.audio_codec != "aac" or donor.audio_rate != spec.rate:
        return False
    if (donor.audio_channels or 0) != spec.channels or donor.audio_duration_s is None:
        return False
    return round(donor.audio_duration_s * spec.rate) == spec.samples
