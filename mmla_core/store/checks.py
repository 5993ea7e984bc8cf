"""A dataset's alignment-check list and one clip's check answers, read and written in the store.

The checks themselves, MMA-Bench's four and the verdict rule, are pure: `mmla_core.checks`.
"""

from __future__ import annotations

from collections.abc import Iterable

from mmla_core.checks import MMA_CHECKS, Check, CheckError, ClipCheckState, check_by_key, make_check
from mmla_core.store.db import Store
from mmla_core.store.labels import (
    CHECK_ANSWERS,
    check_answers,
    set_check_answer,
    set_check_answers,
)


def dataset_checks(store: Store, dataset_id: int) -> list[Check]:
    """The dataset's own check list, or MMA-Bench's four when it has none."""
    rows = store.query(
        "SELECT check_key, question FROM dataset_checks WHERE dataset_id = ? "
        "ORDER BY position, id", (dataset_id,),
    )
    if not rows:
        return list(MMA_CHECKS)
    return [make_check(r["check_key"], r["question"]) for r in rows]


def set_dataset_checks(store: Store, dataset_id: int,
                       checks: Iterable[Check | tuple[str, str]]) -> list[Check]:
    """Replace the dataset's check list (an empty list goes back to MMA-Bench's four).

    Answers already given are kept, even for keys no longer listed.
    """
    made = [c if isinstance(c, Check) else make_check(*c) for c in checks]
    keys = [c.key for c in made]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise CheckError(f"check keys repeat: {duplicates}")
    with store.write() as conn:
        conn.execute("DELETE FROM dataset_checks WHERE dataset_id = ?", (dataset_id,))
        conn.executemany(
            "INSERT INTO dataset_checks (dataset_id, check_key, question, position) "
            "VALUES (?, ?, ?, ?)",
            [(dataset_id, c.key, c.question, i) for i, c in enumerate(made)],
        )
    return made or list(MMA_CHECKS)


def clip_checks(store: Store, clip_id: int) -> list[Check]:
    dataset_id = store.scalar("SELECT dataset_id FROM clips WHERE id = ?", (clip_id,))
    if dataset_id is None:
        raise CheckError(f"no clip {clip_id}")
    return dataset_checks(store, int(dataset_id))


def clip_check_state(store: Store, clip_id: int, annotator: str) -> ClipCheckState:
    checks = clip_checks(store, clip_id)
    state = ClipCheckState(clip_id, checks, {}, {}, {})
    for row in sorted(check_answers(store, clip_id), key=lambda r: r["updated_at"]):
        key = row["check_key"]
        if row["source"] == "model":
            state.model[key] = row  # the latest model answer wins
        elif row["annotator"] == annotator:
            state.mine[key] = row["answer"]
        else:
            state.others.setdefault(key, []).append((row["annotator"], row["answer"]))
    return state


def answer_check(store: Store, clip_id: int, check_key: str, answer: str, annotator: str) -> None:
    """A curator's answer, checked against the clip's check list."""
    answer = answer.strip().lower()
    if answer not in CHECK_ANSWERS:
        raise CheckError(f"answer must be one of {CHECK_ANSWERS}, got {answer!r}")
    check_by_key(clip_checks(store, clip_id), check_key)
    set_check_answer(store, clip_id, check_key, answer, annotator)


def accept_model_answers(store: Store, clip_id: int, annotator: str) -> dict[str, str]:
    """Copy the latest model answers into the curator's own, for checks they left open.

    One transaction and one undo step: all copied or none. Returns what was copied.
    """
    todo = clip_check_state(store, clip_id, annotator).model_to_accept()
    set_check_answers(store, clip_id, todo, annotator)
    return todo


def model_answer_counts(store: Store, run_id: int) -> list[dict]:
    """How often a model-checks run answered each answer to each check (check_key, answer, n)."""
    return store.query(
        "SELECT ca.check_key, ca.answer, count(*) AS n FROM check_answers ca JOIN predictions p "
        "ON p.id = ca.prediction_id WHERE p.run_id = ? GROUP BY ca.check_key, ca.answer "
        "ORDER BY ca.check_key, ca.answer", (run_id,))
