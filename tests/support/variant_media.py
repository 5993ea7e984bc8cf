"""Shared media and a tiny labelled project for the variant tests (no tests of its own here).

Clips are short and small (1 s, 160x120) so the whole variant suite stays fast.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from mmla_core.media.decode import decode_audio, decode_frames_at, frame_times
from mmla_core.media.mp4writer import write_mp4
from mmla_core.media.probe import probe
from mmla_core.media.synth import make_clip, render_frames
from mmla_core.store import open_store
from mmla_core.store.catalog import (
    attach_task,
    clip_ids_by_key,
    ensure_task,
    save_media_info,
    upsert_clips,
    upsert_dataset,
)
from mmla_core.store.labels import import_labels
from mmla_core.tasks import builtin_task

W, H = 160, 120
# external id, media file (None = text-only), transcript, MELD label
CLIPS = (
    ("a", "a.mp4", "I can't believe you did that!", "surprise"),
    ("b", "b.mp4", "That is wonderful news.", "joy"),
    ("c", "c.mp4", "Fine, whatever you say.", "surprise"),
    ("long", "long.mp4", "This one goes on for a while longer.", "anger"),
    ("short", "short.mp4", "Short.", "sadness"),
    ("mute", "mute.mp4", "Nothing to hear here.", "neutral"),
    ("radio", "radio.m4a", "Only a voice, no picture.", "fear"),
    ("text", None, "Just words, no media at all.", "disgust"),
)


def make_media(folder: Path) -> Path:
    """The clips of CLIPS plus two broken ones (zero-length, uneven streams)."""
    folder.mkdir(parents=True, exist_ok=True)
    specs = {"a": 1.0, "b": 1.0, "c": 1.0, "long": 1.6, "short": 0.4}
    for seed, (name, duration) in enumerate(specs.items()):
        make_clip(folder / f"{name}.mp4", text=CLIPS[seed][2], duration_s=duration,
                  width=W, height=H, seed=seed + 1)
    make_clip(folder / "mute.mp4", duration_s=1.0, width=W, height=H, with_audio=False, seed=7)
    make_clip(folder / "radio.m4a", text="only a voice", duration_s=1.0, with_video=False,
              seed=8)
    make_zero_length(folder / "zero.mp4")
    frames = render_frames(12, W, H, caption="uneven")
    write_mp4(folder / "uneven.mp4", frames, 25, np.full(16000, 0.1, np.float32))
    return folder


def make_zero_length(path: Path) -> None:
    """An MP4 whose header declares streams that hold no samples at all."""
    with av.open(str(path), "w", format="mp4") as container:
        container.add_stream("aac", rate=16000, layout="mono")
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        container.start_encoding()


@dataclass
class Project:
    db_path: Path
    root: Path
    ids: dict[str, int]
    task_id: int

    def store(self):
        return open_store(self.db_path)

    @property
    def variants_dir(self) -> Path:
        return self.db_path.parent / f"{self.db_path.stem}.variants" / "tiny"


def build_project(root: Path, media: Path, extra: tuple = ()) -> Project:
    """Dataset 'tiny' (MELD task, imported labels, probed media) over a copy of `media`."""
    shutil.copytree(media, root / "media")
    rows = CLIPS + tuple(extra)
    with open_store(root / "project.sqlite") as store:
        dataset_id = upsert_dataset(store, "tiny", str(root / "media"), "folder")
        task_id = ensure_task(store, builtin_task("MELD"))
        attach_task(store, dataset_id, task_id)
        upsert_clips(store, dataset_id, [
            {"split": "train", "external_id": e, "media_path": m, "transcript": t}
            for e, m, t, _ in rows
        ])
        keys = clip_ids_by_key(store, dataset_id)
        ids = {e: keys[("train", e)] for e, *_ in rows}
        import_labels(store, [(ids[e], task_id, label) for e, _, _, label in rows])
        save_media_info(store, [(ids[e], probe(root / "media" / m).clip_columns())
                                for e, m, _, _ in rows if m])
    return Project(root / "project.sqlite", root, ids, task_id)


def all_frames(path) -> np.ndarray:
    return decode_frames_at(path, frame_times(path))


def corr(a: np.ndarray, b: np.ndarray) -> float:
    n = min(a.size, b.size)
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


def audio(path) -> np.ndarray:
    return decode_audio(path, 16000)
