"""Datasets, tasks and clips: the catalogue every panel reads."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from mmla_core.paths import PathEscapeError, check_own_media, confine
from mmla_core.store.db import Store, inserted_id
from mmla_core.tasks import MMLA_TASKS, Task, task_from_row, task_to_row

CLIP_MEDIA_COLUMNS = (
    "duration_s", "video_duration_s", "audio_duration_s", "fps", "frame_count", "width",
    "height", "video_codec", "audio_codec", "has_video", "has_audio", "audio_rate",
    "audio_channels", "is_vfr", "health", "health_detail", "media_size", "media_mtime",
    "media_hash",
)


@dataclass
class ClipUpsertCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


# --- datasets ---------------------------------------------------------------------------------

def upsert_dataset(store: Store, name: str, root: str, source_kind: str) -> int:
    with store.write() as conn:
        conn.execute(
            "INSERT INTO datasets (name, root, source_kind) VALUES (?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET root = excluded.root",
            (name, root, source_kind),
        )
    return int(store.scalar("SELECT id FROM datasets WHERE name = ?", (name,)))


def set_dataset_root(store: Store, dataset_id: int, root: str) -> None:
    with store.write() as conn:
        conn.execute("UPDATE datasets SET root = ? WHERE id = ?", (root, dataset_id))


def dataset_by_name(store: Store, name: str) -> dict | None:
    rows = store.query("SELECT * FROM datasets WHERE name = ?", (name,))
    return rows[0] if rows else None


def datasets_by_root(store: Store, root: str, kind: str) -> list[dict]:
    """The datasets imported from the folder `root` by an import of `kind`, oldest first."""
    return store.query("SELECT * FROM datasets WHERE root = ? AND source_kind = ? ORDER BY id",
                       (root, kind))


def find_dataset(store: Store, ref: str | int | None) -> dict | None:
    """A dataset by id (an int, or a string of digits naming no dataset) or by name."""
    if ref is None:
        return None
    row = None if isinstance(ref, int) else dataset_by_name(store, str(ref))
    if row is None and str(ref).isdigit():
        rows = store.query("SELECT * FROM datasets WHERE id = ?", (int(ref),))
        row = rows[0] if rows else None
    return row


def list_datasets(store: Store) -> list[dict]:
    return store.query(
        "SELECT d.*, (SELECT count(*) FROM clips c WHERE c.dataset_id = d.id) AS clip_count "
        "FROM datasets d ORDER BY d.name"
    )


# --- tasks ------------------------------------------------------------------------------------

def ensure_task(store: Store, task: Task) -> int:
    """The id of `task`, inserting it if new. A custom task may not silently change labels."""
    known = known_task_id(store, task)
    if known is not None:
        return known
    row = task_to_row(task)
    with store.write() as conn:
        cursor = conn.execute(
            f"INSERT INTO tasks ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            tuple(row.values()),
        )
    return inserted_id(cursor)


def known_task_id(store: Store, task: Task) -> int | None:
    """The id of `task` when the project has it, None when it is new; ValueError when a task
    of that name has other labels (what `ensure_task` would refuse), writing nothing."""
    existing = store.query("SELECT * FROM tasks WHERE name = ?", (task.name,))
    if not existing:
        return None
    stored = task_from_row(existing[0])
    if stored.labels != task.labels:
        raise ValueError(f"task {task.name!r} already exists with labels {list(stored.labels)}")
    return int(existing[0]["id"])


def ensure_builtin_tasks(store: Store) -> None:
    for task in MMLA_TASKS:
        ensure_task(store, task)


def list_tasks(store: Store) -> list[Task]:
    return [task_from_row(r) for r in store.query("SELECT * FROM tasks ORDER BY builtin DESC, id")]


def task_by_name(store: Store, name: str) -> tuple[int, Task] | None:
    """A task by name; one of MMLA's 12 built-in tasks is added on first use.

    So `mmla eval --task MELD` works on a fresh project, before anything listed the tasks.
    """
    rows = store.query("SELECT * FROM tasks WHERE name = ?", (name,))
    if rows:
        return int(rows[0]["id"]), task_from_row(rows[0])
    builtin = next((task for task in MMLA_TASKS if task.name == name), None)
    if builtin is None or store.read_only:
        return None
    return ensure_task(store, builtin), builtin


def attach_task(store: Store, dataset_id: int, task_id: int) -> None:
    with store.write() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO dataset_tasks (dataset_id, task_id) VALUES (?, ?)",
            (dataset_id, task_id),
        )


def tasks_for_dataset(store: Store, dataset_id: int) -> list[tuple[int, Task]]:
    rows = store.query(
        "SELECT t.* FROM tasks t JOIN dataset_tasks dt ON dt.task_id = t.id "
        "WHERE dt.dataset_id = ? ORDER BY t.id", (dataset_id,),
    )
    return [(int(r["id"]), task_from_row(r)) for r in rows]


# --- clips ------------------------------------------------------------------------------------

def upsert_clips(store: Store, dataset_id: int, clips: Iterable[dict]) -> ClipUpsertCounts:
    """Insert new clips and update changed transcripts/paths; re-imports add only what is new.

    Each clip dict has external_id, split, media_path (or None), transcript. A clip whose media
    path is unchanged keeps its probe (health, duration, streams, the file's size and mtime):
    a new transcript is no reason to decode the file again, and a file that changed on disk is
    the re-check's to notice (`datasets.media_check`). A new path names another file, so what
    was known of the old one goes and the clip is probed again.
    """
    existing = {
        (r[0], r[1]): (r[2], r[3])
        for r in store.conn.execute(
            "SELECT split, external_id, media_path, transcript FROM clips WHERE dataset_id = ?",
            (dataset_id,),
        )
    }
    new_rows, text_rows, media_rows, counts = [], [], [], ClipUpsertCounts()
    for clip in clips:
        key = (clip.get("split", ""), clip["external_id"])
        values = (clip.get("media_path"), clip.get("transcript", ""))
        if key not in existing:
            new_rows.append((dataset_id, key[0], key[1], *values, _initial_health(values[0])))
            existing[key] = values
        elif existing[key][0] != values[0]:
            media_rows.append((*values, _initial_health(values[0]), dataset_id, *key))
        elif existing[key][1] != values[1]:
            text_rows.append((values[1], dataset_id, *key))
        else:
            counts.unchanged += 1
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO clips (dataset_id, split, external_id, media_path, transcript, health) "
            "VALUES (?, ?, ?, ?, ?, ?)", new_rows,
        )
        conn.executemany("UPDATE clips SET transcript = ? "
                         "WHERE dataset_id = ? AND split = ? AND external_id = ?", text_rows)
        conn.executemany(
            f"UPDATE clips SET media_path = ?, transcript = ?, health = ?, {_FORGET_PROBE} "
            "WHERE dataset_id = ? AND split = ? AND external_id = ?", media_rows,
        )
    counts.added, counts.updated = len(new_rows), len(text_rows) + len(media_rows)
    return counts


# what a probe learnt of a clip's file: forgotten when the clip names another file
_FORGET_PROBE = "health_detail = '', " + ", ".join(
    f"{col} = NULL" for col in (*CLIP_MEDIA_COLUMNS, "probed_at")
    if col not in ("health", "health_detail"))


def source_clips(store: Store, dataset_id: int) -> list[dict]:
    """Id, key, media path and transcript of a dataset's imported clips (not its variants)."""
    return store.query(
        "SELECT id, split, external_id, media_path, transcript, media_size, media_hash "
        "FROM clips WHERE dataset_id = ? AND parent_clip_id IS NULL ORDER BY id", (dataset_id,))


def move_clips(store: Store, moves: list[tuple[int, str, str]]) -> None:
    """Give clips a new (split, external id); their variants follow them to the new split.

    The row keeps its id, so its labels, notes, reviews and predictions stay on it.
    """
    with store.write() as conn:
        for clip_id, split, external_id in moves:
            conn.execute("UPDATE clips SET split = ?, external_id = ? WHERE id = ?",
                         (split, external_id, clip_id))
            conn.execute(
                "WITH RECURSIVE tree(id) AS (SELECT id FROM clips WHERE parent_clip_id = ? "
                "UNION SELECT c.id FROM clips c JOIN tree t ON c.parent_clip_id = t.id) "
                "UPDATE clips SET split = ? WHERE id IN (SELECT id FROM tree)", (clip_id, split))


def _initial_health(media_path: str | None) -> str:
    return "unprobed" if media_path else "text_only"


def clip_ids_by_key(store: Store, dataset_id: int) -> dict[tuple[str, str], int]:
    rows = store.conn.execute(
        "SELECT split, external_id, id FROM clips WHERE dataset_id = ?", (dataset_id,)
    )
    return {(split, ext): cid for split, ext, cid in rows}


def get_clip(store: Store, clip_id: int) -> dict | None:
    rows = store.query(
        "SELECT c.*, d.name AS dataset_name, d.root AS dataset_root FROM clips c "
        "JOIN datasets d ON d.id = c.dataset_id WHERE c.id = ?", (clip_id,),
    )
    return rows[0] if rows else None


def clip_dataset_id(store: Store, clip_id: int) -> int | None:
    found = store.scalar("SELECT dataset_id FROM clips WHERE id = ?", (clip_id,))
    return None if found is None else int(found)


def clip_duration(store: Store, clip_id: int) -> float | None:
    return store.scalar("SELECT duration_s FROM clips WHERE id = ?", (clip_id,))


def clip_transcript(store: Store, clip_id: int) -> str | None:
    return store.scalar("SELECT transcript FROM clips WHERE id = ?", (clip_id,))


def clip_count(store: Store, dataset_id: int) -> int:
    """Every clip row of the dataset, conflict variants included."""
    return int(store.scalar("SELECT count(*) FROM clips WHERE dataset_id = ?", (dataset_id,)))


def original_clip_ids(store: Store, dataset_id: int, *, split: str | None = None,
                      limit: int | None = None) -> list[int]:
    """The dataset's clips (one split of it), variants left out, in id order."""
    sql = "SELECT id FROM clips WHERE dataset_id = ? AND parent_clip_id IS NULL"
    params: tuple = (dataset_id,)
    if split is not None:
        sql, params = sql + " AND split = ?", (*params, split)
    sql += " ORDER BY id"
    if limit is not None:
        sql, params = sql + " LIMIT ?", (*params, limit)
    return [r[0] for r in store.conn.execute(sql, params)]


def find_clip(store: Store, ref: str) -> dict | None:
    """A clip by numeric id, or by `DATASET/external_id` or a bare external id when unique."""
    if ref.isdigit():
        return get_clip(store, int(ref))
    dataset, _, external = ref.rpartition("/")
    sql = "SELECT c.id FROM clips c JOIN datasets d ON d.id = c.dataset_id WHERE c.external_id = ?"
    params: tuple = (external,)
    if dataset:
        sql, params = sql + " AND d.name = ?", (external, dataset)
    ids = [r[0] for r in store.conn.execute(sql, params)]
    return get_clip(store, ids[0]) if len(ids) == 1 else None


def clip_miss(store: Store, ref: str) -> str:
    """Why `find_clip` found no clip for `ref`, for an error that says what and where."""
    if ref.isdigit():
        return f"no clip with id {ref} in this project"
    dataset, _, external = ref.rpartition("/")
    if dataset and not store.scalar("SELECT 1 FROM datasets WHERE name = ?", (dataset,)):
        return f"no dataset {dataset!r} in this project (mmla datasets ls lists them)"
    rows = store.query("SELECT d.name FROM clips c JOIN datasets d ON d.id = c.dataset_id "
                       "WHERE c.external_id = ? ORDER BY d.name", (external,))
    if dataset:
        return f"dataset {dataset!r} has no clip {external!r} (mmla ls {dataset} lists them)"
    if rows:
        names = ", ".join(dict.fromkeys(r["name"] for r in rows))
        return (f"{len(rows)} clips have the id {external!r} (datasets: {names}): write "
                f"DATASET/{external} or the clip's numeric id")
    return f"no clip {external!r} in this project (an id, DATASET/external_id, or an external id)"


def list_clips(
    store: Store, *, dataset_id: int | None = None, split: str | None = None,
    text: str | None = None, limit: int | None = None, include_variants: bool = True,
) -> list[dict]:
    where: list[str] = ["1"]
    params: list[object] = []
    if dataset_id is not None:
        where.append("c.dataset_id = ?")
        params.append(dataset_id)
    if split:
        where.append("c.split = ?")
        params.append(split)
    if text:
        where.append("(c.transcript LIKE ? OR c.external_id LIKE ?)")
        params += [f"%{text}%", f"%{text}%"]
    if not include_variants:
        where.append("c.parent_clip_id IS NULL")
    sql = (
        "SELECT c.*, d.name AS dataset_name, d.root AS dataset_root FROM clips c "
        f"JOIN datasets d ON d.id = c.dataset_id WHERE {' AND '.join(where)} ORDER BY c.id"
    )
    if limit:
        sql += f" LIMIT {int(limit)}"
    return store.query(sql, tuple(params))


def clips_to_probe(store: Store, dataset_id: int | None = None) -> list[tuple[int, str, str]]:
    """(clip id, dataset root, media path) of clips whose media was never probed."""
    sql = (  # media_root: a clip whose media lives outside its dataset folder (variants, ELAN)
        "SELECT c.id, coalesce(c.media_root, d.root), c.media_path FROM clips c "
        "JOIN datasets d ON d.id = c.dataset_id "
        "WHERE c.health = 'unprobed' AND c.media_path IS NOT NULL"
    )
    params: tuple = ()
    if dataset_id is not None:
        sql, params = sql + " AND c.dataset_id = ?", (dataset_id,)
    return [tuple(r) for r in store.conn.execute(sql + " ORDER BY c.id", params)]


def clips_by_media_file(store: Store) -> dict[str, int]:
    """{absolute media file: clip id} of every clip with media (the first clip per file):
    how an ELAN file, which names its media, finds its clip."""
    found: dict[str, int] = {}
    for clip_id, root, path in store.conn.execute(
            "SELECT c.id, coalesce(c.media_root, d.root), c.media_path FROM clips c "
            "JOIN datasets d ON d.id = c.dataset_id WHERE c.media_path IS NOT NULL "
            "ORDER BY c.id"):
        try:
            found.setdefault(str(confine(root, path)), clip_id)
        except PathEscapeError:
            continue
    return found


def save_media_info(store: Store, updates: list[tuple[int, dict]]) -> None:
    """Write probe results (clip id, clip_columns()) in one transaction."""
    assignments = ", ".join(f"{col} = ?" for col in CLIP_MEDIA_COLUMNS)
    rows = [
        (*(cols.get(c) for c in CLIP_MEDIA_COLUMNS), clip_id) for clip_id, cols in updates
    ]
    with store.write() as conn:
        conn.executemany(
            f"UPDATE clips SET {assignments}, "
            "probed_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?", rows,
        )


def add_variant_clip(store: Store, parent_id: int, external_id: str, media_path: str | None,
                     transcript: str, recipe: dict) -> int:
    """A conflict variant is a clip with a parent and a recipe (DESIGN rule 5)."""
    parent = get_clip(store, parent_id)
    if parent is None:
        raise ValueError(f"no clip {parent_id}")
    with store.write() as conn:
        cursor = conn.execute(
            "INSERT INTO clips (dataset_id, split, external_id, media_path, transcript, health, "
            "parent_clip_id, recipe_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (parent["dataset_id"], parent["split"], external_id, media_path, transcript,
             _initial_health(media_path), parent_id, json.dumps(recipe, sort_keys=True)),
        )
    return inserted_id(cursor)


