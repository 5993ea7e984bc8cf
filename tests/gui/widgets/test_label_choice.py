"""The label source picker never swaps a person's choice silently (every form that uses it)."""

from __future__ import annotations

import pytest

from mmla_app.widgets.label_choice import GONE, LabelChoice

pytestmark = pytest.mark.gui


@pytest.fixture
def choice(qtbot):
    widget = LabelChoice()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_a_person_the_project_lost_stays_chosen_and_marked(choice):
    assert choice.set_annotators(["ann", "bob"]) is None
    choice.set_source("annotator:bob")
    lost = choice.set_annotators(["ann"])
    assert choice.source() == "annotator:bob"
    assert choice.source_combo.currentText() == f"Only bob's labels{GONE}"
    assert lost and "'annotator:bob' has no labels" in lost
    assert choice.lost_note.isVisible()
    assert choice.set_annotators(["ann", "bob"]) is None  # bob labels again: plain entry
    assert choice.source_combo.currentText() == "Only bob's labels"
    assert not choice.lost_note.isVisible()


def test_choosing_another_source_clears_the_mark(choice):
    choice.set_annotators(["bob"])
    choice.set_source("annotator:bob")
    choice.set_annotators([])
    choice.set_source("majority")
    assert not choice.lost_note.isVisible()
    assert choice.set_annotators([]) is None
    assert choice.source_combo.findData("annotator:bob") < 0  # the lost entry is gone now


def test_a_stored_choice_set_before_the_list_arrives_is_kept(choice):
    choice.set_selection({"labels": "annotator:carol"})  # e.g. an adapter's training settings
    assert choice.source() == "annotator:carol"
    assert choice.source_combo.currentText() == "Only carol's labels"  # not judged yet
    assert choice.set_annotators(["carol"]) is None
    assert choice.set_annotators(["ann"])  # later lost: said
    assert choice.source() == "annotator:carol"
