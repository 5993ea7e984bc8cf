"""Probe results built by hand, with known scores, for the reliance and compare tests."""

from __future__ import annotations

from mmla_core.probe.matrix import ProbeCell, ProbeResult


def cell(scenario, prompt, a, b, gold="a"):
    scores = {"a": a, "b": b}
    predicted = max(scores, key=scores.get)
    return ProbeCell(scenario, prompt, scores, predicted, gold, predicted == gold)


def constructed() -> ProbeResult:
    p = "visual_focused"
    cells = [cell("aligned", p, 0.8, 0.2), cell("frames_zeroed", p, 0.4, 0.6),
             cell("audio_swap", p, 0.7, 0.3), cell("audio_removed", p, 0.9, 0.1),
             cell("misleading_caption", p, 0.8, 0.2)]
    return ProbeResult(1, 7, "T", None, "m", tuple(c.scenario for c in cells), (p,), "a", cells)
