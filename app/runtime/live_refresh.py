"""Keeps the window's panels current: change records from this window's own actions and from
other processes (the CLI, the trainer, the evaluation worker) reach the panels that show them.

The window's own point-to-point refreshes (a label key press updates its browser row) stay;
this adds what they never covered, so no view waits for a restart (DESIGN rule 13).
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from mmla_core import changes as areas


class LiveRefresh(QObject):
    """Routes `Changes` on the project's bus to the main window's panels."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.bus = window.project.bus
        self.bus.listen(self.on_changes)
        self._listening = True

    def _own(self, initiator) -> bool:
        """The window's own curation parts: they refresh the panes they wrote from themselves
        (the key press's row, the panel's "Saved"), so their echo is skipped here."""
        window = self.window
        return any(initiator is part for part in (window.annotation, window.checks, window.edits))

    def on_changes(self, changes, initiator) -> None:
        if self._own(initiator):
            return
        window = self.window  # from here: another process, or a dialog (adjudication, a model)
        current = window.current_row.id if window.current_row else None
        labels_only = changes.touches(areas.LABELS) and not changes.touches(
            areas.DATASETS, areas.CLIPS)
        if labels_only and changes.clip_ids:  # just those rows, not a 100k-row reload
            for clip_id in changes.clip_ids:
                window.edits.refresh_clip(clip_id)
        elif changes.touches(areas.DATASETS, areas.CLIPS) or labels_only:
            # no clip named: the browser keeps the one selected when the rows arrive (the
            # curator may have moved on meanwhile; naming `current` pulled them back)
            window.reload_clips()
        if current is not None and (changes.touches(areas.DATASETS) or (
                changes.touches(areas.LABELS)
                and (not changes.clip_ids or current in changes.clip_ids))):
            window.annotation.refresh()  # a task attached to the dataset: its buttons
            window.checks.refresh()
        if changes.touches(areas.MODELS, areas.ADAPTERS, areas.RUNS):
            window.probe.refresh_choices()  # models, adapters and the clip's past probes
        if changes.touches(areas.TRAINING) and initiator is not window.training:
            window.training.poll_now(with_list=True)  # its own stop/resume/delete poll already

    def shutdown(self) -> None:
        if self._listening:
            self._listening = False
            self.bus.forget(self.on_changes)
