"""Variants for a whole dataset: planned here, written in worker processes, resumable.

Planning (donors, text, content keys) needs the database and runs in this process; writing the
MP4s runs in a process pool on all cores, one job per parent clip so its packets are read by one
worker. Rows are committed in small batches as results arrive. A variant whose key is already
recorded (and whose file exists) is skipped, so a batch stopped by a crash, Ctrl+C or the cancel
token resumes where it was, without duplicates. A clip a recipe cannot apply to is reported
and the batch goes on.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from mmla_core.fsutil import sweep_stale_temps
from mmla_core.media.probe import probe
from mmla_core.procs import pool_initializer
from mmla_core.store.catalog import find_dataset, variant_keys, variants_by_media_key
from mmla_core.store.db import Store
from mmla_core.variants.plan import DatasetContext, VariantPlan, plan_variant
from mmla_core.variants.recipes import RecipeError, VariantError, normalize_steps
from mmla_core.variants.store_ops import (
    already_made,
    media_columns,
    record_variant,
    variants_dir,
)
from mmla_core.variants.writer import write_variant

__all__ = ["BatchError", "BatchReport", "Failure", "make_variants"]

Progress = Callable[[int, int], None]
POOL_MIN_JOBS = 16  # fewer parent clips than this (and no explicit workers) run in-process
JOBS_PER_TASK = 4  # parent clips sent to a worker at once: fewer round trips, still balanced
COMMIT_EVERY = 64  # rows per transaction


class BatchError(RuntimeError):
    """The batch itself stopped (a worker process died); committed variants are kept."""


@dataclass(frozen=True)
class Failure:
    clip_id: int
    external_id: str
    recipe: str
    message: str

    def __str__(self) -> str:
        return f"clip {self.clip_id} ({self.external_id}), {self.recipe}: {self.message}"


@dataclass
class BatchReport:
    total: int = 0
    created: int = 0
    skipped: int = 0  # already there (same content key)
    failed: list[Failure] = field(default_factory=list)
    cancelled: bool = False
    clip_ids: list[int] = field(default_factory=list)  # created or found variants

    @property
    def done(self) -> int:
        return self.created + self.skipped + len(self.failed)

    def summary(self) -> str:
        tail = " (cancelled; run again to resume)" if self.cancelled else ""
        return (f"{self.created} variants created, {self.skipped} already present, "
                f"{len(self.failed)} failed of {self.total}{tail}")


@dataclass(frozen=True)
class _Pending:
    plan: VariantPlan
    parent: dict
    existing_id: int | None


def make_variants(
    store: Store, dataset: str | int, specs: Iterable, seed: int = 0, *,
    split: str | None = None, clip_ids: Iterable[int] | None = None,
    workers: int | None = None, progress: Progress | None = None, cancel=None,
    copy_labels: bool = False,
) -> BatchReport:
    """Build every variant in `specs` (each a list of steps) for the dataset's source clips.

    `cancel`: anything with `is_set()` (threading.Event); checked after each finished job.
    `progress(done, total)` is called as variants are recorded, skipped or fail.
    """
    row = _dataset(store, dataset)
    variants = [normalize_steps(s) for s in specs]
    if not variants:
        raise RecipeError("no recipes given")
    ctx = DatasetContext(store, row["id"])
    parents = _parents(ctx, split, clip_ids)
    report = BatchReport(total=len(parents) * len(variants))
    jobs = _plan_all(store, ctx, row, parents, variants, seed, report)
    state = _Recorder(store, report, progress, copy_labels)
    state.tick()
    text_only = [p for job in jobs for p in job if p.plan.out_path is None]
    state.record([(p, media_columns(p.plan, p.parent), None) for p in text_only])
    media_jobs = [[p for p in job if p.plan.out_path] for job in jobs]
    media_jobs = [job for job in media_jobs if job]
    if workers is None:
        workers = (os.cpu_count() or 1) if len(media_jobs) >= POOL_MIN_JOBS else 1
    workers = max(1, min(workers, len(media_jobs) or 1))
    try:
        if workers == 1:
            _run_inline(media_jobs, state, cancel)
        else:
            _run_pool(media_jobs, workers, state, cancel)
    except KeyboardInterrupt:
        state.flush()  # keep what is built; the rest resumes next time
        raise
    state.flush()
    return report


def _dataset(store: Store, dataset: str | int) -> dict:
    found = find_dataset(store, dataset)
    if found is None:
        raise ValueError(f"no dataset {dataset!r} in {store.path}")
    return found


def _parents(ctx: DatasetContext, split: str | None, clip_ids) -> list:
    wanted = set(clip_ids) if clip_ids is not None else None
    return [c for c in ctx.sources
            if (split is None or c.row["split"] == split) and (wanted is None or c.id in wanted)]


def _plan_all(store, ctx, dataset_row, parents, variants, seed, report) -> list[list[_Pending]]:
    """Plan every (parent, variant); skip those recorded already, note those that cannot apply."""
    out_dir = variants_dir(store, dataset_row["name"])
    sweep_stale_temps(out_dir)  # what a killed run was writing when it died
    known = variant_keys(store, dataset_row["id"])
    by_media_key = variants_by_media_key(store, dataset_row["id"])
    jobs = []
    for parent in parents:
        job = []
        for steps in variants:
            try:
                plan = plan_variant(ctx, parent.id, steps, seed, out_dir)
            except VariantError as exc:
                report.failed.append(Failure(parent.id, parent.external_id,
                                             "+".join(n for n, _ in steps), exc.why))
                continue
            made = already_made(store, known, by_media_key, plan)
            if made is not None:
                report.skipped += 1
                report.clip_ids.append(made)
                continue
            job.append(_Pending(plan, parent.row, known.get(plan.key)))
        if job:
            jobs.append(job)
    return jobs


class _Recorder:
    """Commits results in batches and reports progress; the only writer to the database."""

    def __init__(self, store: Store, report: BatchReport, progress, copy_labels: bool):
        self.store, self.report, self.progress = store, report, progress
        self.copy_labels = copy_labels
        self.buffer: list[tuple[_Pending, dict | None, str | None]] = []

    def record(self, results: list[tuple[_Pending, dict | None, str | None]]) -> None:
        self.buffer += results
        if len(self.buffer) >= COMMIT_EVERY or not results:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        with self.store.write():
            for pending, columns, error in self.buffer:
                self._one(pending, columns, error)
        self.buffer = []
        self.tick()

    def _one(self, pending: _Pending, columns: dict | None, error: str | None) -> None:
        plan = pending.plan
        if error is not None:
            parent = pending.parent
            self.report.failed.append(Failure(plan.parent_id, parent["external_id"],
                                              plan.label, error))
            return
        assert columns is not None  # build_job and media_columns give them when no error
        clip_id = record_variant(self.store, plan, columns, pending.parent,
                                 copy_labels=self.copy_labels, existing_id=pending.existing_id)
        self.report.created += pending.existing_id is None
        self.report.skipped += pending.existing_id is not None
        self.report.clip_ids.append(clip_id)

    def tick(self) -> None:
        if self.progress is not None:
            self.progress(self.report.done + len(self.buffer), self.report.total)


def build_job(plans: list[VariantPlan]) -> list[tuple[dict | None, str | None]]:
    """Runs in a worker: write each plan's file and probe it; errors become messages."""
    results: list[tuple[dict | None, str | None]] = []
    for plan in plans:
        try:
            if plan.out_path is None:   # text-only plans go to the store without a worker
                raise VariantError(plan.parent_name, plan.label, "this variant writes no file")
            write_variant(plan)
            results.append((probe(plan.out_path).clip_columns(), None))
        except VariantError as exc:
            results.append((None, exc.why))
        except Exception as exc:  # a worker must answer for every plan, whatever went wrong
            results.append((None, f"{type(exc).__name__}: {exc}"))
    return results


