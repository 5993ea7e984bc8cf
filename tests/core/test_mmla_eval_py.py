"""Our task labels and answer parser against MMLA's own eval.py, run verbatim
(tests/support/mmla_eval_py.py): the same label strings in the same order for every dataset,
and the same parse ("unknown" / "multi" included) of every answer, in every spelling of the
task word our prompt kinds ask for.
"""

from __future__ import annotations

import pytest

from mmla_core.answers import clean
from mmla_core.prompts import answer, answer_word
from mmla_core.tasks import MMLA_TASKS
from tests.support import mmla_eval_py


def test_every_task_has_eval_pys_labels_in_its_order_and_spelling():
    theirs = mmla_eval_py.labels_map()
    assert sorted(t.name for t in MMLA_TASKS) == sorted(theirs)  # ours in the paper's order
    for task in MMLA_TASKS:
        assert list(theirs[task.name]) == [task.task_key], task.name
        assert list(task.labels) == theirs[task.name][task.task_key], task.name


def answers_to_parse(task) -> list[str]:
    """Model outputs of every shape MMLA's parser meets, for one task."""
    labels = list(task.labels)
    words = {answer_word(task, kind) for kind in ("zero_shot", "sft", "text_sft")}
    out = ["", "I am not sure.", "nan", ", ".join(labels), f"[{', '.join(labels)}]",
           f"{labels[0]} or {labels[-1]}", f"{labels[-1]}\n{labels[0]}"]
    for label in labels:
        out += [label, label.upper(), label.capitalize(), f"{label}.", f"'{label}'",
                f"The {task.prompt_word} is {label}.", f"{label}s", f"not{label}", f"{label}-ish",
                f"{label}_x", f"\u00e9{label}", f"{label} ({labels[0]})"]
        out += [f"{word}: {label}" for word in words]
        out += [f"{word.upper()}: {label.capitalize()}" for word in words]
        out += [answer(task, label, kind=kind) for kind in ("sft", "text_sft")]
    out += [f"{word}:" for word in words] + list(words)
    return out


@pytest.mark.parametrize("task", MMLA_TASKS, ids=lambda t: t.name)
def test_parser_parses_as_eval_py_for_every_answer_word(task):
    outputs = answers_to_parse(task)
    gold = [task.labels[0]] * len(outputs)
    theirs = mmla_eval_py.clean(outputs, gold, task.name, task.task_key)
    for kind in ("zero_shot", "sft", "text_sft"):  # the task word each prompt kind strips
        ours = [clean(text, task.labels, answer_word(task, kind)) for text in outputs]
        assert ours == theirs, kind
    assert "multi" in theirs and "unknown" in theirs


@pytest.mark.parametrize("task", MMLA_TASKS, ids=lambda t: t.name)
def test_eval_py_reads_the_gold_label_of_our_sft_answers(task):
    """eval.py's gold: `row['Label'].split(':')[1].strip().lower()` on the answer we train on."""
    for label in task.labels:
        for kind in ("sft", "text_sft"):
            assert answer(task, label, kind=kind).split(":")[1].strip().lower() == label
