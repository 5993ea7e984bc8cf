"""What the project knows about each clip's media file since it was probed.

A probe records the file's size and mtime beside its verdict (`catalog.save_media_info`); the
re-check (`datasets.media_check`) compares them with a fresh stat. Here: reading what was
recorded, and the two verdicts a re-check writes without opening a file: 'unprobed' (changed,
to be probed again) and 'missing_file'.
"""

from __future__ import annotations

from collections.abc import Iterable

from mmla_core.store.db import Store

# the stream facts a missing file no longer vouches for (cleared when it goes missing)
STREAM_COLUMNS = (
    "duration_s", "video_duration_s", "audio_duration_s", "fps", "frame_count", "width",
    "height", "video_codec", "audio_codec", "has_video", "has_audio", "audio_rate",
    "audio_channels", "is_vfr",
)


def probed_media(store: Store, dataset_id: int | None = None) -> list[dict]:
    """Clips whose media file was probed (any verdict but a refused path): what the probe saw.

    Each row: id, external_id, dataset (name), root (the folder media_path is relative to),
    media_path, health, media_size, media_mtime, probed_at.
    """
    sql = ("SELECT c.id, c.external_id, d.name AS dataset, coalesce(c.media_root, d.root) "
           "AS root, c.media_path, c.health, c.media_size, c.media_mtime, c.probed_at "
           "FROM clips c JOIN datasets d ON d.id = c.dataset_id WHERE c.media_path IS NOT NULL "
           "AND c.health NOT IN ('unprobed', 'text_only', 'unsafe_path')")
    params: tuple = ()
    if dataset_id is not None:
        sql, params = sql + " AND c.dataset_id = ?", (dataset_id,)
    return store.query(sql + " ORDER BY c.id", params)


def mark_unprobed(store: Store, clip_ids: Iterable[int]) -> None:
    """The file changed since its probe: its verdict no longer holds; the next probe redoes it."""
    with store.write() as conn:
        conn.executemany("UPDATE clips SET health = 'unprobed' WHERE id = ?",
                         [(int(i),) for i in clip_ids])


def mark_media_missing(store: Store, missing: Iterable[tuple[int, str]]) -> None:
    """(clip id, sentence) of clips whose file is gone: health 'missing_file' and no stream facts.

    The media path stays (the clip is still that file), and so do the recorded size, mtime and
    fingerprint: they are how `mmla datasets move` and a later re-check know the file again.
    """
    cleared = ", ".join(f"{col} = NULL" for col in STREAM_COLUMNS)
    with store.write() as conn:
        conn.executemany(
            f"UPDATE clips SET health = 'missing_file', health_detail = ?, {cleared} "
            "WHERE id = ?", [(detail, int(clip_id)) for clip_id, detail in missing])


def clip_health(store: Store, clip_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """{clip id: (health, health_detail)}."""
    ids = [int(i) for i in clip_ids]
    found: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
        chunk = ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for clip_id, health, detail in store.conn.execute(
                f"SELECT id, health, health_detail FROM clips WHERE id IN ({marks})", chunk):
            found[clip_id] = (health, detail)
    return found


def stored_media_paths(store: Store,
                       dataset_id: int) -> dict[tuple[str, str], tuple[int, str, str]]:
    """{(split, external id): (clip id, media path, the folder it is relative to)} of a
    dataset's imported clips with media."""
    rows = store.conn.execute(
        "SELECT c.split, c.external_id, c.id, c.media_path, coalesce(c.media_root, d.root) "
        "FROM clips c JOIN datasets d ON d.id = c.dataset_id WHERE c.dataset_id = ? "
        "AND c.parent_clip_id IS NULL AND c.media_path IS NOT NULL", (dataset_id,))
    return {(split, ext): (clip_id, path, root) for split, ext, clip_id, path, root in rows}
