"""Each variant has its own media file, whatever the length of its clip's name (issue 15, item 3).

Variant files were named by the clip id cut at 150 characters, which cut off `~recipe~key`: for a
clip id over ~125 characters `frames_black` and `audio_silent` shared one file, and deleting one
variant deleted the other's media.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mmla_core.paths import ForeignMediaError
from mmla_core.store.catalog import (
    clip_ids_by_key,
    clip_media_path,
    get_clip,
    save_media_info,
    upsert_clips,
    upsert_dataset,
)
from mmla_core.store.db import open_store
from mmla_core.variants.plan import variant_file_name
from mmla_core.variants.store_ops import create_variant, delete_variant

LONG_ID = "session_" + "x" * 160
JAPANESE_ID = "発話" * 80  # 160 characters, 480 bytes: over a file name's 255-byte limit


def _project(root: Path, clip: Path, external_ids: list[str]) -> tuple[Path, dict[str, int]]:
    from mmla_core.media.probe import probe

    media = root / "media"
    media.mkdir(parents=True)
    shutil.copy(clip, media / "talk.mp4")
    db_path = root / "project.sqlite"
    with open_store(db_path) as store:
        dataset_id = upsert_dataset(store, "long", str(media), "folder")
        upsert_clips(store, dataset_id, [{"external_id": e, "split": "test",
                                          "media_path": "talk.mp4", "transcript": "hi"}
                                         for e in external_ids])
        ids = {key[1]: clip_id for key, clip_id in clip_ids_by_key(store, dataset_id).items()}
        facts = probe(media / "talk.mp4").clip_columns()
        save_media_info(store, [(clip_id, facts) for clip_id in ids.values()])
    return db_path, ids


@pytest.mark.parametrize("external_id", [LONG_ID, JAPANESE_ID])
def test_long_clip_names_give_each_variant_its_own_file(tmp_path, speaker_clip, external_id):
    db_path, ids = _project(tmp_path, speaker_clip, [external_id])
    with open_store(db_path) as store:
        black = create_variant(store, ids[external_id], ["frames_black"])
        silent = create_variant(store, ids[external_id], ["audio_silent"])
        assert black.created and silent.created
        assert black.path != silent.path and black.path.is_file() and silent.path.is_file()
        for made in (black, silent):
            assert made.recipe["key"][:10] in made.path.name
            assert len(made.path.name.encode("utf-8")) <= 255
        assert clip_media_path(get_clip(store, black.clip_id)) == black.path
        removed = delete_variant(store, black.clip_id).removed
        assert removed == [black.path] and silent.path.is_file()
        assert clip_media_path(get_clip(store, silent.clip_id)) == silent.path
    print(f"\n{len(external_id)}-character clip id: variant files "
          f"{len(silent.path.name.encode())} bytes, key kept")


def test_short_names_are_unchanged():
    key = "0123456789abcdef"
    assert variant_file_name("a b", "frames_black", key) == "a_b~frames_black~0123456789.mp4"


def test_a_variant_recorded_on_another_variants_file_is_refused_and_rebuilt(tmp_path,
                                                                             speaker_clip):
    """An existing project whose two variants share one cut-off file: detected, never deleted."""
    db_path, ids = _project(tmp_path, speaker_clip, [LONG_ID])
    with open_store(db_path) as store:
        black = create_variant(store, ids[LONG_ID], ["frames_black"])
        silent = create_variant(store, ids[LONG_ID], ["audio_silent"])
        # What the old naming recorded: the second variant on the first one's (cut) file name.
        store.conn.execute("UPDATE clips SET media_path = ? WHERE id = ?",
                           ("shared_cut_name.mp4", silent.clip_id))
        shared = black.path.with_name("shared_cut_name.mp4")
        shutil.copy(black.path, shared)
        row = get_clip(store, silent.clip_id)
        with pytest.raises(ForeignMediaError, match="not this variant's own media"):
            clip_media_path(row)
        silent.path.unlink()
        again = create_variant(store, ids[LONG_ID], ["audio_silent"])  # `variants make` again
        assert again.clip_id == silent.clip_id and again.path == silent.path
        assert clip_media_path(get_clip(store, silent.clip_id)) == silent.path
        store.conn.execute("UPDATE clips SET media_path = ? WHERE id = ?",
                           ("shared_cut_name.mp4", silent.clip_id))
        removed = delete_variant(store, silent.clip_id).removed
    assert shared.is_file() and shared not in removed
    assert json.loads(row["recipe_json"])["owns_media"]
