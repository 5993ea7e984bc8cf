"""The `audios` file of a variant in a LLaMA-Factory export (Qwen2.5-Omni training data).

LLaMA-Factory feeds Qwen2.5-Omni a record's `audios` entry as the sound of the clip. For a clip,
or a variant whose audio is the video's own, that is the MP4 itself. When a recipe changed the
audio (swapped, silenced, shifted, noisy), the variant's audio is written once as a 16 kHz mono
WAV beside the variant's MP4 (`<name>.16k.wav`, atomically) and that file is listed instead,
so the training data states plainly which sound goes with which frames.
"""

from __future__ import annotations

import json
from pathlib import Path

import soundfile

from mmla_core.fsutil import atomic_path
from mmla_core.media.decode import decode_audio

__all__ = ["AUDIO_CHANGING", "SIDECAR_SUFFIX", "audio_differs", "export_audio_path"]

AUDIO_CHANGING = frozenset({"audio_swap", "audio_silent", "audio_noise", "av_offset"})
SIDECAR_SUFFIX = ".16k.wav"
EXPORT_RATE = 16000


def audio_differs(clip: dict) -> bool:
    """True for a variant with its own file whose final audio is not the parent's original."""
    recipe = json.loads(clip.get("recipe_json") or "{}")
    if not recipe.get("owns_media"):
        return False
    names = [step["name"] for step in recipe.get("steps", [])]
    audio_steps = [n for n in names if n in AUDIO_CHANGING or n == "audio_removed"]
    return bool(audio_steps) and audio_steps[-1] != "audio_removed"


def export_audio_path(clip: dict, media: Path) -> Path:
    """The path for the record's `audios` entry: `media`, or the variant's 16 kHz WAV.

    The WAV is (re)written when missing or older than the MP4. Raises MediaError when the
    variant's audio cannot be decoded, OSError when the WAV cannot be written.
    """
    media = Path(media)
    if not audio_differs(clip):
        return media
    wav = media.with_suffix(SIDECAR_SUFFIX)
    if wav.is_file() and wav.stat().st_mtime_ns >= media.stat().st_mtime_ns:
        return wav
    samples = decode_audio(media, EXPORT_RATE)
    with atomic_path(wav, suffix=".wav") as tmp:
        soundfile.write(tmp, samples, EXPORT_RATE, subtype="PCM_16", format="WAV")
    return wav
