"""Two probes of one clip compared cell by cell (adapter vs base, model vs model)."""

from dataclasses import replace

import pytest

from mmla_core.probe.compare import compare_probes
from tests.support.probe_results import cell, constructed


def test_pairs_mark_differences_fixes_and_breaks():
    base = constructed()
    tuned = replace(base, run_id=2, model="m", adapter="/runs/sft/adapter", cells=[
        cell("aligned", "visual_focused", 0.9, 0.1),         # same answer, surer
        cell("frames_zeroed", "visual_focused", 0.7, 0.3),   # was wrong (b), now right: fixed
        cell("audio_swap", "visual_focused", 0.2, 0.8),      # was right, now wrong: broken
        cell("audio_removed", "visual_focused", 0.9, 0.1),
        cell("misleading_caption", "visual_focused", 0.8, 0.2)])
    comparison = compare_probes(base, tuned)
    assert comparison.rows == base.scenarios and comparison.prompts == ("visual_focused",)
    aligned = comparison.pair("aligned", "visual_focused")
    assert not aligned.differs and aligned.delta_p_gold == pytest.approx(0.1)
    assert comparison.pair("frames_zeroed", "visual_focused").correctness_changed == "fixed"
    assert comparison.pair("audio_swap", "visual_focused").correctness_changed == "broken"
    assert [p.row for p in comparison.differences()] == ["frames_zeroed", "audio_swap"]
    assert comparison.summary() == "2 of 5 cells answered differently; B fixed 1, broke 1"
    assert tuned.title() == "probe #2: m + adapter sft/adapter"


def test_rows_only_one_probe_ran_are_kept_as_differences():
    base = constructed()
    other = replace(base, run_id=3, scenarios=("aligned",), cells=base.cells[:1])
    comparison = compare_probes(base, other)
    missing = comparison.pair("audio_swap", "visual_focused")
    assert missing.b is None and missing.differs and missing.delta_p_gold is None
    # the summary counts answers that differ among the cells both ran (`mmla probe compare` of
    # a full probe with a two-cell one said "16 of 18 cells answered differently")
    assert comparison.summary() == ("0 of 1 cells answered differently; 4 ran in A only; "
                                    "B fixed 0, broke 0")


def test_probes_of_different_clips_are_refused():
    with pytest.raises(ValueError, match="same clip"):
        compare_probes(constructed(), replace(constructed(), clip_id=8))


def test_cohens_d_says_why_it_is_empty():
    from mmla_core.probe.sets import cohens_d_reason

    assert "No probes" in cohens_d_reason([])
    assert "captured attention" in cohens_d_reason([constructed()])
    with_attention = constructed()
    with_attention.cells[0].attention = [[0.2, 0.3, 0.5]]
    assert "at least 2 aligned clips" in cohens_d_reason([with_attention])
