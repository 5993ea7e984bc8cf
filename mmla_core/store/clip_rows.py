"""Small reads and writes of clip rows that importers and the variant builder need (the main
clip operations are store.catalog's)."""

from __future__ import annotations

from mmla_core.store.db import Store


def dataset_name(store: Store, dataset_id: int) -> str | None:
    return store.scalar("SELECT name FROM datasets WHERE id = ?", (dataset_id,))


def stored_transcripts(store: Store, dataset_id: int) -> dict[tuple[str, str], str]:
    """{(split, external id): transcript} of the dataset's clips."""
    return {(r["split"], r["external_id"]): r["transcript"] for r in store.query(
        "SELECT split, external_id, transcript FROM clips WHERE dataset_id = ?", (dataset_id,))}


def keys_by_media_path(store: Store, dataset_id: int) -> dict[str, tuple[str, str]]:
    """{media path: (split, external id)} of the dataset's clips with media; for a path held
    by several clips, the oldest clip's."""
    return {r["media_path"]: (r["split"], r["external_id"]) for r in store.query(
        "SELECT media_path, split, external_id FROM clips WHERE dataset_id = ? "
        "AND media_path IS NOT NULL ORDER BY id DESC", (dataset_id,))}


def set_clip_media_root(store: Store, clip_id: int, media_root: str | None) -> None:
    with store.write() as conn:
        conn.execute("UPDATE clips SET media_root = ? WHERE id = ?", (media_root, clip_id))


def set_clip_transcript(store: Store, clip_id: int, transcript: str) -> None:
    with store.write() as conn:
        conn.execute("UPDATE clips SET transcript = ? WHERE id = ?", (transcript, clip_id))


def original_clips(store: Store, dataset_id: int) -> list[dict]:
    """The dataset's clips that are not variants, with dataset name and root, by id."""
    return store.query(
        "SELECT c.*, d.name AS dataset_name, d.root AS dataset_root FROM clips c "
        "JOIN datasets d ON d.id = c.dataset_id "
        "WHERE c.dataset_id = ? AND c.parent_clip_id IS NULL ORDER BY c.id", (dataset_id,))


def variant_clips(store: Store, dataset_id: int) -> list[dict]:
    """The dataset's variant clips, with the dataset's root."""
    return store.query(
        "SELECT c.*, d.root AS dataset_root FROM clips c JOIN datasets d ON d.id = c.dataset_id "
        "WHERE c.dataset_id = ? AND c.parent_clip_id IS NOT NULL", (dataset_id,))


def variant_clip_keys(store: Store, dataset_id: int) -> set[tuple[str, str]]:
    """{(split, external id)} of the dataset's variant clips."""
    return {(r[0], r[1]) for r in store.conn.execute(
        "SELECT split, external_id FROM clips WHERE dataset_id = ? AND parent_clip_id IS NOT NULL",
        (dataset_id,))}


def variant_id(store: Store, parent_id: int, external_id: str) -> int | None:
    found = store.scalar("SELECT id FROM clips WHERE parent_clip_id = ? AND external_id = ?",
                         (parent_id, external_id))
    return None if found is None else int(found)


def original_clips_in_split(store: Store, split: str, dataset_ids: list[int] | None) -> list[dict]:
    """A split's clips that are not variants, with dataset name and root, by id; of these
    datasets only, when given."""
    sql = ("SELECT c.*, d.name AS dataset_name, d.root AS dataset_root FROM clips c "
           "JOIN datasets d ON d.id = c.dataset_id WHERE c.parent_clip_id IS NULL AND c.split = ?")
    params: list = [split]
    if dataset_ids is not None:
        sql += f" AND c.dataset_id IN ({', '.join('?' * len(dataset_ids))})"
        params += dataset_ids
    return store.query(sql + " ORDER BY c.id", tuple(params))
