"""What a write changed, as one value every view can read (Anki's OpChanges).

A write (a GUI action, or another process seen through SQLite's `data_version`) is summed up as
the *areas* of the project it touched. Views reload only what they show from those areas, so a
label key press does not reload Results and a finished fine-tune does reach the adapter lists.
Qt-free: the app's change bus carries these values, the core only names them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DATASETS = "datasets"      # datasets added, renamed, re-rooted or removed
CLIPS = "clips"            # clips or variants added, removed or edited (transcripts, health)
LABELS = "labels"          # labels, check answers, reviews, notes, adjudications, undo/redo
MODELS = "models"          # models registered or removed
RUNS = "runs"              # evaluation, probe and check runs and their predictions
TRAINING = "training"      # training jobs: launched, progressing, finished, removed
ADAPTERS = "adapters"      # trained adapters offered by the pickers (a job finishing)

AREAS = (DATASETS, CLIPS, LABELS, MODELS, RUNS, TRAINING, ADAPTERS)


@dataclass(frozen=True)
class Changes:
    """The areas one write (or several, merged) touched; `clip_ids` narrows CLIPS/LABELS."""

    areas: frozenset[str] = frozenset()
    clip_ids: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def of(cls, *areas: str, clip_ids=()) -> Changes:
        unknown = set(areas) - set(AREAS)
        if unknown:
            raise ValueError(f"unknown change areas {sorted(unknown)}; known: {AREAS}")
        return cls(frozenset(areas), frozenset(int(c) for c in clip_ids))

    def __or__(self, other: Changes) -> Changes:
        return Changes(self.areas | other.areas, self.clip_ids | other.clip_ids)

    def __bool__(self) -> bool:
        return bool(self.areas)

    def touches(self, *areas: str) -> bool:
        return any(area in self.areas for area in areas)
