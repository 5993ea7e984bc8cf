"""Curation writes, one function per user action: label, check answer, note, transcript,
review, undo/redo, adjudicate. Each returns an `Op` (mmla_app.ops.op) declaring its `Changes`.

The `_write_*` functions run on the writer thread with its Store; they return the clip id (or
(clip id, what was written) where the panel's "Saved" line needs the words).
"""

from __future__ import annotations

from mmla_app.ops.op import Op
from mmla_core.changes import CLIPS, DATASETS, LABELS, Changes
from mmla_core.store import checks, labels, review
from mmla_core.store.dataset_tasks import attach_new_task, attach_task_named
from mmla_core.store.edit_words import edit_description
from mmla_core.tasks import make_custom_task


def _labels_of(clip_id: int) -> Changes:
    return Changes.of(LABELS, clip_ids=(clip_id,))


# --- labels and notes (the Labels panel) ------------------------------------------------------

def _write_label(store, clip_id: int, task_id: int, label: str | None, annotator: str) -> int:
    labels.set_label(store, clip_id, task_id, label, annotator)
    return clip_id


def set_label(clip_id: int, task_id: int, label: str | None, annotator: str) -> Op:
    return Op(_write_label, (clip_id, task_id, label, annotator), _labels_of(clip_id))


def _write_label_by_index(store, clip_id: int, task_position: int, label_index: int,
                          annotator: str) -> tuple[int, str]:
    """A key pressed before the clip's labels loaded, resolved against the database; returns
    (clip id, what it wrote) for the "Saved" line."""
    tasks = review.clip_label_state(store, clip_id).tasks
    if 0 <= task_position < len(tasks):
        task_id, task = tasks[task_position]
        if 0 <= label_index < len(task.labels):
            labels.set_label(store, clip_id, task_id, task.labels[label_index], annotator)
            return clip_id, f"{task.name} = {task.labels[label_index]}"
        return clip_id, f"nothing ({task.name} has {len(task.labels)} labels)"
    return clip_id, "nothing (no task)"


def set_label_by_index(clip_id: int, task_position: int, label_index: int,
                       annotator: str) -> Op:
    return Op(_write_label_by_index, (clip_id, task_position, label_index, annotator),
              _labels_of(clip_id))


def _write_note(store, clip_id: int, annotator: str, text: str) -> int:
    labels.set_note(store, clip_id, annotator, text)
    return clip_id


def set_note(clip_id: int, annotator: str, text: str) -> Op:
    return Op(_write_note, (clip_id, annotator, text), _labels_of(clip_id))


def _write_task_attach(store, dataset_id: int, name: str, new_labels: list[str] | None) -> str:
    if new_labels is None:
        attach_task_named(store, dataset_id, name)
    else:
        attach_new_task(store, dataset_id, make_custom_task(name, new_labels))
    return name.strip()


def attach_task(dataset_id: int, name: str, new_labels: list[str] | None = None) -> Op:
    """Give a dataset a task: the task called `name`, or a new custom one with `new_labels`.
    Every clip of the dataset shows its buttons: the label panels reload (LABELS, no clip)."""
    return Op(_write_task_attach, (dataset_id, name, new_labels), Changes.of(DATASETS, LABELS))


# --- alignment checks (the Checks panel) ------------------------------------------------------

def _write_check_answer(store, clip_id: int, key: str, answer: str, annotator: str) -> int:
    checks.answer_check(store, clip_id, key, answer, annotator)
    return clip_id


def answer_check(clip_id: int, key: str, answer: str, annotator: str) -> Op:
    return Op(_write_check_answer, (clip_id, key, answer, annotator), _labels_of(clip_id))


def _write_answers_in_order(store, clip_id: int, answers: list[str], annotator: str) -> int:
    """Keys pressed before the clip's checks loaded: answer from the first open check on."""
    state = checks.clip_check_state(store, clip_id, annotator)
    index = state.first_open_index()
    for answer in answers:
        checks.answer_check(store, clip_id, state.checks[index].key, answer, annotator)
        index = min(index + 1, len(state.checks) - 1)
    return clip_id


def answer_checks_in_order(clip_id: int, answers: list[str], annotator: str) -> Op:
    return Op(_write_answers_in_order, (clip_id, list(answers), annotator), _labels_of(clip_id))


def _write_accept_model(store, clip_id: int, annotator: str) -> int:
    checks.accept_model_answers(store, clip_id, annotator)
    return clip_id


def accept_model_answers(clip_id: int, annotator: str) -> Op:
    return Op(_write_accept_model, (clip_id, annotator), _labels_of(clip_id))


# --- the window's edits: transcript, review, undo/redo ----------------------------------------

def _write_transcript(store, clip_id: int, text: str, annotator: str) -> None:
    labels.set_transcript(store, clip_id, text, annotator)


def set_transcript(clip_id: int, text: str, annotator: str) -> Op:
    return Op(_write_transcript, (clip_id, text, annotator),
              Changes.of(CLIPS, clip_ids=(clip_id,)))


def _write_review(store, clip_id: int, annotator: str):
    return review.mark_reviewed(store, clip_id, annotator)


def mark_reviewed(clip_id: int, annotator: str) -> Op:
    return Op(_write_review, (clip_id, annotator), _labels_of(clip_id))


def _write_undo(store, annotator: str, redo: bool):
    """(the edit undone or redone, what it was in words), or None when there was none."""
    edit = (labels.redo if redo else labels.undo)(store, annotator)
    return None if edit is None else (edit, edit_description(store, edit))


def undo(annotator: str, *, redo: bool = False) -> Op:
    """Undo (or redo) the annotator's last edit: a label, answer, note or transcript."""
    return Op(_write_undo, (annotator, redo), Changes.of(LABELS, CLIPS),
              clip_of_result=lambda done: None if done is None else done[0].clip_id)


# --- adjudication (the agreement dialog) ------------------------------------------------------

def _write_adjudication(store, clip_id: int, task_id: int, label: str, annotator: str) -> int:
    labels.adjudicate(store, clip_id, task_id, label, annotator)
    return clip_id


def adjudicate(clip_id: int, task_id: int, label: str, annotator: str) -> Op:
    return Op(_write_adjudication, (clip_id, task_id, label, annotator), _labels_of(clip_id))
