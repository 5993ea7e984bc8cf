"""Probe imported media in worker processes, committing batch by batch so a stop loses little.

Importers only record paths (health 'unprobed'); probing opens every file, which for 60k clips
is the slow part. Each batch of results is committed on its own, so an interrupted probe (a
crash, the user cancelling through `progress`) resumes with the clips still 'unprobed'.
Paths are confined to their dataset root before any worker opens them.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from mmla_core.media.probe import probe
from mmla_core.paths import PathEscapeError, confine
from mmla_core.procs import pool_initializer
from mmla_core.store.catalog import clips_to_probe, save_media_info
from mmla_core.store.db import Store
from mmla_core.variants.plan import media_fingerprint

UNSAFE_PATH = "unsafe_path"
POOL_MIN_FILES = 256  # below this (and with no explicit `workers`) probing runs in-process:
# one probe of a short clip takes milliseconds, less than starting a worker process
Progress = Callable[[int, int], None]


class ProbeError(RuntimeError):
    """Probing stopped for a reason other than a bad file (bad files only get a health)."""


Job = tuple[int, str]  # (clip id, absolute media path)
Update = tuple[int, dict]  # (clip id, clip columns)


def probe_pending(
    store: Store, dataset_id: int | None = None, *, workers: int | None = None,
    batch: int = 64, progress: Progress | None = None,
) -> dict[str, int]:
    """Probe every unprobed clip (of one dataset, or all); returns {health: clips} for this run.

    `workers` processes (default: the CPU count, or 1 below POOL_MIN_FILES files), never more
    than there are batches; with one, probing runs in this process. `progress(done,
    total)` runs after each committed batch; raising from it stops the probe after that batch.
    """
    pending = clips_to_probe(store, dataset_id)
    total = len(pending)
    jobs, refused = _confined_jobs(pending)
    counts: Counter[str] = Counter()
    done = 0

    def commit(updates: list[Update]) -> None:
        nonlocal done
        save_media_info(store, updates)
        counts.update(cols["health"] for _, cols in updates)
        done += len(updates)
        if progress is not None:
            progress(done, total)

    if refused:
        commit(refused)
    batch = max(1, batch)
    if workers is None:
        workers = (os.cpu_count() or 1) if len(jobs) >= POOL_MIN_FILES else 1
    workers = max(1, min(workers, math.ceil(len(jobs) / batch)))
    if jobs and workers == 1:
        _probe_inline(jobs, batch, commit)
    elif jobs:
        _probe_in_pool(jobs, workers, batch, commit)
    return dict(counts)


def _confined_jobs(pending: list[tuple[int, str, str]]) -> tuple[list[Job], list[Update]]:
    jobs, refused = [], []
    for clip_id, root, media_path in pending:
        try:
            confine(root, media_path)
            # probe the path as the user named it: a verdict on a link names the link
            jobs.append((clip_id, os.path.normpath(os.path.join(root, media_path))))
        except PathEscapeError as exc:
            refused.append((clip_id, {"health": UNSAFE_PATH, "health_detail": str(exc)}))
    return jobs, refused


def probe_columns(path: str) -> dict:
    """The clip's media columns, plus the fingerprint `mmla datasets move` checks files by.

    Never raises (a worker's answer for a bad file is its health verdict).
    """
    columns = probe(path).clip_columns()
    if columns["health"] not in ("missing_file", "not_a_file", "unreadable"):
        try:
            columns["media_hash"] = media_fingerprint(path)
        except OSError:
            columns["media_hash"] = None
    return columns


def _probe_inline(jobs: list[Job], batch: int, commit: Callable[[list[Update]], None]) -> None:
    for start in range(0, len(jobs), batch):
        chunk = jobs[start:start + batch]
        commit([(clip_id, probe_columns(path)) for clip_id, path in chunk])


def _probe_in_pool(
    jobs: list[Job], workers: int, batch: int, commit: Callable[[list[Update]], None]
) -> None:
    """Results arrive in job order; pending work is cancelled if `commit` raises.

    Workers run `probe_columns` (never raises).
    """
    context = _worker_context()
    # workers die with this process: a SIGKILLed `mmla import` leaves no probe workers behind
    initializer, initargs = pool_initializer()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=initializer, initargs=initargs)
    try:
        chunksize = max(1, min(8, batch // workers))
        results = pool.map(probe_columns, [path for _, path in jobs], chunksize=chunksize)
        buffer: list[Update] = []
        for (clip_id, _), columns in zip(jobs, results, strict=True):
            buffer.append((clip_id, columns))
            if len(buffer) >= batch:
                commit(buffer)
                buffer = []
        if buffer:
            commit(buffer)
    except BrokenProcessPool as exc:
        raise ProbeError(
            f"a probe worker process died ({exc}); the batches committed before it are saved "
            "and probing again resumes after them"
        ) from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_context() -> multiprocessing.context.BaseContext:
    """forkserver where there is one (Linux, macOS), else spawn; never a plain fork.

    Forking this process could copy a lock some other thread (Qt, SQLite, logging) holds.
    The fork server is started once, single-threaded, and stays up, so later probes start
    their workers in milliseconds instead of re-importing the media layer per worker.
    """
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
