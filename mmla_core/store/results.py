"""Models, runs and predictions: everything needed to re-run any prediction (DESIGN rule 6)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable

from mmla_core.provenance import environment
from mmla_core.store.db import Store, inserted_id

PREDICTION_COLUMNS = (
    "run_id", "clip_id", "task_id", "model_id", "weights_hash", "adapter_path", "checkpoint",
    "prompt_template", "prompt_hash", "prompt_kind", "recipe_json", "num_frames", "sample_fps",
    "max_pixels", "audio_on", "seed", "answer_mode", "raw_output", "parsed_label", "gold_label",
    "is_correct", "scores_json", "latency_ms",
    "prompt_text", "input_hash", "token_counts_json", "logprobs_json",
)
_INSERT_PREDICTION = (
    f"INSERT INTO predictions ({', '.join(PREDICTION_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(PREDICTION_COLUMNS))})"
)

_RUN_NAMES = "m.name AS model_name, t.name AS task_name, d.name AS dataset_name"
_RUN_JOINS = ("LEFT JOIN models m ON m.id = r.model_id LEFT JOIN tasks t ON t.id = r.task_id "
              "LEFT JOIN datasets d ON d.id = r.dataset_id")


def add_model(store: Store, name: str, family: str, path: str, *, weights_hash: str | None = None,
              random_weights: bool = False) -> int:
    with store.write() as conn:
        conn.execute(
            "INSERT INTO models (name, family, path, weights_hash, random_weights) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET family = excluded.family, "
            "path = excluded.path, weights_hash = excluded.weights_hash, "
            "random_weights = excluded.random_weights",
            (name, family, path, weights_hash, int(random_weights)),
        )
    return int(store.scalar("SELECT id FROM models WHERE name = ?", (name,)))


def register_model(store: Store, *, path: str, name: str, family: str,
                   weights_hash: str | None = None, random_weights: bool = False,
                   model_id: int | None = None) -> int:
    """The models row for weights loaded from `path`: row `model_id`, else the one registered
    at `path`, keeps its name; else a new row named `name` (name-2, name-3... if taken)."""
    rows = store.query("SELECT id, name, path FROM models WHERE id = ? OR path = ? "
                       "ORDER BY id = ? DESC", (model_id, path, model_id))
    registered = rows[0]["name"] if rows else _free_model_name(store, name)
    return add_model(store, registered, family, path, weights_hash=weights_hash,
                     random_weights=random_weights)


def _free_model_name(store: Store, wanted: str) -> str:
    name, n = wanted, 1
    while store.scalar("SELECT 1 FROM models WHERE name = ?", (name,)):
        n += 1
        name = f"{wanted}-{n}"
    return name


def model_names(store: Store) -> list[str]:
    return [r["name"] for r in store.query("SELECT name FROM models ORDER BY name")]


class ModelRefError(ValueError):
    """A model name that names no registered model (or several), with the names there are."""


def find_model(store: Store, ref) -> dict | None:
    """The registered model `ref` names: its name, id or path exactly, else an unambiguous
    prefix of one name (`tiny` for `tiny-qwen2_5_omni`). None when it names none (it may be a
    folder or a hub id); ModelRefError when it is the prefix of several names."""
    ref = str(ref).strip()
    rows = store.query("SELECT id, name, path FROM models WHERE name = ? OR CAST(id AS TEXT) = ? "
                       "OR path = ? ORDER BY name = ? DESC", (ref,) * 4)
    if rows:
        return rows[0]
    found = [name for name in model_names(store) if ref and name.startswith(ref)]
    if len(found) > 1:
        raise ModelRefError(f"model {ref!r} could be any of {', '.join(found)}: give the whole "
                            "name")
    if found:
        return store.query("SELECT id, name, path FROM models WHERE name = ?", (found[0],))[0]
    return None


def unknown_model_hint(store: Store, ref) -> str:
    """For an error about a model that is not registered: the names that are ('' when `ref`
    is registered or is a folder)."""
    if not ref or os.path.exists(str(ref)):
        return ""
    try:
        if find_model(store, ref) is not None:
            return ""
    except ModelRefError:
        return ""
    names = model_names(store)
    known = ", ".join(names) if names else "none yet (mmla models add, mmla models tiny --add)"
    return f"no model {str(ref)!r} is registered in this project; registered models: {known}"


def model_path(store: Store, ref: str) -> str | None:
    """The folder of a registered model, by name, id or name prefix; None when no model is
    registered so (then `ref` may be a folder or a hub id)."""
    row = find_model(store, ref)
    return row["path"] if row else None


def all_models(store: Store) -> list[dict]:
    return store.query("SELECT * FROM models ORDER BY id")


def model_id_by_path(store: Store, path: str) -> int | None:
    row = store.conn.execute("SELECT id FROM models WHERE path = ?", (path,)).fetchone()
    return None if row is None else int(row[0])


def probe_run_ids(store: Store, task: str, model: str | None = None) -> list[int]:
    """Every probe run of `task` (by the model named `model`, when given), by id."""
    sql = ("SELECT r.id FROM runs r JOIN tasks t ON t.id = r.task_id "
           "LEFT JOIN models m ON m.id = r.model_id WHERE r.kind = 'probe' AND t.name = ?")
    params: tuple = (task,)
    if model:
        sql, params = sql + " AND m.name = ?", (task, model)
    return [row[0] for row in store.conn.execute(sql + " ORDER BY r.id", params)]


def model_name(store: Store, model_id: int) -> str | None:
    return store.scalar("SELECT name FROM models WHERE id = ?", (model_id,))


def start_run(store: Store, kind: str, *, settings: dict | None = None, **fields) -> int:
    """A run groups the predictions of one evaluation, probe or check pass; it records the
    library versions and code revision it was started with (provenance.environment)."""
    columns = {"kind": kind, "settings_json": json.dumps(settings or {}, sort_keys=True),
               "environment_json": json.dumps(environment(), sort_keys=True), **fields}
    with store.write() as conn:
        cursor = conn.execute(
            f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            tuple(columns.values()),
        )
    return inserted_id(cursor)


def finish_run(store: Store, run_id: int, status: str = "done", *,
               error: str | None = None) -> None:
    with store.write() as conn:
        conn.execute(
            "UPDATE runs SET status = ?, error = ?, "
            "finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?",
            (status, error, run_id),
        )


def prediction_row(prediction: dict) -> tuple:
    """Order a prediction dict's fields for insertion; derives is_correct and JSON scores."""
    record = dict(prediction)
    if record.get("is_correct") is None and record.get("gold_label") is not None:
        record["is_correct"] = int(record.get("parsed_label") == record["gold_label"])
    for column in ("scores_json", "token_counts_json", "logprobs_json"):
        if isinstance(record.get(column), dict):
            record[column] = json.dumps(record[column])
    record.setdefault("answer_mode", "scoring")
    record["audio_on"] = int(bool(record.get("audio_on")))
    return tuple(record.get(col) for col in PREDICTION_COLUMNS)


