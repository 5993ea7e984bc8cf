"""Every recipe keeps the parent's duration, for every container the importer accepts
(issue 15, item 9).

`frames_black` copied the black template's packet durations in the template's own time base:
a 2.0 s MJPEG/PCM AVI (time base 1/25) got 22.4 s of black video, a VP9/Opus WebM (1/1000)
2.6 s, and the variants were recorded with health `duration_mismatch`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mmla_core.datasets.common import MEDIA_EXTENSIONS
from mmla_core.media.probe import probe
from mmla_core.store.catalog import clip_ids_by_key, save_media_info, upsert_clips, upsert_dataset
from mmla_core.store.db import open_store
from mmla_core.variants.recipes import VariantError
from mmla_core.variants.store_ops import create_variant

pytestmark = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="needs the ffmpeg CLI")

FRAME_S = 1 / 25
VIDEO = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=2"]
AUDIO = ["-f", "lavfi", "-i", "sine=frequency=220:sample_rate=48000:duration=2"]
CONTAINERS = {  # suffix: ffmpeg arguments (one of each container the importer accepts)
    ".mp4": [*VIDEO, *AUDIO, "-c:v", "libx264", "-c:a", "aac"],
    ".mov": [*VIDEO, *AUDIO, "-c:v", "libx264", "-c:a", "aac"],
    ".mkv": [*VIDEO, *AUDIO, "-c:v", "libx264", "-c:a", "aac"],
    ".webm": [*VIDEO, *AUDIO, "-c:v", "libvpx-vp9", "-b:v", "200k", "-c:a", "libopus"],
    ".avi": [*VIDEO, *AUDIO, "-c:v", "mjpeg", "-c:a", "pcm_s16le"],
    ".m4a": [*AUDIO, "-c:a", "aac"],
    ".wav": [*AUDIO, "-c:a", "pcm_s16le"],
    ".mp3": [*AUDIO, "-c:a", "libmp3lame"],
    ".flac": [*AUDIO, "-c:a", "flac"],
}
RECIPES = ["frames_black", "audio_silent", "audio_removed", "av_offset", "audio_noise",
           "audio_swap"]
CANNOT_APPLY = {"frames_black": "no video stream", "audio_removed": "no stream would be left"}


def test_every_accepted_container_is_covered():
    assert set(CONTAINERS) == set(MEDIA_EXTENSIONS)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, dict[str, int], Path]:
    media = tmp_path_factory.mktemp("containers")
    for suffix, args in CONTAINERS.items():
        subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(media / f"clip{suffix}")],
                       check=True, capture_output=True, timeout=120)
    db_path = media.parent / f"{media.name}.sqlite"
    with open_store(db_path) as store:
        dataset_id = upsert_dataset(store, "containers", str(media), "folder")
        upsert_clips(store, dataset_id, [{"external_id": s, "split": "test",
                                          "media_path": f"clip{s}", "transcript": "x"}
                                         for s in CONTAINERS])
        ids = {key[1]: i for key, i in clip_ids_by_key(store, dataset_id).items()}
        save_media_info(store, [(ids[s], probe(media / f"clip{s}").clip_columns())
                                for s in CONTAINERS])
    return db_path, ids, media


@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("suffix", list(CONTAINERS))
def test_a_recipe_keeps_the_parents_duration(project, suffix, recipe):
    db_path, ids, media = project
    parent = probe(media / f"clip{suffix}")
    with open_store(db_path) as store:
        if not parent.has_video and recipe in CANNOT_APPLY:
            with pytest.raises(VariantError, match=CANNOT_APPLY[recipe]):
                create_variant(store, ids[suffix], [recipe])
            return
        made = create_variant(store, ids[suffix], [recipe])
    variant = probe(made.path)
    assert variant.health == parent.health or variant.health in ("no_audio",), \
        variant.health_detail
    assert variant.has_video == parent.has_video
    if parent.has_video:
        assert abs(variant.video_duration_s - parent.video_duration_s) <= FRAME_S
        assert variant.frame_count == parent.frame_count
    if recipe != "audio_removed":
        assert abs(variant.audio_duration_s - parent.audio_duration_s) <= FRAME_S
        assert abs(variant.duration_s - parent.duration_s) <= FRAME_S