def health_summary(store: Store, dataset_id: int) -> dict[str, int]:
    rows = store.conn.execute(
        "SELECT health, count(*) FROM clips WHERE dataset_id = ? GROUP BY health", (dataset_id,)
    )
    return dict(rows.fetchall())


# --- variants (conflict clips with a parent; DESIGN rule 5) ------------------------------------

def clip_media_path(clip: dict):
    """The absolute media file of a clip row (from get_clip / list_clips), confined to its root.

    `media_root` NULL means the dataset root; a variant written by the app names its own
    folder there. Raises paths.PathEscapeError for a path leading out of its root, and its
    subclass ForeignMediaError for a variant whose file is not its own.
    """
    if not clip.get("media_path"):
        return None
    check_own_media(clip.get("recipe_json"), clip["media_path"])
    return confine(clip.get("media_root") or clip["dataset_root"], clip["media_path"])


def list_variants(store: Store, parent_id: int) -> list[dict]:
    """The direct variants of a clip, oldest first, as clip rows (with dataset name and root)."""
    return store.query(
        "SELECT c.*, d.name AS dataset_name, d.root AS dataset_root FROM clips c "
        "JOIN datasets d ON d.id = c.dataset_id WHERE c.parent_clip_id = ? ORDER BY c.id",
        (parent_id,),
    )


