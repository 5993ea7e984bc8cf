"""Two probes of the same clip side by side: zero-shot against a fine-tuned adapter, or one model
against another. Cells are matched by (row, prompt); a row is matched by its scenario key, and
an existing variant row by the variant's clip id, so probes that ran different rows still line
up on what they share.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmla_core.probe.matrix import ProbeCell, ProbeResult

__all__ = ["CellPair", "ProbeComparison", "compare_probes"]


@dataclass(frozen=True)
class CellPair:
    row: str
    prompt: str
    a: ProbeCell | None
    b: ProbeCell | None

    @property
    def differs(self) -> bool:
        """The two probes answered differently (or only one answered)."""
        if self.a is None or self.b is None:
            return self.a is not self.b
        return self.a.predicted != self.b.predicted

    @property
    def delta_p_gold(self) -> float | None:
        """P(gold) of B minus A (positive: B is surer of the right answer)."""
        if self.a is None or self.b is None or self.a.p_gold is None or self.b.p_gold is None:
            return None
        return self.b.p_gold - self.a.p_gold

    @property
    def correctness_changed(self) -> str:
        """'fixed' (A wrong, B right), 'broken' (A right, B wrong) or ''."""
        if self.a is None or self.b is None or None in (self.a.correct, self.b.correct):
            return ""
        if self.a.correct == self.b.correct:
            return ""
        return "fixed" if self.b.correct else "broken"


@dataclass(frozen=True)
class ProbeComparison:
    a: ProbeResult
    b: ProbeResult
    rows: tuple[str, ...]
    prompts: tuple[str, ...]
    pairs: tuple[CellPair, ...]

    def pair(self, row: str, prompt: str) -> CellPair | None:
        return next((p for p in self.pairs if p.row == row and p.prompt == prompt), None)

    def differences(self) -> list[CellPair]:
        return [p for p in self.pairs if p.differs]

    def summary(self) -> str:
        """Answers compared where both probes ran the cell; a cell only one ran is counted
        apart (it is no different answer, and it made "16 of 18 differ" of two agreeing cells)."""
        fixed = sum(p.correctness_changed == "fixed" for p in self.pairs)
        broken = sum(p.correctness_changed == "broken" for p in self.pairs)
        shared = [p for p in self.pairs if p.a is not None and p.b is not None]
        only_a = sum(p.b is None and p.a is not None for p in self.pairs)
        only_b = sum(p.a is None and p.b is not None for p in self.pairs)
        one_sided = "".join(f"{n} ran in {side} only; "
                            for side, n in (("A", only_a), ("B", only_b)) if n)
        return (f"{sum(p.differs for p in shared)} of {len(shared)} cells answered "
                f"differently; {one_sided}B fixed {fixed}, broke {broken}")


def _row_key(result: ProbeResult, key: str) -> str:
    info = result.variants.get(key)
    return f"variant:{info['clip_id']}" if info and "clip_id" in info else key


def compare_probes(a: ProbeResult, b: ProbeResult) -> ProbeComparison:
    """Cell by cell; refuses probes of different clips (their answers are not comparable)."""
    if a.clip_id != b.clip_id:
        raise ValueError(f"probe #{a.run_id} is of clip {a.clip_id}, probe #{b.run_id} of clip "
                         f"{b.clip_id}: compare probes of the same clip")
    keys_a = {_row_key(a, s): s for s in a.scenarios}
    keys_b = {_row_key(b, s): s for s in b.scenarios}
    rows = tuple([k for k in keys_a if k in keys_b] + [k for k in keys_a if k not in keys_b]
                 + [k for k in keys_b if k not in keys_a])
    prompts = tuple(dict.fromkeys((*a.prompts, *b.prompts)))
    pairs = tuple(
        CellPair(row, prompt,
                 a.cell(keys_a[row], prompt) if row in keys_a else None,
                 b.cell(keys_b[row], prompt) if row in keys_b else None)
        for row in rows for prompt in prompts)
    return ProbeComparison(a, b, rows, prompts, pairs)
