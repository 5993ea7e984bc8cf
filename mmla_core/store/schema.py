"""The database schema, as sqlite-utils migrations (recorded in `_sqlite_migrations`).

Table and column names are meant to read well in `sqlite-utils` or Datasette: one row per thing,
`<thing>_id` foreign keys, times as ISO-8601 UTC text, JSON in `*_json` columns.
Never edit a shipped migration: add a new one and bump SCHEMA_VERSION.
"""

from __future__ import annotations

from sqlite_utils import Migrations

MIGRATIONS = Migrations("mmla_studio")
SCHEMA_VERSION = 10

_M001_TABLES = [
    """CREATE TABLE datasets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        root TEXT NOT NULL,            -- folder every clip media_path is relative to
        source_kind TEXT NOT NULL,     -- mmla | folder | sharegpt | demo | variants
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
    """CREATE TABLE clips (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        external_id TEXT NOT NULL,     -- the id in the source manifest
        split TEXT NOT NULL DEFAULT '',-- train | dev | test | '' (unsplit)
        media_path TEXT,               -- relative to datasets.root; NULL = text-only clip
        transcript TEXT NOT NULL DEFAULT '',
        duration_s REAL, video_duration_s REAL, audio_duration_s REAL,
        fps REAL, frame_count INTEGER, width INTEGER, height INTEGER,
        video_codec TEXT, audio_codec TEXT,
        has_video INTEGER, has_audio INTEGER, audio_rate INTEGER, audio_channels INTEGER,
        is_vfr INTEGER,
        health TEXT NOT NULL DEFAULT 'unprobed', -- ok | unprobed | text_only | or a problem list
        health_detail TEXT NOT NULL DEFAULT '',
        media_size INTEGER, media_mtime REAL, probed_at TEXT,
        parent_clip_id INTEGER REFERENCES clips(id) ON DELETE CASCADE,
        recipe_json TEXT,              -- variants: {type, params, donor_clip_id, seed}
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        UNIQUE (dataset_id, split, external_id)
    )""",
    "CREATE INDEX idx_clips_dataset_split ON clips(dataset_id, split)",
    "CREATE INDEX idx_clips_parent ON clips(parent_clip_id)",
    "CREATE INDEX idx_clips_health ON clips(health)",
    """CREATE TABLE tasks (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,     -- e.g. MIntRec, MELD-DA, or a user's own
        task_key TEXT NOT NULL,        -- label column / prompt word: intent, dialogue_act, ...
        dimension TEXT NOT NULL,
        labels_json TEXT NOT NULL,     -- ordered list of exact label strings
        prompt_template TEXT,          -- NULL = MMLA's template
        builtin INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
    """CREATE TABLE dataset_tasks (
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        PRIMARY KEY (dataset_id, task_id)
    )""",
    """CREATE TABLE annotations (
        id INTEGER PRIMARY KEY,
        clip_id INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
        task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        annotator TEXT NOT NULL,       -- a person's name, or 'import' for labels from a manifest
        label TEXT NOT NULL,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        UNIQUE (clip_id, task_id, annotator)
    )""",
    "CREATE INDEX idx_annotations_task_label ON annotations(task_id, label)",
    """CREATE TABLE edit_history (
        id INTEGER PRIMARY KEY,        -- one undoable human edit; undo/redo walk this per annotator
        annotator TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('label', 'check', 'transcript')),
        clip_id INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
        task_id INTEGER REFERENCES tasks(id) ON DELETE CASCADE, -- kind = label
        check_key TEXT,                -- kind = check
        old_value TEXT,                -- NULL = there was none
        new_value TEXT,                -- NULL = cleared
        state TEXT NOT NULL DEFAULT 'done', -- done | undone | dropped (a redo branch cut off)
        at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
    "CREATE INDEX idx_history_annotator_state ON edit_history(annotator, state, id)",
    """CREATE TABLE clip_notes (
        clip_id INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
        annotator TEXT NOT NULL,
        note TEXT NOT NULL,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        PRIMARY KEY (clip_id, annotator)
    )""",
    """CREATE TABLE check_answers (
        id INTEGER PRIMARY KEY,
        clip_id INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
        check_key TEXT NOT NULL,       -- visual_only | audio_only | full_* | a custom key
        answer TEXT NOT NULL CHECK (answer IN ('yes', 'no', 'unsure')),
        source TEXT NOT NULL DEFAULT 'human', -- human | model
        annotator TEXT NOT NULL,
        confidence REAL,               -- model answers: P(answer)
        prediction_id INTEGER REFERENCES predictions(id) ON DELETE SET NULL,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        UNIQUE (clip_id, check_key, annotator)
    )""",
    """CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        family TEXT NOT NULL,          -- qwen2_5_omni | qwen2_vl | qwen2_5_vl | text_lm
        path TEXT NOT NULL,            -- local folder or hub cache id
        weights_hash TEXT,
        random_weights INTEGER NOT NULL DEFAULT 0,
        added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,            -- eval | probe | checks | train_eval
        name TEXT NOT NULL DEFAULT '',
        model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
        adapter_path TEXT, checkpoint TEXT,
        task_id INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
        dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        split TEXT,
        settings_json TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'running', -- running | done | failed | cancelled
        started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        finished_at TEXT
    )""",
    """CREATE TABLE predictions (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        clip_id INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
        task_id INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
        model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
        weights_hash TEXT, adapter_path TEXT, checkpoint TEXT,
        prompt_template TEXT NOT NULL, prompt_hash TEXT NOT NULL, prompt_kind TEXT,
        recipe_json TEXT,              -- the variant recipe when the clip was built in memory
        num_frames INTEGER, sample_fps REAL, max_pixels INTEGER,
        audio_on INTEGER NOT NULL DEFAULT 0, seed INTEGER,
        answer_mode TEXT NOT NULL,     -- scoring | generation
        raw_output TEXT, parsed_label TEXT, gold_label TEXT,
        is_correct INTEGER,            -- parsed_label = gold_label, kept for fast run metrics
        scores_json TEXT,              -- {label: probability} for every candidate
        latency_ms REAL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
    "CREATE INDEX idx_predictions_run_correct ON predictions(run_id, is_correct)",
    "CREATE INDEX idx_predictions_clip ON predictions(clip_id)",
    """CREATE TABLE training_jobs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        config_json TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'created', -- created|running|stopping|done|failed|stopped
        pid INTEGER, output_dir TEXT, log_path TEXT,
        exit_code INTEGER, stderr_tail TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        started_at TEXT, finished_at TEXT
    )""",
    """CREATE TABLE training_events (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES training_jobs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL, epoch REAL,
        kind TEXT NOT NULL DEFAULT 'train', -- train | eval | checkpoint
        loss REAL, eval_loss REAL, eval_accuracy REAL, learning_rate REAL,
        samples_per_s REAL, tokens_per_s REAL, gpu_mem_mb REAL,
        at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
    "CREATE INDEX idx_training_events_job_step ON training_events(job_id, step)",
]


@MIGRATIONS()
def m001_initial(db) -> None:
    for statement in _M001_TABLES:
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")


_M002_STATEMENTS = [
    # A variant written by the app lives in the project's own variants folder, not in the
    # (possibly read-only) dataset folder: media_root says which root media_path is under.
    "ALTER TABLE clips ADD COLUMN media_root TEXT",  # NULL = datasets.root
    """CREATE TABLE dataset_checks (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        check_key TEXT NOT NULL,
        question TEXT NOT NULL,
        position INTEGER NOT NULL DEFAULT 0,
        UNIQUE (dataset_id, check_key)
    )""",
    """CREATE TABLE clip_reviews (
        clip_id INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
        annotator TEXT NOT NULL,
        verdict TEXT CHECK (verdict IN ('accept', 'reject')), -- NULL = reviewed, no verdict
        reviewed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        PRIMARY KEY (clip_id, annotator)
    )""",
    "CREATE INDEX idx_clip_reviews_annotator ON clip_reviews(annotator)",
]


@MIGRATIONS()
def m002_variants_root_checks_reviews(db) -> None:
    for statement in _M002_STATEMENTS:
        db.execute(statement)
    db.execute("PRAGMA user_version = 2")


_M003_STATEMENTS = [
    # Evaluation runs: resumable, shardable and honest about what went wrong.
    "ALTER TABLE runs ADD COLUMN total INTEGER",     # samples the run will predict (all shards)
    "ALTER TABLE runs ADD COLUMN error TEXT",        # why it failed / what was cancelled
    "ALTER TABLE runs ADD COLUMN launch_key TEXT",   # ranks of one torchrun launch share a run
    "CREATE UNIQUE INDEX idx_runs_launch_key ON runs(launch_key) WHERE launch_key IS NOT NULL",
    # One row per (run, sample): sample_key = clip|task|prompt kind|variant. Partial, so rows
    # written before (or by code that logs freely, e.g. benchmarks) are not constrained.
    "ALTER TABLE predictions ADD COLUMN sample_key TEXT",
    "ALTER TABLE predictions ADD COLUMN variant TEXT",  # NULL = the clip itself, else its type
    "ALTER TABLE predictions ADD COLUMN error TEXT",    # the input or model failed on this sample
    "CREATE UNIQUE INDEX idx_predictions_run_sample ON predictions(run_id, sample_key) "
    "WHERE sample_key IS NOT NULL",
]


@MIGRATIONS()
def m003_resumable_eval_runs(db) -> None:
    for statement in _M003_STATEMENTS:
        db.execute(statement)
    db.execute("PRAGMA user_version = 3")


_M004_STATEMENTS = [
    # Training jobs: what the trainer reports besides its events, for the job list, the ETA,
    # the model picker (adapter) and the results view (the runs it evaluated itself with).
    "ALTER TABLE training_jobs ADD COLUMN total_steps INTEGER",       # optimizer steps planned
    "ALTER TABLE training_jobs ADD COLUMN heartbeat_at TEXT",         # last sign of life
    "ALTER TABLE training_jobs ADD COLUMN best_step INTEGER",         # best dev accuracy at
    "ALTER TABLE training_jobs ADD COLUMN best_eval_accuracy REAL",
    "ALTER TABLE training_jobs ADD COLUMN adapter_path TEXT",         # <output_dir>/adapter
    "ALTER TABLE training_jobs ADD COLUMN test_run_ids_json TEXT",    # [run id] per task/variant
]


@MIGRATIONS()
def m004_training_job_results(db) -> None:
    for statement in _M004_STATEMENTS:
        db.execute(statement)
    db.execute("PRAGMA user_version = 4")


_M005_STATEMENTS = [
    # Several edits made by one action (accepting the model's check answers) undo as one step.
    "ALTER TABLE edit_history ADD COLUMN group_id INTEGER",  # NULL = an edit of its own
    "CREATE INDEX idx_history_group ON edit_history(group_id) WHERE group_id IS NOT NULL",
    # The Training tab reads a job's new events by id: a short range scan on this index.
    "CREATE INDEX idx_training_events_job_id ON training_events(job_id, id)",
]


@MIGRATIONS()
def m005_grouped_undo_event_index(db) -> None:
    for statement in _M005_STATEMENTS:
        db.execute(statement)
    db.execute("PRAGMA user_version = 5")


_M006_STATEMENTS = [
    # The label policy (store.label_policy, store.verdicts): every training job, evaluation run
    # (runs.settings_json "labels") and export records the label source, the per-kind counts
    # and how many clips the verdict rule left out (verdicts.Selection.record, as JSON).
    "ALTER TABLE training_jobs ADD COLUMN labels_json TEXT",  # NULL = launched before m006
    """CREATE TABLE exports (
        id INTEGER PRIMARY KEY,
        format TEXT NOT NULL,          -- llamafactory | jsonl | csv | eaf | review-jsonl | ...
        path TEXT NOT NULL,            -- the folder or file written
        dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        task_id INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
        labels_json TEXT NOT NULL,     -- Selection.record: source, counts, verdict rule, left out
        files_json TEXT NOT NULL DEFAULT '{}',  -- {file name: records}
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    )""",
    # An adjudication is person NAME's undoable edit of the label row `adjudicated:NAME`:
    # owner names the annotations.annotator an edit wrote when it is not the editor.
    "ALTER TABLE edit_history ADD COLUMN owner TEXT",  # NULL = the editor's own row
]


@MIGRATIONS()
def m006_label_policy_records(db) -> None:
    for statement in _M006_STATEMENTS:
        db.execute(statement)
    db.execute("PRAGMA user_version = 6")


_M007_STATEMENTS = [
    # A dataset is re-rooted only on purpose (`mmla datasets move`), which checks that each
    # file at the new root is the one probed at the old: same size and same fingerprint
    # (sha256 of the size and the first and last 64 KiB, `variants.plan.media_fingerprint`).
    "ALTER TABLE clips ADD COLUMN media_hash TEXT",  # NULL = not probed since this migration
]


@MIGRATIONS()
def m007_clip_media_hash(db) -> None:
    for statement in _M007_STATEMENTS:
        db.execute(statement)
    db.execute("PRAGMA user_version = 7")


_M008_STATEMENTS = [
    # The highest id ever given per table whose ids must never come back: `train rm` of the
    # newest job let the next job take its id (and its old output folder, logs and results).
    """CREATE TABLE id_high_water (
        name TEXT PRIMARY KEY,       -- the table, e.g. training_jobs
        value INTEGER NOT NULL
    )""",
    "INSERT INTO id_high_water (name, value) SELECT 'training_jobs', coalesce(max(id), 0) "
    "FROM training_jobs",
]


@MIGRATIONS()
def m008_id_high_water(db) -> None:
    for statement in _M008_STATEMENTS:
        db.execute(statement)
    db.execute("PRAGMA user_version = 8")


_M009_STATEMENTS = [
    # Per-sample provenance a reproduction needs (docs/evaluation.md "Per-sample fields").
    "ALTER TABLE predictions ADD COLUMN prompt_text TEXT",        # the chat text the processor got
    "ALTER TABLE predictions ADD COLUMN input_hash TEXT",         # sha256 of the model input
    "ALTER TABLE predictions ADD COLUMN token_counts_json TEXT",  # {text, video, audio, image}
    "ALTER TABLE predictions ADD COLUMN logprobs_json TEXT",      # {label: summed log-likelihood}
    # library versions and the project's git commit the run was started with (provenance.py)
    "ALTER TABLE runs ADD COLUMN environment_json TEXT",
]


@MIGRATIONS()
def m009_prediction_provenance(db) -> None:
    for statement in _M009_STATEMENTS:
        db.execute(statement)
    db.execute("PRAGMA user_version = 9")


_M010_STATEMENTS = [
    # A resumed training job keeps the start of its first run (started_at); each resume is
    # recorded: the latest one's time, and every one of them as [{at, checkpoint, step}].
    "ALTER TABLE training_jobs ADD COLUMN resumed_at TEXT",     # NULL = never resumed
    "ALTER TABLE training_jobs ADD COLUMN resumes_json TEXT",   # NULL = never resumed
]


@MIGRATIONS()
def m010_training_resumes(db) -> None:
    for statement in _M010_STATEMENTS:
        db.execute(statement)
    db.execute("PRAGMA user_version = 10")
