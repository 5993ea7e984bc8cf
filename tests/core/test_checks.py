"""MMA-Bench's four alignment checks, per-dataset check lists, the AND-gate verdict, model layer."""

from __future__ import annotations

import pytest

from mmla_core.checks import MMA_CHECKS, MMA_KEYS, CheckError, verdict
from mmla_core.store import checks
from mmla_core.store.checks import (
    accept_model_answers,
    answer_check,
    clip_check_state,
    dataset_checks,
    set_dataset_checks,
)
from mmla_core.store.labels import check_answers, redo, set_check_answer, undo, undo_depth

ALL_YES = dict.fromkeys(MMA_KEYS, "yes")


@pytest.fixture
def store(demo_store):
    return demo_store


def test_the_four_checks_follow_mma_bench():
    assert MMA_KEYS == ("visual_only", "audio_only", "full_visual", "full_audio")
    shown = {c.key: c.shown_text for c in MMA_CHECKS}
    assert shown == {"visual_only": "video with audio muted",
                     "audio_only": "black frames with audio",
                     "full_visual": "full audio-video", "full_audio": "full audio-video"}
    assert [c.focus for c in MMA_CHECKS] == ["vision", "audio", "vision", "audio"]
    assert all(c.model_prompt.endswith("Answer with Yes or No.") for c in MMA_CHECKS)
    assert MMA_CHECKS[0].model_prompt == MMA_CHECKS[2].model_prompt  # same vision prompt
    assert "muted" in MMA_CHECKS[0].question and "black" in MMA_CHECKS[1].question


@pytest.mark.parametrize(("answers", "expected"), [
    (ALL_YES, "accept"),
    ({**ALL_YES, "full_audio": "no"}, "reject"),
    ({"visual_only": "no"}, "reject"),                       # one No is enough, even incomplete
    ({**ALL_YES, "audio_only": "unsure"}, None),              # Unsure never passes the gate
    ({**ALL_YES, "audio_only": "unsure", "full_visual": "no"}, "reject"),
    (dict.fromkeys(MMA_KEYS[:3], "yes"), None),                 # incomplete
    ({}, None),
])
def test_verdict_is_an_and_gate(answers, expected):
    assert verdict(answers) == expected


def test_verdict_over_a_custom_list_ignores_other_keys():
    assert verdict({"lips": "yes", "visual_only": "no"}, ["lips"]) == "accept"
    assert verdict({}, []) is None


def test_dataset_check_list_falls_back_to_the_four(store):
    assert [c.key for c in dataset_checks(store, 1)] == list(MMA_KEYS)


def test_custom_check_list_round_trips_and_resets(store):
    made = set_dataset_checks(store, 1, [("lips", "Do the lips move with the words?"),
                                         ("audio_only", "Can you hear the speaker?")])
    got = dataset_checks(store, 1)
    assert got == made
    assert [c.key for c in got] == ["lips", "audio_only"]
    assert got[1].shown == "black_frames" and got[1].question == "Can you hear the speaker?"
    assert got[0].shown == "full" and got[0].label == "Lips"
    set_dataset_checks(store, 1, [])
    assert [c.key for c in dataset_checks(store, 1)] == list(MMA_KEYS)


@pytest.mark.parametrize("items", [
    [("Bad Key", "q?")], [("ok", "  ")], [("a", "q1"), ("a", "q2")], [("9lives", "q")],
])
def test_bad_check_lists_are_refused_and_nothing_changes(store, items):
    set_dataset_checks(store, 1, [("keep", "Still here?")])
    with pytest.raises(CheckError):
        set_dataset_checks(store, 1, items)
    assert [c.key for c in dataset_checks(store, 1)] == ["keep"]


def test_answer_check_validates_key_and_answer(store):
    answer_check(store, 1, "visual_only", " YES ", "alice")
    assert clip_check_state(store, 1, "alice").mine == {"visual_only": "yes"}
    with pytest.raises(CheckError, match="no check 'lips'"):
        answer_check(store, 1, "lips", "yes", "alice")
    with pytest.raises(CheckError, match="answer must be"):
        answer_check(store, 1, "visual_only", "maybe", "alice")
    with pytest.raises(CheckError, match="no clip"):
        checks.clip_checks(store, 999)


def test_state_separates_mine_others_and_the_model_layer(store):
    for key in MMA_KEYS:
        answer_check(store, 1, key, "yes", "alice")
    answer_check(store, 1, "audio_only", "no", "bob")
    set_check_answer(store, 1, "full_audio", "no", "old-model", source="model", confidence=0.4)
    set_check_answer(store, 1, "full_audio", "yes", "omni", source="model", confidence=0.9)
    state = clip_check_state(store, 1, "alice")
    assert state.verdict == "accept" and state.answered == 4
    assert state.others == {"audio_only": [("bob", "no")]}
    assert state.model["full_audio"]["annotator"] == "omni"  # the latest model answer wins
    assert state.model["full_audio"]["confidence"] == pytest.approx(0.9)
    assert clip_check_state(store, 1, "bob").verdict == "reject"
    assert state.model_to_accept() == {}  # alice answered everything herself


def test_accept_model_answers_fills_only_open_checks_and_is_undoable(store):
    answer_check(store, 2, "visual_only", "no", "alice")
    for key in MMA_KEYS:
        set_check_answer(store, 2, key, "yes", "omni", source="model", confidence=0.8)
    copied = accept_model_answers(store, 2, "alice")
    assert copied == dict.fromkeys(MMA_KEYS[1:], "yes")
    state = clip_check_state(store, 2, "alice")
    assert state.mine == {**copied, "visual_only": "no"}
    assert state.verdict == "reject"
    human = [r for r in check_answers(store, 2) if r["annotator"] == "alice"]
    assert {r["source"] for r in human} == {"human"}
    assert accept_model_answers(store, 2, "alice") == {}
    assert undo_depth(store, "alice") == (2, 0)  # her own answer + the accepted group
    undo(store, "alice")  # one step takes back every accepted answer, not just the last
    assert clip_check_state(store, 2, "alice").mine == {"visual_only": "no"}
    assert undo_depth(store, "alice") == (1, 1)
    redo(store, "alice")
    assert clip_check_state(store, 2, "alice").mine == {**copied, "visual_only": "no"}
    undo(store, "alice")
    undo(store, "alice")
    assert clip_check_state(store, 2, "alice").mine == {}


def test_first_open_index_points_at_the_first_undecided_check(store):
    assert clip_check_state(store, 3, "alice").first_open_index() == 0
    answer_check(store, 3, "visual_only", "yes", "alice")
    answer_check(store, 3, "audio_only", "unsure", "alice")
    assert clip_check_state(store, 3, "alice").first_open_index() == 1
