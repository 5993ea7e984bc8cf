"""Probes over a set of clips (a selection or a dataset split): which exist, running the missing
ones, and MMA-Bench's view of them (accuracy per scenario and question, per-layer Cohen's d).

A clip counts as probed for (task, model) when it has a finished ("done") probe run of that
task by that model; the latest one is used. Shared by `mmla probe-table` and the Probe set
dialog (app/probe_set_dialog.py), which runs `run_probe_set` in the model worker.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mmla_core.cancel import is_cancelled
from mmla_core.eval.recorder import RunRecorder
from mmla_core.probe.attention import cohens_d_by_layer
from mmla_core.probe.matrix import DEFAULT_SCENARIOS, load_probe, regold, run_probe
from mmla_core.probe.reliance import mma_table
from mmla_core.store.catalog import find_dataset, original_clip_ids, task_by_name
from mmla_core.store.db import Store
from mmla_core.store.results import probe_runs_by_clip
from mmla_core.store.verdicts import Selection

__all__ = ["SetTable", "cohens_d_of", "cohens_d_reason", "latest_probes", "run_probe_set",
           "set_clips", "set_table", "set_table_csv"]

PROMPT_COLUMNS = ("visual_focused", "audio_focused", "zero_shot")


@dataclass
class SetTable:
    clips: int                                   # clips in the set
    run_ids: list[int]                           # the probes the table is made of
    rows: list[dict]                             # probe.reliance.mma_table rows
    cohens_d: dict[str, list[float | None]] = field(default_factory=dict)  # modality -> layers
    cohens_note: str = ""                        # why cohens_d is empty ('' when it is not)
    labels: dict = field(default_factory=dict)   # verdicts.Selection.record of the gold used

    @property
    def missing(self) -> int:
        return self.clips - len(self.run_ids)


def set_clips(store: Store, *, clip_ids=None, dataset: str | int | None = None,
              split: str | None = None) -> list[int]:
    """The clip ids of a selection, or of a dataset (one split of it; variants left out)."""
    if clip_ids is not None:
        return [int(c) for c in clip_ids]
    found = find_dataset(store, dataset)
    if found is None:
        raise ValueError(f"no dataset {dataset!r} in this project")
    return original_clip_ids(store, found["id"], split=split)


def latest_probes(store: Store, clip_ids, task: str, model: str | None = None) -> dict[int, int]:
    """{clip id: run id of its latest finished probe of `task` (by `model`, if given)}."""
    wanted = {int(c) for c in clip_ids}
    found: dict[int, int] = {}
    for run_id, clip in probe_runs_by_clip(store, task, model):
        if clip is not None and int(clip) in wanted:
            found[int(clip)] = int(run_id)
    return found


def set_table(store: Store, clip_ids, task: str, model: str | None = None,
              selection=None) -> SetTable:
    """MMA-Bench's table over the set's existing probes (and Cohen's d where attention was
    kept), judged against today's labels from the selection's source (curated by default),
    clips its verdict rule leaves out (rejected, by default) left out and counted."""
    selection = selection or Selection()
    gate = selection.gate(store)
    clip_ids = [c for c in clip_ids if gate.keep(int(c))]
    runs = latest_probes(store, clip_ids, task, model)
    results = [regold(store, load_probe(store, runs[c]), selection.labels)
               for c in clip_ids if c in runs]
    rows = mma_table(results) if results else []
    found = task_by_name(store, task)
    policy = selection.resolve(store, task_id=found[0] if found else -1, clip_ids=clip_ids)
    keys = [(r.clip_id, r.task_id) for r in results]
    return SetTable(len(clip_ids), [r.run_id for r in results], rows, cohens_d_of(results),
                    cohens_d_reason(results), selection.record(policy, keys, gate))


def _aligned_shares(results, prompt: str) -> list:
    return [c.attention for r in results for c in r.cells
            if c.scenario == "aligned" and c.prompt == prompt and c.attention]


def cohens_d_reason(results) -> str:
    """Why Cohen's d cannot be computed for these probes ('' when it can): said on screen
    instead of an empty pane."""
    if not results:
        return "No probes in this set yet: Run the missing probes (with attention)."
    if not any(c.attention for r in results for c in r.cells):
        return ("None of these probes captured attention: tick “Capture attention” and run "
                "the probes again (or probe clips with “Attention by modality”).")
    counts = {p: len(_aligned_shares(results, p)) for p in ("visual_focused", "audio_focused")}
    if min(counts.values()) < 2:
        return (f"Cohen's d compares at least 2 aligned clips under each question; these "
                f"probes have {counts['visual_focused']} with the visual-focused and "
                f"{counts['audio_focused']} with the audio-focused question and attention.")
    return ""


def cohens_d_of(results) -> dict[str, list[float | None]]:
    """Per layer, visual- vs audio-focused prompt on the aligned clips (needs >= 2 of each)."""
    visual, audio = (_aligned_shares(results, "visual_focused"),
                     _aligned_shares(results, "audio_focused"))
    if len(visual) < 2 or len(audio) < 2:
        return {}
    return {m: cohens_d_by_layer(visual, audio, m) for m in ("video", "audio")}


def run_probe_set(store: Store, engine, clip_ids, task: str, *, attention: bool = False,
                  settings=None, scenarios=None,
                  progress: Callable[[int, int, int | None], None] | None = None,
                  cancel=None) -> str:
    """Probe every clip of the set that has no probe of `task` by this engine's model yet.

    `progress(done, total, run_id)` after each clip (total = the missing clips). Returns the
    status: "done", or "cancelled" (checked between clips and between a probe's rows).
    """
    model = RunRecorder.for_engine(store, engine).model_name  # each probe is a run of its own
    have = latest_probes(store, clip_ids, task, model)
    missing = [int(c) for c in clip_ids if int(c) not in have]
    for done, clip_id in enumerate(missing, 1):
        if is_cancelled(cancel):
            return "cancelled"
        result = run_probe(store, engine, clip_id, task, attention=attention, cancel=cancel,
                           settings=settings, scenarios=tuple(scenarios or DEFAULT_SCENARIOS),
                           job="probe_set")
        if progress is not None:
            progress(done, len(missing), result.run_id)
        if result.status == "cancelled":
            return "cancelled"
    return "done"


def set_table_csv(table: SetTable, path: str | Path) -> Path:
    """The table as CSV: one row per scenario (accuracy in %); then, after a blank row, the
    Cohen's d block under its own header (layer L0..Ln), one row per modality."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)  # as `mmla runs export` does
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["scenario", "n", *PROMPT_COLUMNS])
        for row in table.rows:
            writer.writerow([row["scenario"], row["n"],
                             *("" if row.get(p) is None else f"{row[p] * 100:.2f}"
                               for p in PROMPT_COLUMNS)])
        if table.cohens_d:
            layers = max(len(v) for v in table.cohens_d.values())
            writer.writerow([])
            writer.writerow(["layer", *(f"L{i}" for i in range(layers))])
        for modality, values in table.cohens_d.items():
            writer.writerow([f"cohens_d_{modality}",
                             *("" if v is None else f"{v:.4f}" for v in values)])
    return path
