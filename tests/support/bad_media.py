"""A corpus of broken and unusual media files, generated (no downloads), for the reliability tests.

`build_corpus(folder)` writes every kind it can make into `folder` and returns {kind: path}.
Kinds that need something this machine lacks (the ffmpeg CLI, a non-root user for unreadable
files) are left out, so the corpus shrinks on such machines instead of failing; the tests check
that at least MIN_KINDS were made. Clips are short and small: the whole corpus takes ~10 s.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mmla_core.media.mp4writer import write_mp4
from mmla_core.media.synth import (
    make_clip,
    make_garbage,
    make_truncated,
    make_zero_byte,
    render_frames,
    speech_audio,
)

MIN_KINDS = 30
# Kinds a healthy pipeline must fully handle (import, decode, waveform, variants, inputs).
PLAYABLE = {
    "good", "audio_only_m4a", "audio_only_mp4", "video_only", "vfr", "fps_1", "fps_120", "uhd_4k",
    "portrait", "rate_8k", "rate_22k", "rate_44k", "rate_48k", "stereo", "surround_5_1",
    "long_gap_1h", "ten_hours", "non_ascii_name", "spaces_name", "single_frame", "tiny_16px",
    "odd_size",
    "silent_audio", "short_audio", "mp4_named_wav", "upper_ext", "audio_late", "symlink",
    "wav_pcm", "mkv", "webm", "avi_mjpeg", "mov", "mp3", "flac", "hevc",
}

AUDIO_ONLY = {"audio_only_m4a", "audio_only_mp4", "wav_pcm", "mp3", "flac", "wav_header_lies",
              "wav_named_mp4"}
BROKEN = {"truncated_30pct", "truncated_moov_at_end", "zero_bytes", "random_bytes",
          "dangling_symlink", "no_streams", "unreadable"}  # no usable stream: an error is due


def _frames(n: int, width: int, height: int, seed: int = 0) -> list[np.ndarray]:
    return list(render_frames(n, width, height, caption="x", color=(90, 60, 30), seed=seed))


def _tone(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    mono = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return mono if channels == 1 else np.stack([mono] * channels, axis=1)


def _clip(fps: float = 25, seconds: float = 1.0, width: int = 160, height: int = 120,
          rate: int = 16000, channels: int = 1) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        frames = _frames(max(1, round(seconds * fps)), width, height)
        return write_mp4(path, frames, fps, _tone(seconds, rate, channels), rate)
    return make


def _speech(path: Path, **kw) -> Path:
    return make_clip(path, text="hello there", duration_s=1.0, width=160, height=120, **kw)


def _long_gap(path: Path) -> Path:
    """Three frames an hour apart (and 1 s of audio): a long clip in a file of a few kB.

    (An hour, not ten: x264 keeps 32-bit timestamps, so 10 h on a 90 kHz clock wraps.)
    """
    return write_mp4(path, _frames(3, 64, 48), 25, _tone(1.0, 16000), 16000,
                     vfr_times=[0.0, 1800.0, 3600.0])


def _wav_header_lies(path: Path) -> Path:
    """A WAV whose header claims ~13 hours (0xFFFFFFF0 bytes) but holds one second."""
    pcm = (_tone(1.0, 44100) * 32767).astype("<i2").tobytes()
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, 44100, 88200, 2, 16)
    path.write_bytes(b"RIFF" + struct.pack("<I", 0xFFFFFFF8) + b"WAVE" + fmt
                     + b"data" + struct.pack("<I", 0xFFFFFFF0) + pcm)
    return path


def _wav(path: Path, rate: int = 48000, channels: int = 2) -> Path:
    import soundfile

    soundfile.write(str(path), _tone(1.0, rate, channels), rate, subtype="PCM_16")
    return path


def _corrupt_middle(source: Callable[[Path], Path]) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        source(path)
        data = bytearray(path.read_bytes())
        rng = np.random.default_rng(7)
        start = len(data) // 3
        data[start:start + len(data) // 3] = rng.integers(0, 256, len(data) // 3,
                                                          dtype=np.uint8).tobytes()
        path.write_bytes(bytes(data))
        return path
    return make


def _truncated(keep: float, faststart: bool = True) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        whole = path.with_name(path.stem + ".whole.tmp")
        write_mp4(whole, _frames(25, 160, 120), 25, _tone(1.0, 16000), 16000,
                  faststart=faststart)
        make_truncated(whole, path, keep)
        whole.unlink()
        return path
    return make


def _renamed(source: Callable[[Path], Path], suffix: str) -> Callable[[Path], Path]:
    """Write with `source` under a proper name, then give it the wrong extension."""
    def make(path: Path) -> Path:
        real = source(path.with_suffix(suffix))
        real.rename(path)
        return path
    return make


def _audio_late(path: Path) -> Path:
    audio = np.concatenate([np.zeros(8000, np.float32), _tone(0.5, 16000)])
    return write_mp4(path, _frames(25, 160, 120), 25, audio, 16000)


def _silent(path: Path) -> Path:
    return write_mp4(path, _frames(25, 160, 120), 25, np.zeros(16000, np.float32), 16000)


def _short_audio(path: Path) -> Path:
    return write_mp4(path, _frames(1, 160, 120), 25, _tone(0.01, 16000), 16000)


def _audio_only(path: Path) -> Path:
    return write_mp4(path, None, 25, speech_audio("audio only", 16000), 16000)


def _directory(path: Path) -> Path:
    path.mkdir()
    (path / "inside.txt").write_text("a folder named like a clip")
    return path


def _unreadable(path: Path) -> Path:
    _clip()(path)
    path.chmod(0)
    return path


def _symlink(path: Path) -> Path:
    target = path.with_name("symlink_target.bin")  # not a media name: imported only via the link
    _clip()(target)
    path.symlink_to(target.name)
    return path


def _dangling_symlink(path: Path) -> Path:
    path.symlink_to("no_such_file_anywhere.mp4")
    return path


def _ffmpeg(*args: str) -> Callable[[Path], Path]:
    """A file made by the ffmpeg CLI from lavfi sources (`{out}` is the output path)."""
    def make(path: Path) -> Path:
        cmd = ["ffmpeg", "-v", "error", "-y", *(a.replace("{out}", str(path)) for a in args)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        return path
    return make


_SRC_V = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=1"]
_SRC_A = ["-f", "lavfi", "-i", "sine=frequency=220:sample_rate=16000:duration=1"]


def _subtitles_only(path: Path) -> Path:
    """An mp4 with no audio or video stream at all (one subtitle track)."""
    srt = path.with_name("subs.srt")
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n")
    _ffmpeg("-i", str(srt), "-c:s", "mov_text", "{out}")(path)
    srt.unlink()
    return path


KINDS: dict[str, tuple[str, Callable[[Path], Path]]] = {
    # kind: (file name, maker)
    "good": ("good.mp4", _speech),
    "truncated_30pct": ("truncated.mp4", _truncated(0.3)),
    "truncated_moov_at_end": ("truncated_moov_end.mp4", _truncated(0.6, faststart=False)),
    "zero_bytes": ("zero.mp4", make_zero_byte),
    "random_bytes": ("random_bytes.mp4", lambda p: make_garbage(p, 8192)),
    "corrupt_middle": ("corrupt_middle.mp4", _corrupt_middle(_clip())),
    "mp4_named_wav": ("really_an_mp4.wav", _renamed(_clip(), ".mp4")),
    "wav_named_mp4": ("really_a_wav.mp4", _renamed(_wav, ".wav")),
    "audio_only_m4a": ("audio_only.m4a", _audio_only),
    "audio_only_mp4": ("audio_only.mp4", _audio_only),
    "video_only": ("video_only.mp4", lambda p: _speech(p, with_audio=False)),
    "vfr": ("vfr.mp4", lambda p: _speech(p, vfr=True)),
    "fps_1": ("fps1.mp4", _clip(fps=1, seconds=3)),
    "fps_120": ("fps120.mp4", _clip(fps=120, seconds=0.5)),
    "uhd_4k": ("uhd_4k.mp4", _clip(fps=2, seconds=1, width=3840, height=2160)),
    "portrait": ("portrait.mp4", _clip(width=120, height=214)),
    "rate_8k": ("rate_8k.mp4", _clip(rate=8000)),
    "rate_22k": ("rate_22050.mp4", _clip(rate=22050)),
    "rate_44k": ("rate_44100.mp4", _clip(rate=44100)),
    "rate_48k": ("rate_48000.mp4", _clip(rate=48000)),
    "stereo": ("stereo.mp4", _clip(rate=44100, channels=2)),
    "surround_5_1": ("surround_5_1.mp4", _clip(rate=48000, channels=6)),
    "long_gap_1h": ("one_hour_three_frames.mp4", _long_gap),
    "wav_header_lies": ("header_claims_13h.wav", _wav_header_lies),
    "non_ascii_name": ("émotion_日本語_Ωmega.mp4", _clip()),
    "spaces_name": ("my clip  (final) copy #2.mp4", _clip()),
    "single_frame": ("single_frame.mp4", _clip(fps=25, seconds=0.04)),
    "tiny_16px": ("tiny_16px.mp4", _clip(width=16, height=16)),
    "odd_size": ("odd_size.mp4", _clip(width=162, height=98)),
    "silent_audio": ("silent_audio.mp4", _silent),
    "short_audio": ("short_audio.mp4", _short_audio),
    "audio_late": ("audio_starts_late.mp4", _audio_late),
    "upper_ext": ("UPPER_CASE.MP4", _clip()),
    "wav_pcm": ("pcm_48k_stereo.wav", _wav),
    "directory_named_mp4": ("folder_clip.mp4", _directory),
    "symlink": ("link_to_clip.mp4", _symlink),
    "dangling_symlink": ("dangling_link.mp4", _dangling_symlink),
}
if os.geteuid() != 0:  # root reads any file: the permission kind cannot be made there
    KINDS["unreadable"] = ("unreadable.mp4", _unreadable)
if shutil.which("ffmpeg"):
    KINDS.update({
        "mkv": ("clip.mkv", _ffmpeg(*_SRC_V, *_SRC_A, "-c:v", "libx264", "-c:a", "aac",
                                    "{out}")),
        "webm": ("clip.webm", _ffmpeg(*_SRC_V, *_SRC_A, "-c:v", "libvpx", "-b:v", "200k",
                                      "-c:a", "libopus", "{out}")),
        "avi_mjpeg": ("clip.avi", _ffmpeg(*_SRC_V, *_SRC_A, "-c:v", "mjpeg", "-c:a",
                                          "pcm_s16le", "{out}")),
        "mov": ("clip.mov", _ffmpeg(*_SRC_V, *_SRC_A, "-c:v", "libx264", "-c:a", "aac",
                                    "{out}")),
        "mp3": ("clip.mp3", _ffmpeg(*_SRC_A, "-c:a", "libmp3lame", "{out}")),
        "flac": ("clip.flac", _ffmpeg(*_SRC_A, "-c:a", "flac", "{out}")),
        "hevc": ("hevc.mp4", _ffmpeg(*_SRC_V, *_SRC_A, "-c:v", "libx265", "-x265-params",
                                     "log-level=error", "-c:a", "aac", "{out}")),
        "no_streams": ("no_av_streams.mp4", _subtitles_only),
        "ten_hours": ("ten_hours_video.mp4", _ffmpeg(
            "-f", "lavfi", "-i", "color=c=blue:size=32x32:rate=1/600:duration=36000",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "{out}")),
    })


def build_corpus(folder: Path) -> dict[str, Path]:
    """Write every kind into `folder`; {kind: path}. A kind whose tool fails is left out."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    for kind, (name, maker) in KINDS.items():
        try:
            made[kind] = maker(folder / name) or folder / name
        except (subprocess.CalledProcessError, FileNotFoundError, OSError):
            continue  # e.g. an ffmpeg built without libx265: one kind fewer
    return made