def _run_inline(jobs: list[list[_Pending]], state: _Recorder, cancel) -> None:
    for job in jobs:
        if cancel is not None and cancel.is_set():
            state.report.cancelled = True
            return
        results = build_job([p.plan for p in job])
        state.record([(p, cols, err) for p, (cols, err) in zip(job, results, strict=True)])
        state.tick()


def _run_pool(jobs: list[list[_Pending]], workers: int, state: _Recorder, cancel) -> None:
    """Jobs go out a few parents at a time; finished ones are recorded as they come back."""
    per_task = max(1, min(JOBS_PER_TASK, math.ceil(len(jobs) / (workers * 4))))
    tasks = [[p for job in jobs[i:i + per_task] for p in job]
             for i in range(0, len(jobs), per_task)]
    initializer, initargs = pool_initializer()  # a SIGKILLed batch takes its workers along
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context(),
                               initializer=initializer, initargs=initargs)
    try:
        futures = {pool.submit(build_job, [p.plan for p in t]): t for t in tasks}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            if cancel is not None and cancel.is_set() and pending:
                state.report.cancelled = True
                running = {f for f in pending if not f.cancel()}  # queued ones are dropped
                done |= wait(running).done  # what is being written is kept and recorded
                pending = set()
            for future in done:
                task = futures[future]
                state.record([(p, c, e) for p, (c, e) in zip(task, future.result(), strict=True)])
            state.tick()
    except BrokenProcessPool as exc:
        state.flush()
        raise BatchError(f"a variant worker process died ({exc}); the variants recorded "
                         "before it are kept and running the batch again resumes") from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _context() -> multiprocessing.context.BaseContext:
    """forkserver where there is one, else spawn; never fork a process with other threads."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