def variant_keys(store: Store, dataset_id: int, *, parent_id: int | None = None) -> dict[str, int]:
    """{content key: clip id} of the variants of a dataset, or of one parent clip in it."""
    sql = ("SELECT json_extract(recipe_json, '$.key'), id FROM clips WHERE dataset_id = ? "
           "AND parent_clip_id IS NOT NULL AND recipe_json IS NOT NULL")
    params: tuple = (dataset_id,)
    if parent_id is not None:
        sql, params = sql + " AND parent_clip_id = ?", (dataset_id, parent_id)
    return {key: clip_id for key, clip_id in store.conn.execute(sql, params) if key}


def variants_by_media_key(store: Store, dataset_id: int, *,
                          parent_id: int | None = None) -> dict[tuple[str, str], int]:
    """{(media key, transcript): clip id} of the variants that recorded a media key
    (`variants.plan`): a variant whose text followed its parent's edit is found by these, its
    content key being the one of the text it was built with."""
    sql = ("SELECT json_extract(recipe_json, '$.media_key'), transcript, id FROM clips "
           "WHERE dataset_id = ? AND parent_clip_id IS NOT NULL AND recipe_json IS NOT NULL")
    params: tuple = (dataset_id,)
    if parent_id is not None:
        sql, params = sql + " AND parent_clip_id = ?", (dataset_id, parent_id)
    return {(key, text or ""): clip_id for key, text, clip_id in store.conn.execute(sql, params)
            if key}