def provenance_columns(result) -> dict:
    """The per-sample provenance columns of a PredictionResult (rendered prompt, input hash,
    token counts per modality, each label's summed log-likelihood)."""
    return {"prompt_text": getattr(result, "chat_text", None) or None,
            "input_hash": getattr(result, "input_hash", None) or None,
            "token_counts_json": dict(getattr(result, "token_counts", None) or {}) or None,
            "logprobs_json": dict(getattr(result, "logprobs", None) or {}) or None}


def insert_predictions(store: Store, predictions: Iterable[dict | tuple]) -> int:
    """Write a batch in one transaction (tuples must already be in PREDICTION_COLUMNS order)."""
    rows = [p if isinstance(p, tuple) else prediction_row(p) for p in predictions]
    with store.write() as conn:
        conn.executemany(_INSERT_PREDICTION, rows)
    return len(rows)


def run_accuracy(store: Store, run_id: int) -> tuple[int, int, float | None]:
    """(scored, correct, accuracy) for a run; served from the (run_id, is_correct) index."""
    scored, correct = store.conn.execute(
        "SELECT count(is_correct), total(is_correct) FROM predictions WHERE run_id = ?",
        (run_id,),
    ).fetchone()
    return int(scored), int(correct), (correct / scored if scored else None)


def list_runs(store: Store) -> list[dict]:
    return store.query(
        f"SELECT r.*, {_RUN_NAMES}, "
        "(SELECT count(*) FROM predictions p WHERE p.run_id = r.id) AS prediction_count "
        f"FROM runs r {_RUN_JOINS} ORDER BY r.id DESC"
    )


