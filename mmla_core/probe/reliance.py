"""Modality reliance: how much the answer moves when one modality is removed or corrupted.

Per cell (scenario s, prompt p), against the aligned cell under the same prompt:
- `delta_p_gold` = P_s(g) - P_aligned(g), with g the clip's own gold label (when the clip has
  none, g is the aligned cell's predicted label: "how much does the original answer lose");
- `flipped` = the predicted label differs from the aligned cell's;
- `kl` = KL(aligned || s) = sum_l P_aligned(l) * ln(P_aligned(l) / P_s(l)) in nats, over the
  task's labels (probabilities clamped at 1e-12).

Per clip, the reliance profile averages over the probe's prompts the *drop* of P(g)
(-delta_p_gold, positive when the perturbation hurts) and the KL of the scenarios that perturb
each modality:
- video = frames_zeroed;
- audio = mean of audio_swap and audio_removed;
- text  = mean of misleading_caption and long_context.
A modality none of whose scenarios was probed is left out (None). The flip rate per modality is
the fraction of its cells whose prediction flipped.

Over a set of probes, `mma_table` gives MMA-Bench's table shape (seeds_systems.md 2.4/2.6): per
scenario, the accuracy of visual-focused and of audio-focused prompt questions (and the task
prompt's), each cell judged against its own gold (the donor's label for the audio question under
audio_swap). Existing variants probed as extra rows share a row per recipe ("written: <recipe>");
they are not part of the per-clip reliance profile, which is MMA-Bench's scenarios only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mmla_core.probe.matrix import ProbeCell, ProbeResult

__all__ = ["MODALITY_SCENARIOS", "RELIANCE_THRESHOLD", "CellReliance", "RelianceProfile",
           "cell_reliance", "kl", "mma_table", "reliance_profile"]

MODALITY_SCENARIOS = {
    "video": ("frames_zeroed",),
    "audio": ("audio_swap", "audio_removed"),
    "text": ("misleading_caption", "long_context"),
}
EPS = 1e-12
# a modality is "relied on" only when perturbing it costs at least this much P(gold) on
# average: smaller drops are within what sampling different frames or prompts moves
RELIANCE_THRESHOLD = 0.05


@dataclass(frozen=True)
class CellReliance:
    scenario: str
    prompt: str
    reference: str | None        # the label whose probability is compared
    p_aligned: float | None
    p_scenario: float | None
    delta_p_gold: float | None
    flipped: bool
    kl: float


@dataclass(frozen=True)
class RelianceProfile:
    drop: dict[str, float | None]     # modality -> mean drop of P(gold)
    kl: dict[str, float | None]       # modality -> mean KL(aligned || scenario)
    flips: dict[str, float | None]    # modality -> fraction of cells flipped
    threshold: float = RELIANCE_THRESHOLD

    @property
    def relied_on(self) -> str | None:
        """The modality whose perturbation costs the most P(gold), when that drop reaches the
        threshold; None when no drop does (a drop of +0.000 says nothing about reliance)."""
        known = {m: v for m, v in self.drop.items() if v is not None}
        if not known or max(known.values()) < self.threshold:
            return None
        return max(known, key=known.__getitem__)

    def verdict(self) -> str:
        """One line for people: what was relied on, and the threshold it was judged by."""
        known = {m: v for m, v in self.drop.items() if v is not None}
        if not known:
            # existing variant rows may perturb one, but the profile is MMA-Bench's scenarios
            return ("no single modality (no MMA-Bench scenario was probed; variant rows are "
                    "not part of the profile)")
        top = max(known, key=known.__getitem__)
        if self.relied_on is None:
            return (f"no single modality (largest drop of P(gold): {top} {known[top]:+.3f}, "
                    f"below the {self.threshold:.2f} threshold)")
        return f"{top} (drop of P(gold) {known[top]:+.3f} ≥ the {self.threshold:.2f} threshold)"


def kl(p: dict[str, float], q: dict[str, float]) -> float:
    """KL(p || q) in nats over p's labels."""
    total = 0.0
    for label, pv in p.items():
        if pv <= 0:
            continue
        total += pv * math.log(max(pv, EPS) / max(q.get(label, 0.0), EPS))
    return max(total, 0.0)


def _compare(aligned: ProbeCell, cell: ProbeCell, gold: str | None) -> CellReliance:
    ref = gold if gold is not None and gold in aligned.scores else aligned.predicted
    pa, ps = aligned.scores.get(ref), cell.scores.get(ref)
    delta = None if pa is None or ps is None else ps - pa
    return CellReliance(cell.scenario, cell.prompt, ref, pa, ps, delta,
                        cell.predicted != aligned.predicted, kl(aligned.scores, cell.scores))


def cell_reliance(result: ProbeResult) -> list[CellReliance]:
    """Every non-aligned cell against the aligned cell of its prompt (needs 'aligned')."""
    out = []
    for cell in result.cells:
        if cell.scenario == "aligned":
            continue
        aligned = result.cell("aligned", cell.prompt)
        if aligned is not None:
            out.append(_compare(aligned, cell, result.gold))
    return out


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def reliance_profile(result: ProbeResult) -> RelianceProfile:
    rows = cell_reliance(result)
    drop, kls, flips = {}, {}, {}
    for modality, scenarios in MODALITY_SCENARIOS.items():
        mine = [r for r in rows if r.scenario in scenarios]
        # mean over the modality's scenarios of each scenario's mean over prompts
        per_scenario = [[r for r in mine if r.scenario == s] for s in scenarios]
        per_scenario = [group for group in per_scenario if group]
        drop[modality] = _mean([m for m in (_mean([-r.delta_p_gold for r in g
                                                    if r.delta_p_gold is not None])
                                            for g in per_scenario) if m is not None])
        kls[modality] = _mean([m for m in (_mean([r.kl for r in g]) for g in per_scenario)
                               if m is not None])
        flips[modality] = _mean([float(r.flipped) for r in mine])
    return RelianceProfile(drop, kls, flips)


def mma_table(results: list[ProbeResult], *,
              prompts=("visual_focused", "audio_focused", "zero_shot")) -> list[dict]:
    """One row per scenario (probe order, aligned first): n clips and accuracy per prompt.

    Accuracy is the fraction of the scenario's cells (one per probe) answered correctly; cells
    without a gold label are left out; None where no cell was scored.
    """
    keyed = [(r, _set_row(r, c), c) for r in results for c in r.cells]
    scenarios: list[str] = []
    for _, key, _ in keyed:
        if key not in scenarios:
            scenarios.append(key)
    if "aligned" in scenarios:
        scenarios.remove("aligned")
        scenarios.insert(0, "aligned")
    table = []
    for scenario in scenarios:
        row: dict = {"scenario": scenario, "n": 0}
        mine = [(r, c) for r, key, c in keyed if key == scenario]
        for prompt in prompts:
            judged = [c for _, c in mine if c.prompt == prompt and c.correct is not None]
            row[prompt] = (sum(1 for c in judged if c.correct) / len(judged)) if judged else None
        row["n"] = len({r.clip_id for r, c in mine if c.prompt in prompts})
        table.append(row)
    return table


def _set_row(result: ProbeResult, cell: ProbeCell) -> str:
    """The table row of a cell: its scenario, or "written: <recipe>" for an existing variant
    (variants of different clips with the same recipe share a row)."""
    info = result.variants.get(cell.scenario)
    return cell.scenario if info is None else f"written: {info.get('label') or '?'}"