def variant_descendants(store: Store, clip_id: int) -> list[dict]:
    """The clip and every variant built on it (variants of variants too), as clip rows."""
    return store.query(
        "WITH RECURSIVE tree(id) AS (SELECT ? UNION SELECT c.id FROM clips c "
        "JOIN tree t ON c.parent_clip_id = t.id) "
        "SELECT c.*, d.name AS dataset_name, d.root AS dataset_root FROM clips c "
        "JOIN datasets d ON d.id = c.dataset_id WHERE c.id IN (SELECT id FROM tree) "
        "ORDER BY c.id", (clip_id,),
    )


def delete_clip(store: Store, clip_id: int) -> bool:
    """Delete one clip row; its labels, predictions and variants go with it (ON DELETE CASCADE)."""
    with store.write() as conn:
        cursor = conn.execute("DELETE FROM clips WHERE id = ?", (clip_id,))
    return cursor.rowcount > 0


def move_variant_media(store: Store, clip_id: int, media_root: str, media_path: str,
                       media_columns: dict | None) -> None:
    """Point a variant row at its (re)written file and refresh its probe facts."""
    with store.write() as conn:
        conn.execute("UPDATE clips SET media_root = ?, media_path = ? WHERE id = ?",
                     (media_root, media_path, clip_id))
        if media_columns:
            save_media_info(store, [(clip_id, media_columns)])


def add_variant_with_media(store: Store, parent_id: int, external_id: str, *,
                           media_root: str | None, media_path: str | None, transcript: str,
                           recipe: dict, media_columns: dict | None,
                           copy_labels: bool = False) -> int:
    """A variant row, its media root and probe facts (and the parent's labels) in one commit."""
    with store.write() as conn:
        clip_id = add_variant_clip(store, parent_id, external_id, media_path, transcript, recipe)
        conn.execute("UPDATE clips SET media_root = ? WHERE id = ?", (media_root, clip_id))
        if media_columns:
            save_media_info(store, [(clip_id, media_columns)])
        if copy_labels:  # recorded: the copies follow the parent's later labels too
            conn.execute(
                "INSERT INTO annotations (clip_id, task_id, annotator, label) "
                "SELECT ?, task_id, annotator, label FROM annotations WHERE clip_id = ?",
                (clip_id, parent_id),
            )
            conn.execute("UPDATE clips SET recipe_json = json_set(recipe_json, "
                         "'$.copy_labels', json('true')) WHERE id = ?", (clip_id,))
    return clip_id