# --- evaluation runs: resumable, one row per sample ---------------------------------------------

EVAL_COLUMNS = (*PREDICTION_COLUMNS, "sample_key", "variant", "error")
_UPSERT_EVAL = (  # REPLACE: a retried sample (an error row, a rank racing another) keeps one row
    f"INSERT OR REPLACE INTO predictions ({', '.join(EVAL_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(EVAL_COLUMNS))})"
)


def sample_key(clip_id: int, task_id: int | None, prompt_kind: str, variant: str | None) -> str:
    """What makes a prediction unique within a run (a resumed run skips the keys it has)."""
    return f"{clip_id}|{task_id}|{prompt_kind}|{variant or ''}"


def eval_prediction_row(prediction: dict) -> tuple:
    """`prediction_row` plus sample key, variant and error; an error row is neither right nor
    wrong (is_correct NULL), so accuracy counts only samples the model answered."""
    row = prediction_row(prediction)
    if prediction.get("error"):
        row = tuple(None if c == "is_correct" else v
                    for c, v in zip(PREDICTION_COLUMNS, row, strict=True))
    return (*row, prediction.get("sample_key"), prediction.get("variant"),
            prediction.get("error"))


def upsert_eval_predictions(store: Store, predictions: Iterable[dict]) -> int:
    """Write one batch of an evaluation run in one transaction; idempotent per sample key."""
    rows = [eval_prediction_row(p) for p in predictions]
    with store.write() as conn:
        conn.executemany(_UPSERT_EVAL, rows)
    return len(rows)


def done_sample_keys(store: Store, run_id: int) -> set[str]:
    """Samples of a run already answered (error rows are retried on resume)."""
    rows = store.conn.execute(
        "SELECT sample_key FROM predictions WHERE run_id = ? AND sample_key IS NOT NULL "
        "AND error IS NULL", (run_id,),
    )
    return {key for (key,) in rows}


def sample_key_errors(store: Store, run_id: int) -> dict[str, bool]:
    """{sample key: whether its row is an error row} of a run (a shard merge's starting point)."""
    rows = store.conn.execute("SELECT sample_key, error IS NOT NULL FROM predictions "
                              "WHERE run_id = ? AND sample_key IS NOT NULL", (run_id,))
    return {key: bool(failed) for key, failed in rows}


def run_counts(store: Store, run_id: int) -> tuple[int, int]:
    """(samples written, of which errors) of a run."""
    written, errors = store.conn.execute(
        "SELECT count(*), count(error) FROM predictions WHERE run_id = ?", (run_id,)
    ).fetchone()
    return int(written), int(errors)


def get_run(store: Store, run_id: int) -> dict | None:
    rows = store.query(f"SELECT r.*, {_RUN_NAMES} FROM runs r {_RUN_JOINS} WHERE r.id = ?",
                       (run_id,))
    return rows[0] if rows else None


def require_run(store: Store, run_id: int) -> dict:
    """`get_run` for a run the caller just wrote: one deleted meanwhile (by another window or
    `mmla runs rm`) is a clear error, not a None further on."""
    run = get_run(store, run_id)
    if run is None:
        raise LookupError(f"run {run_id} is no longer in the project (deleted meanwhile?)")
    return run


def update_run(store: Store, run_id: int, **fields) -> None:
    if "settings" in fields:
        fields["settings_json"] = json.dumps(fields.pop("settings"), sort_keys=True)
    assignments = ", ".join(f"{name} = ?" for name in fields)
    with store.write() as conn:
        conn.execute(f"UPDATE runs SET {assignments} WHERE id = ?", (*fields.values(), run_id))


