"""Keeps the window's panels current: change records from this window's own actions and from
other processes (the CLI, the trainer, the evaluation worker) reach the panels that show them.

The window's own point-to-point refreshes (a label key press updates its browser row) stay;
this adds what they never covered, so no view waits for a restart (DESIGN rule 13).
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from mmla_app.runtime.change_bus import ProjectWatcher, change_bus
from mmla_app.runtime.write_queue import write_queue
from mmla_core import changes as areas


class LiveRefresh(QObject):
    """Routes `Changes` on the bus to the main window's panels; watches the open project."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.watcher = ProjectWatcher(window.runner, parent=self)
        write_queue().committed.connect(self.watcher.own_write_committed)
        change_bus().listen(self.on_changes)

    def watch(self, db_path) -> None:
        self.watcher.watch(db_path)

    def on_changes(self, changes, initiator) -> None:
        window = self.window
        outside = initiator is None
        current = window.current_row.id if window.current_row else None
        labels_only = outside and changes.touches(areas.LABELS) and not changes.touches(
            areas.DATASETS, areas.CLIPS)
        if labels_only and changes.clip_ids:  # just those rows, not a 100k-row reload
            for clip_id in changes.clip_ids:
                window.edits.refresh_clip(clip_id)
        elif changes.touches(areas.DATASETS, areas.CLIPS) or labels_only:
            window.reload_clips(current)
        if outside and changes.touches(areas.LABELS) and current is not None and (
                not changes.clip_ids or current in changes.clip_ids):
            window.annotation.refresh()
            window.checks.refresh()
        if changes.touches(areas.MODELS, areas.ADAPTERS):
            window.probe.refresh_choices()
        if changes.touches(areas.TRAINING):
            window.training.poll_now(with_list=True)

    def shutdown(self) -> None:
        if self.watcher.stopped_for_good:
            return
        self.watcher.stop()
        self.watcher.stopped_for_good = True
        change_bus().forget(self.on_changes)
        write_queue().committed.disconnect(self.watcher.own_write_committed)
