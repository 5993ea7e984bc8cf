"""Reliance figures, the MMA-Bench table and Cohen's d, checked by hand on constructed cases."""

import math

import pytest

from mmla_core.probe.attention import cohens_d, cohens_d_by_layer
from mmla_core.probe.reliance import cell_reliance, kl, mma_table, reliance_profile
from tests.support.probe_results import cell, constructed


def test_cell_reliance_by_hand():
    rows = {r.scenario: r for r in cell_reliance(constructed())}
    zeroed = rows["frames_zeroed"]
    assert zeroed.delta_p_gold == pytest.approx(0.4 - 0.8)
    assert zeroed.flipped is True
    assert zeroed.kl == pytest.approx(0.8 * math.log(0.8 / 0.4) + 0.2 * math.log(0.2 / 0.6))
    assert rows["audio_swap"].flipped is False
    assert rows["misleading_caption"].kl == pytest.approx(0.0)
    assert "aligned" not in rows


def test_profile_by_hand():
    profile = reliance_profile(constructed())
    assert profile.drop["video"] == pytest.approx(0.4)
    assert profile.drop["audio"] == pytest.approx(((0.8 - 0.7) + (0.8 - 0.9)) / 2)
    assert profile.drop["text"] == pytest.approx(0.0)   # long_context not probed: only caption
    assert profile.flips == {"video": 1.0, "audio": 0.0, "text": 0.0}
    assert profile.kl["text"] == pytest.approx(0.0)
    assert profile.relied_on == "video"
    assert profile.verdict().startswith("video (drop of P(gold) +0.400 ≥ the 0.05 threshold")


def test_small_drops_are_no_reliance_and_the_verdict_says_why():
    from dataclasses import replace

    profile = replace(reliance_profile(constructed()), drop={"video": 0.0, "audio": 0.03,
                                                             "text": None})
    assert profile.relied_on is None
    assert profile.verdict() == ("no single modality (largest drop of P(gold): audio +0.030, "
                                 "below the 0.05 threshold)")
    assert replace(profile, threshold=0.02).relied_on == "audio"


def test_reference_falls_back_to_the_aligned_answer_without_gold():
    result = constructed()
    result.gold = None
    assert {r.reference for r in cell_reliance(result)} == {"a"}


def test_kl_is_zero_for_equal_and_positive_otherwise():
    assert kl({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == 0.0
    assert kl({"a": 1.0, "b": 0.0}, {"a": 0.5, "b": 0.5}) == pytest.approx(math.log(2))


def test_mma_table_shape_and_accuracy():
    first, second = constructed(), constructed()
    second.cells = [cell(c.scenario, "visual_focused", 0.1, 0.9) for c in second.cells]
    second.cells.append(cell("aligned", "audio_focused", 0.9, 0.1))
    table = mma_table([first, second])
    assert table[0]["scenario"] == "aligned"
    aligned = table[0]
    assert aligned["visual_focused"] == pytest.approx(0.5)  # right once, wrong once
    assert aligned["audio_focused"] == 1.0 and aligned["zero_shot"] is None
    zeroed = next(r for r in table if r["scenario"] == "frames_zeroed")
    assert zeroed["visual_focused"] == 0.0


def test_cohens_d_by_hand():
    # means 2 and 5, both sample variances 1: pooled s.d. 1, d = -3
    assert cohens_d([1, 2, 3], [4, 5, 6]) == pytest.approx(-3.0)
    assert cohens_d([1], []) is None
    vis = [[[0.3, 0.1, 0.6]], [[0.5, 0.1, 0.4]]]
    aud = [[[0.1, 0.3, 0.6]], [[0.1, 0.5, 0.4]]]
    # video share: means 0.4 vs 0.1, pooled s.d. sqrt((0.02 + 0) / 2) = 0.1 -> d = 3
    assert cohens_d_by_layer(vis, aud, "video")[0] == pytest.approx(3.0)
    assert cohens_d_by_layer(vis, aud, "audio")[0] == pytest.approx(-3.0)