def claim_launch_run(store: Store, launch_key: str, kind: str, *, settings: dict,
                     **fields) -> tuple[int, bool]:
    """(run id, created): the first rank of a launch creates the run, the others join it."""
    with store.write() as conn:
        row = conn.execute("SELECT id FROM runs WHERE launch_key = ?", (launch_key,)).fetchone()
        if row is not None:
            return int(row[0]), False
        run_id = start_run(store, kind, settings=settings, launch_key=launch_key, **fields)
    return run_id, True


def complete_if_all_written(store: Store, run_id: int) -> bool:
    """Mark a running run done once every sample of every shard is written (the last rank to
    finish does it); returns whether the run is done now."""
    with store.write() as conn:
        conn.execute(
            "UPDATE runs SET status = 'done', error = NULL, "
            "finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ? AND status = "
            "'running' AND total IS NOT NULL AND (SELECT count(*) FROM predictions p WHERE "
            "p.run_id = runs.id AND p.sample_key IS NOT NULL) >= total", (run_id,),
        )
        status = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
    return status is not None and status[0] == "done"


def run_predictions(store: Store, run_id: int) -> list[dict]:
    """Every prediction of a run with its clip's external id, in clip then variant order."""
    return store.query(
        "SELECT p.*, c.external_id, c.split FROM predictions p "
        "JOIN clips c ON c.id = p.clip_id WHERE p.run_id = ? "
        "ORDER BY p.clip_id, p.variant IS NOT NULL, p.variant, p.id", (run_id,),
    )


def run_error_rows(store: Store, run_id: int, limit: int) -> list[dict]:
    """The first `limit` samples of a run that failed: clip, external id, variant, error."""
    return store.query(
        "SELECT p.clip_id, c.external_id, p.variant, p.error FROM predictions p "
        "JOIN clips c ON c.id = p.clip_id WHERE p.run_id = ? AND p.error IS NOT NULL "
        "ORDER BY p.clip_id, p.variant IS NOT NULL, p.variant LIMIT ?", (run_id, limit),
    )


def original_clip_score(store: Store, run_id: int) -> tuple[int, float]:
    """(scored, correct) over a run's predictions on original clips (variants left out)."""
    return store.conn.execute(
        "SELECT count(is_correct), total(is_correct) FROM predictions WHERE run_id = ? "
        "AND variant IS NULL", (run_id,)).fetchone()


def predictions_in_order(store: Store, run_id: int) -> list[dict]:
    """A run's prediction rows as they were written (id order)."""
    return store.query("SELECT * FROM predictions WHERE run_id = ? ORDER BY id", (run_id,))


def prediction_id(store: Store, run_id: int, key: str) -> int | None:
    """The id of a run's prediction for one sample key."""
    found = store.scalar("SELECT id FROM predictions WHERE run_id = ? AND sample_key = ?",
                         (run_id, key))
    return None if found is None else int(found)


def prediction_recipes(store: Store, run_id: int) -> dict[int, str | None]:
    """{prediction id: its variant recipe JSON} of one run."""
    return dict(store.conn.execute(
        "SELECT id, recipe_json FROM predictions WHERE run_id = ?", (run_id,)).fetchall())


def probe_runs_by_clip(store: Store, task: str, model: str | None = None) -> list[tuple]:
    """(run id, clip id) of every finished probe of `task` (by `model`: name or path), oldest
    first; the clip id is None for a probe whose settings name none."""
    sql = ("SELECT r.id, json_extract(r.settings_json, '$.probe.clip_id') AS clip FROM runs r "
           "JOIN tasks t ON t.id = r.task_id LEFT JOIN models m ON m.id = r.model_id "
           "WHERE r.kind = 'probe' AND r.status = 'done' AND t.name = ?")
    params: tuple = (task,)
    if model:
        sql, params = sql + " AND (m.name = ? OR m.path = ?)", (task, model, model)
    return store.conn.execute(sql + " ORDER BY r.id", params).fetchall()
