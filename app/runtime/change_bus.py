"""One change bus for the window (Anki's OpChanges): every write says what it changed.

`ChangeBus.changed(changes, initiator)` reaches every panel; each reloads only what it shows from
the areas in `changes` (mmla_core.changes) and skips its own echo (`initiator is self`).
`ProjectWatcher` feeds the bus with writes made by *other* connections: a CLI import, the
trainer finishing, the evaluation worker, another window. It reads SQLite's `data_version` once a
second on the GUI thread (microseconds: no query, no lock) and only when that moved asks a runner
job which areas changed (a few aggregate reads, mmla_core.store.changes).

The window's own writes move `data_version` too, and each announces its own changes, so its
commits are not news. Every op (ops.op: a key press on the writer thread, a long write with
`run_job` on the runner) holds back the areas it declared while it runs (`own_job_started`, on
every watcher of that file in this process: `watchers_of`) and reads the fingerprints just before
and after its write on its own thread (`bracketed`; a few milliseconds on 20,000 clips). When it
ended, an area whose last seen state is the op's "before" moves on to its "after" (the op's own
announcement covers it), and the fingerprints are read again: whatever else moved meanwhile, an
outside label in the same second included, is announced as usual.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from mmla_core import changes as areas
from mmla_core.changes import Changes
from mmla_core.store.changes import (
    DataVersion,
    area_fingerprints,
    changed_areas,
    labelled_clips_since,
)

log = logging.getLogger(__name__)

POLL_MS = 1000
# what a curation write on the writer thread may move besides its declared areas (a transcript
# edit declares clips but also adds to the undo log, which the labels fingerprint reads)
OWN_WRITE_AREAS = frozenset({areas.LABELS, areas.CLIPS})


class ChangeBus(QObject):
    """`changed(Changes, initiator)`: initiator is the panel/op that wrote, None = elsewhere."""

    changed = Signal(object, object)

    def __init__(self) -> None:
        super().__init__()
        self._listeners: set = set()

    def announce(self, changes: Changes, initiator: object = None) -> None:
        if changes:
            self.changed.emit(changes, initiator)

    def listen(self, slot) -> None:
        """Connect `slot(changes, initiator)` once; `forget` it when its view closes."""
        if slot not in self._listeners:
            self._listeners.add(slot)
            self.changed.connect(slot)

    def forget(self, slot) -> None:
        if slot in self._listeners:
            self._listeners.discard(slot)
            self.changed.disconnect(slot)


_BUS: ChangeBus | None = None


def change_bus() -> ChangeBus:
    """The process-wide bus (created on first use, on the GUI thread)."""
    global _BUS
    if _BUS is None:
        _BUS = ChangeBus()
    return _BUS


def announce(*changed_areas: str, initiator: object = None, clip_ids=()) -> None:
    """Tell every view that this process changed `changed_areas` (one op's change record)."""
    change_bus().announce(Changes.of(*changed_areas, clip_ids=clip_ids), initiator)


def read_fingerprints(store, baseline: dict | None = None) -> tuple[dict, set[int] | None]:
    """Runner job: the per-area fingerprints of the project (see mmla_core.store.changes) and,
    when only labels moved since `baseline`, which clips they were on (None: unknown)."""
    now = area_fingerprints(store)
    if baseline is None or baseline[areas.LABELS] == now[areas.LABELS]:
        return now, set()
    return now, labelled_clips_since(store, baseline[areas.LABELS], now[areas.LABELS])


def bracketed(store, fn: Callable, *args: Any) -> tuple[Any, dict, dict]:
    """Runner job: `fn(store, *args)` between two fingerprint reads -> (result, before, after),
    so the watcher knows which states were this job's own."""
    before = area_fingerprints(store)
    result = fn(store, *args)
    return result, before, area_fingerprints(store)


_WATCHERS: dict[Path, set[ProjectWatcher]] = {}  # every watcher of a file in this process


def watchers_of(db_path: str | Path) -> list[ProjectWatcher]:
    """The watchers following `db_path` now (one per window open on it)."""
    return list(_WATCHERS.get(Path(db_path).resolve(), ()))


def hold_own_write(db_path: str | Path, write_areas: Iterable[str]) -> Callable:
    """An op of this process starts writing `write_areas` of `db_path`: every watcher of that
    file holds them back. Returns `ended(bracket)`: call it once with the op's (before, after)
    fingerprints (`bracketed`), or None when it failed (what it committed is then news)."""
    held = [(watcher, watcher.own_job_started(write_areas)) for watcher in watchers_of(db_path)]

    def ended(bracket: tuple[dict, dict] | None) -> None:
        for watcher, key in held:
            watcher.own_job_ended(key, bracket)

    return ended


class ProjectWatcher(QObject):
    """Turns commits by other connections to the open project into `Changes` on the bus."""

    def __init__(self, runner, bus: ChangeBus | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = runner
        self.bus = bus or change_bus()
        self._version = None
        self._baseline: dict | None = None
        self._path: Path | None = None
        self._own_jobs: dict[int, frozenset[str]] = {}  # run_job writes in flight: their areas
        self._job_keys = itertools.count(1)
        self.stopped_for_good = False  # the window closed: never watch again
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.poll)

    def watch(self, db_path: str | Path) -> None:
        """Follow `db_path` from now on (a project was opened); earlier reads are forgotten."""
        self.stop()
        self._baseline = None
        self._own_jobs.clear()  # the old project's jobs end unheard here
        try:
            self._version = DataVersion(db_path)
        except Exception as exc:
            log.warning("not watching %s for outside changes: %s", db_path, exc)
            return
        self._path = Path(db_path).resolve()
        _WATCHERS.setdefault(self._path, set()).add(self)
        self.runner.submit(read_fingerprints, channel="changes", on_success=self._set_baseline)
        self.timer.start()

    def own_job_started(self, job_areas: Iterable[str]) -> int:
        """A `run_job` write of ours starts: hold back `job_areas` until `own_job_ended(key)`."""
        key = next(self._job_keys)
        self._own_jobs[key] = frozenset(job_areas)
        return key

    def own_job_ended(self, key: int, bracket: tuple[dict, dict] | None = None) -> None:
        """The job `key` returned (`bracket`: its fingerprints before and after, see
        `bracketed`) or failed (None: what it committed is announced as anyone's)."""
        job_areas = self._own_jobs.pop(key, None)
        if job_areas is None:  # asked before a project switch
            return
        if bracket is not None and self._baseline is not None:
            before, after = bracket
            for area in job_areas:
                if self._baseline.get(area) == before.get(area):
                    self._baseline[area] = after[area]
        self._read_again()

    def poll(self) -> None:
        if self._version is not None and self._version.changed():
            self._read_again()

    def _read_again(self) -> None:
        if self._version is not None:
            baseline = dict(self._baseline) if self._baseline is not None else None
            self.runner.submit(read_fingerprints, baseline, channel="changes",
                               on_success=self._on_fingerprints)

    def _set_baseline(self, result: tuple) -> None:
        self._baseline = result[0]

    def _on_fingerprints(self, result: tuple) -> None:
        fingerprints, clip_ids = result
        if self._baseline is None:
            self._baseline = fingerprints
            return
        held_back = set().union(*self._own_jobs.values())  # our jobs still writing them
        moved = changed_areas(self._baseline, fingerprints) - held_back
        self._baseline = {area: self._baseline[area] if area in held_back else value
                          for area, value in fingerprints.items()}
        if moved:
            self.bus.announce(Changes.of(*moved, clip_ids=clip_ids or ()), None)

    def stop(self) -> None:
        self.timer.stop()
        if self._path is not None:
            _WATCHERS.get(self._path, set()).discard(self)
            self._path = None
        if self._version is not None:
            self._version.close()
            self._version = None
