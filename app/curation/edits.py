"""Edits from the window: transcript saves, undo/redo, review verdicts, refreshing a clip's row.

Each edit is an op (mmla_app.ops.curation) run on the writer thread (one transaction), so it
is committed the moment the curator acts; its change record goes on the bus with this controller
as initiator, and the GUI re-reads just that clip's browser row.
"""

from __future__ import annotations

from functools import partial

from mmla_app.ops import curation as ops
from mmla_app.ops.op import submit
from mmla_core.store.browse import browse_rows
from mmla_core.store.catalog import variant_descendants


def _browse_row(store, clip_id: int, annotator: str):
    rows = browse_rows(store, annotator, clip_id=clip_id)
    return rows[0] if rows else None


def _family_rows(store, clip_id: int, annotator: str) -> list:
    """The clip's row and its variants' (a transcript edit re-derives their texts too, a
    relabel their copied labels: store.variant_text, store.variant_labels)."""
    ids = [row["id"] for row in variant_descendants(store, clip_id)]
    return [row for cid in ids for row in browse_rows(store, annotator, clip_id=cid)]


class EditController:
    def __init__(self, window):
        self.window = window

    @property
    def runner(self):
        return self.window.runner

    def set_transcript(self, clip_id: int, text: str) -> None:
        submit(self.window.db_path, ops.set_transcript(clip_id, text, self.window.annotator),
               initiator=self, on_success=lambda _: self._after_edit(
                   clip_id, "Transcript saved", family=True), on_error=self._failed)

    def undo(self, *, redo: bool = False) -> None:
        if self.window.transcript.is_editing():
            return  # the text box has its own undo while typing
        submit(self.window.db_path, ops.undo(self.window.annotator, redo=redo), initiator=self,
               on_success=partial(self._after_undo, redo), on_error=self._failed)

    def _after_undo(self, redo: bool, done) -> None:
        verb = "Redid" if redo else "Undid"
        if done is None:
            self.window.statusBar().showMessage(f"Nothing to {verb[:-1].lower()}o", 4000)
            return
        edit, what = done
        self._after_edit(edit.clip_id, f"{verb} {what} on clip #{edit.clip_id}", show=True,
                         family=edit.kind in ("transcript", "label"))

    def mark_reviewed_and_next(self) -> None:
        row = self.window.current_row
        if row is None:
            return
        submit(self.window.db_path, ops.mark_reviewed(row.id, self.window.annotator),
               initiator=self, on_success=lambda verdict: self._after_review(row.id, verdict),
               on_error=self._failed)

    def _after_review(self, clip_id: int, verdict) -> None:
        self.refresh_clip(clip_id)
        shown = f" ({verdict})" if verdict else ""
        self.window.statusBar().showMessage(f"Clip #{clip_id} reviewed{shown}", 4000)
        self.window.browser.table.move(+1)

    def _after_edit(self, clip_id: int, message: str, *, show: bool = False,
                    family: bool = False) -> None:
        window = self.window
        window.statusBar().showMessage(message, 4000)
        current = window.current_row.id if window.current_row else None
        if show and clip_id != current:
            window.browser.table.select_clip(clip_id)  # take the curator to what changed
        elif clip_id == current:
            window.annotation.refresh()
            window.checks.refresh()
        self.refresh_clip(clip_id, family=family)

    def refresh_label_edit(self, clip_id: int) -> None:
        """After a label key: the clip's row and its variants' (those holding a copy of the
        label follow it: store.variant_labels)."""
        self.refresh_clip(clip_id, family=True)

    def refresh_clip(self, clip_id: int, *, family: bool = False) -> None:
        """Re-read the clip's browser row (`family`: its variants' rows too)."""
        if family:
            self.runner.submit(_family_rows, clip_id, self.window.annotator,
                               on_success=lambda rows: [self._on_row(row) for row in rows])
            return
        self.runner.submit(_browse_row, clip_id, self.window.annotator,
                           on_success=self._on_row)

    def _on_row(self, row) -> None:
        if row is None:
            return
        self.window.browser.refresh_row(row)
        current = self.window.current_row
        if current is not None and current.id == row.id:
            self.window.current_row = row
            if not self.window.transcript.is_editing():
                self.window.transcript.set_clip(row.id, row.transcript, row.recipe_json)

    def _failed(self, exc: Exception) -> None:
        self.window.statusBar().showMessage(f"Could not save: {exc}", 10000)
