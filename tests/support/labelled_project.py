"""A labelled project on one real clip, for the reliability tests."""

from __future__ import annotations

from pathlib import Path


def build_labelled_project(root: Path, clip: Path, clips: int = 6) -> Path:
    """A project of `clips` clips (one media file), the MELD task attached, probed."""
    import shutil

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
    from mmla_core.tasks import builtin_task

    media = root / "media"
    media.mkdir(parents=True)
    shutil.copy(clip, media / "talk.mp4")
    facts = probe(media / "talk.mp4").clip_columns()
    db_path = root / "project.sqlite"
    with open_store(db_path) as store:
        dataset_id = upsert_dataset(store, "reliability", str(media), "folder")
        attach_task(store, dataset_id, ensure_task(store, builtin_task("MELD")))
        upsert_clips(store, dataset_id, [
            {"external_id": f"utt_{i:02d}", "split": "test", "media_path": "talk.mp4",
             "transcript": f"line {i}"} for i in range(clips)])
        ids = clip_ids_by_key(store, dataset_id).values()
        save_media_info(store, [(clip_id, facts) for clip_id in ids])
    return db_path
