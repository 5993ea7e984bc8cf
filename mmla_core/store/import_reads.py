"""What a re-import compares the source against: the source labels it wrote before, the labels
persons gave and the transcripts persons edited (a person's edit is never overwritten by an
import, `datasets.identity` and `datasets.common`)."""

from __future__ import annotations

from mmla_core.store.db import Store

__all__ = ["curated_transcripts", "human_labels", "imported_labels"]


def imported_labels(store: Store, dataset_id: int) -> dict[tuple[int, int], str]:
    """{(clip id, task id): label} of the source labels (annotator 'import') of one dataset.

    Importers compare against it so a re-import writes only labels that changed.
    """
    rows = store.conn.execute(
        "SELECT a.clip_id, a.task_id, a.label FROM annotations a JOIN clips c ON c.id = a.clip_id "
        "WHERE c.dataset_id = ? AND a.annotator = 'import'", (dataset_id,),
    )
    return {(clip_id, task_id): label for clip_id, task_id, label in rows}


def human_labels(store: Store, dataset_id: int) -> dict[tuple[int, int], list[tuple[str, str]]]:
    """{(clip id, task id): [(annotator, label)]} of the labels persons gave in a dataset."""
    rows = store.conn.execute(
        "SELECT a.clip_id, a.task_id, a.annotator, a.label FROM annotations a "
        "JOIN clips c ON c.id = a.clip_id WHERE c.dataset_id = ? AND a.annotator != 'import' "
        "ORDER BY a.annotator", (dataset_id,))
    result: dict[tuple[int, int], list[tuple[str, str]]] = {}
    for clip_id, task_id, annotator, label in rows:
        result.setdefault((clip_id, task_id), []).append((annotator, label))
    return result


def curated_transcripts(store: Store, dataset_id: int) -> dict[int, tuple[str, str]]:
    """{clip id: (transcript, annotator)} of clips whose transcript a person edited.

    A transcript is curated when an edit of it is still in effect (state 'done'); the latest
    one names the person.
    """
    rows = store.conn.execute(
        "SELECT c.id, c.transcript, h.annotator FROM clips c JOIN edit_history h "
        "ON h.id = (SELECT max(id) FROM edit_history WHERE clip_id = c.id "
        "AND kind = 'transcript' AND state = 'done') "
        "WHERE c.dataset_id = ?", (dataset_id,))
    return {clip_id: (text, annotator) for clip_id, text, annotator in rows}
