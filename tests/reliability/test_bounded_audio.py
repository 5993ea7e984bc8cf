"""Audio that is long, odd or changes mid-way; frames that do not decode (issue 15, items 4, 16).

Before: a WAV whose header says 8 Hz was probed "ok" and resampling it needed gigabytes (a 2 MB
file: ~8 GB), the evaluation then failed with out-of-memory advice and `--resume` failed the
same way; a 3-hour FLAC was decoded whole for each prediction; a stream whose rate or channels
change mid-way failed with "Frame does not match AudioResampler setup" (no file named); a valid
64-channel WAV "could not be decoded"; `corrupt_middle.mp4` (frames undecodable) probed "ok".
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from mmla_core.media.decode import decode_audio
from mmla_core.media.probe import probe
from mmla_core.store.catalog import (
    attach_task,
    clip_ids_by_key,
    ensure_task,
    save_media_info,
    upsert_clips,
    upsert_dataset,
)
from mmla_core.store.db import open_store
from mmla_core.store.labels import import_labels
from mmla_core.tasks import builtin_task
from mmla_core.variants.inmemory import AUDIO_RATE, MODEL_AUDIO_LIMIT_S, load_arrays
from mmla_core.variants.streams import decode_planar


def _wav_with_rate(path: Path, rate: int, samples: int = 4000) -> Path:
    """A PCM WAV whose header claims `rate` Hz (soundfile refuses to write such rates)."""
    pcm = (np.sin(np.arange(samples) / 3) * 8000).astype("<i2").tobytes()
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16)
    path.write_bytes(b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVE" + fmt + b"data"
                     + struct.pack("<I", len(pcm)) + pcm)
    return path


@pytest.mark.parametrize("rate", [8, 999, 500_000])
def test_absurd_sample_rates_are_refused_at_probe(tmp_path, rate):
    info = probe(_wav_with_rate(tmp_path / f"rate_{rate}.wav", rate))
    assert "unreadable" in info.problems
    assert f"{rate} Hz is outside 1000-384000 Hz" in info.health_detail
    assert f"rate_{rate}.wav" in info.health_detail
    with pytest.raises(Exception, match=f"{rate} Hz"):
        load_arrays(tmp_path / f"rate_{rate}.wav", "")


def test_usual_rates_still_pass(tmp_path):
    for rate in (8000, 16000, 44100, 48000, 96000):
        assert probe(_wav_with_rate(tmp_path / f"ok_{rate}.wav", rate)).health == "no_video"


def test_a_long_file_is_decoded_only_as_far_as_the_model_takes(tmp_path):
    path = tmp_path / "ten_minutes.flac"  # 2x the model's 300 s
    tone = (0.2 * np.sin(np.arange(600 * 8000) * 0.05)).astype(np.float32)
    soundfile.write(str(path), tone, 8000, format="FLAC")
    arrays = load_arrays(path, "")
    assert arrays.audio.size == arrays.audio_length == round(MODEL_AUDIO_LIMIT_S * AUDIO_RATE)
    assert decode_audio(path, 16000, max_s=2.5).size == 40000
    assert decode_audio(path, 16000).size == 600 * 16000  # without a cap: all of it


def test_64_channels_downmix_to_mono_and_stereo(tmp_path):
    path = tmp_path / "ch64.wav"
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)
    soundfile.write(str(path), np.stack([tone] * 64, axis=1), 16000, subtype="PCM_16")
    assert probe(path).audio_channels == 64 and probe(path).health == "no_video"
    mono = decode_audio(path, 16000)
    assert mono.shape == (16000,) and abs(np.abs(mono).max() - 0.3) < 0.01
    assert decode_planar(path, 16000, 2).shape == (2, 16000)
    assert decode_planar(path, 16000, 1).shape == (1, 16000)


@pytest.mark.skipif(not shutil.which("ffmpeg"), reason="needs the ffmpeg CLI")
def test_a_mid_stream_change_of_rate_and_channels_decodes(tmp_path):
    parts = []
    for name, rate, channels in (("a", 44100, 1), ("b", 22050, 2)):
        parts.append(tmp_path / f"{name}.mp3")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"sine=frequency=220:sample_rate={rate}:duration=1", "-ac",
                        str(channels), "-c:a", "libmp3lame", str(parts[-1])], check=True,
                       timeout=60)
    joined = tmp_path / "changes_mid_way.mp3"
    joined.write_bytes(b"".join(p.read_bytes() for p in parts))
    mono = decode_audio(joined, 16000)
    assert abs(mono.size / 16000 - 2.0) < 0.15  # both halves, not only the first
    assert decode_planar(joined, 44100, 2).shape[0] == 2


def test_frames_that_do_not_decode_are_unreadable_at_probe(tmp_path):
    from tests.support.bad_media import _clip, _corrupt_middle

    path = _corrupt_middle(_clip())(tmp_path / "corrupt_middle.mp4")
    info = probe(path)
    assert "unreadable" in info.problems and "cannot be decoded" in info.health_detail
    assert "corrupt_middle.mp4" in info.health_detail
    assert probe(_clip()(tmp_path / "fine.mp4")).health == "ok"


def test_evaluation_skips_unusable_media_and_keeps_every_other_row(tmp_path, speaker_clip,
                                                                   omni_dir):
    from mmla_core.eval.runs import run_evaluation
    from mmla_core.store.results import get_run, run_predictions

    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(speaker_clip, media / "talk.mp4")
    _wav_with_rate(media / "eight_hz.wav", 8, samples=20_000)  # 42 min "long" at 8 Hz
    db_path = tmp_path / "p.sqlite"
    with open_store(db_path) as store:
        dataset_id = upsert_dataset(store, "ds", str(media), "folder")
        task_id = ensure_task(store, builtin_task("MELD"))
        attach_task(store, dataset_id, task_id)
        upsert_clips(store, dataset_id, [
            {"external_id": n, "split": "test", "media_path": n, "transcript": "hi"}
            for n in ("talk.mp4", "eight_hz.wav")])
        ids = {k[1]: v for k, v in clip_ids_by_key(store, dataset_id).items()}
        save_media_info(store, [(i, probe(media / n).clip_columns()) for n, i in ids.items()])
        import_labels(store, [(i, task_id, "joy") for i in ids.values()])
    args = {"model": str(omni_dir), "task": "MELD", "dataset": "ds", "split": "test",
            "settings": {"num_frames": 2}}
    run_id = run_evaluation(db_path, **args)
    for attempt in ("first", "resumed"):
        with open_store(db_path) as store:
            run, rows = get_run(store, run_id), run_predictions(store, run_id)
        errors = {r["clip_id"]: r["error"] for r in rows if r["error"]}
        assert run["status"] == "done", (attempt, run["error"])
        assert len(rows) == 2 and set(errors) == {ids["eight_hz.wav"]}, attempt
        assert "8 Hz is outside" in errors[ids["eight_hz.wav"]]
        assert "out of memory" not in errors[ids["eight_hz.wav"]]
        run_id = run_evaluation(db_path, **args, resume=run_id)
