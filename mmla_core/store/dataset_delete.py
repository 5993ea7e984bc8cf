"""Delete a whole dataset: what would go (to tell the user first), then the rows in one commit.

The clips' labels, check answers, notes, reviews, undo history and predictions go with them by
ON DELETE CASCADE. Runs are deleted when they belong to the dataset (`runs.dataset_id`) or when
every prediction they hold is on one of its clips (a probe of one clip has no dataset id); a run
that also holds predictions on other datasets keeps those. Training jobs are kept: their
adapters live in their own folders and `mmla train rm` removes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmla_core.store.db import Store
from mmla_core.words import count

__all__ = ["DatasetFootprint", "dataset_footprint", "delete_dataset_rows", "owned_runs"]

_CLIPS = "SELECT id FROM clips WHERE dataset_id = :d"


@dataclass(frozen=True)
class DatasetFootprint:
    """How much goes when a dataset is deleted."""

    dataset_id: int
    name: str
    clips: int  # source clips and variants together
    variants: int
    labels: int  # every annotator's, the imported source labels included
    check_answers: int
    runs: int
    predictions: int

    def summary(self) -> str:
        return (f"{count(self.clips - self.variants, 'clip')}, {count(self.variants, 'variant')}, "
                f"{count(self.labels, 'label')}, {count(self.check_answers, 'check answer')}, "
                f"{count(self.runs, 'run')} ({count(self.predictions, 'prediction')})")


def owned_runs(store: Store, dataset_id: int) -> list[int]:
    """Runs of the dataset, and runs all of whose predictions are on its clips."""
    rows = store.query(
        f"SELECT id FROM runs WHERE dataset_id = :d UNION "
        f"SELECT DISTINCT p.run_id FROM predictions p WHERE p.clip_id IN ({_CLIPS}) "
        f"AND NOT EXISTS (SELECT 1 FROM predictions o WHERE o.run_id = p.run_id "
        f"AND o.clip_id NOT IN ({_CLIPS}))", {"d": dataset_id})
    return sorted(int(r["id"]) for r in rows)


def dataset_footprint(store: Store, dataset: dict) -> DatasetFootprint:
    params = {"d": dataset["id"]}

    def count(sql: str) -> int:
        return int(store.scalar(sql, params) or 0)

    runs = owned_runs(store, dataset["id"])
    return DatasetFootprint(
        dataset_id=int(dataset["id"]), name=str(dataset["name"]),
        clips=count("SELECT count(*) FROM clips WHERE dataset_id = :d"),
        variants=count("SELECT count(*) FROM clips WHERE dataset_id = :d "
                       "AND parent_clip_id IS NOT NULL"),
        labels=count(f"SELECT count(*) FROM annotations WHERE clip_id IN ({_CLIPS})"),
        check_answers=count(f"SELECT count(*) FROM check_answers WHERE clip_id IN ({_CLIPS})"),
        runs=len(runs),
        predictions=count(f"SELECT count(*) FROM predictions WHERE clip_id IN ({_CLIPS})"),
    )


def delete_dataset_rows(store: Store, dataset_id: int, run_ids: list[int]) -> None:
    """The dataset row, its clips (and all that cascades from them) and `run_ids`, one commit."""
    with store.write() as conn:
        conn.executemany("DELETE FROM runs WHERE id = ?", [(r,) for r in run_ids])
        # variants first: a parent's cascade would reach them anyway, but children-first keeps
        # each statement's cascade shallow on big datasets
        conn.execute("DELETE FROM clips WHERE dataset_id = ? AND parent_clip_id IS NOT NULL",
                     (dataset_id,))
        conn.execute("DELETE FROM clips WHERE dataset_id = ?", (dataset_id,))
        conn.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,))
