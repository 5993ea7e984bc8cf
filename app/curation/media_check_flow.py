"""File > Re-check media files: notice clips whose file was deleted, truncated or replaced
after it was probed (`mmla media probe` from the window).

The check is one op (mmla_app.ops.media) on the project's runner, queued with the imports (it
writes the same clips' health; it never runs beside an import of them). Its change record
brings the new health into the browser and the clip header; when it ends, the status line says
what it found and one dialog lists each changed file with its clip and path.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from mmla_app.curation.import_flow import IMPORT_CHANNEL
from mmla_app.ops import media as ops
from mmla_app.ops.op import run_job
from mmla_core.words import count

MAX_CHANGES_SHOWN = 30


class MediaCheckController:
    def __init__(self, window):
        self.window = window

    def start(self) -> None:
        """Re-check every dataset's media in the background."""
        self.window.statusBar().showMessage("Re-checking media files in the background…")
        run_job(self.window.project, ops.recheck_media(), initiator=self,
                channel=IMPORT_CHANNEL, in_order=True, on_success=self._done,
                on_error=self._failed)

    def _done(self, checked) -> None:
        changes = checked.changes
        self.window.statusBar().showMessage(
            f"Re-checked {count(checked.checked, 'media file')}: "
            f"{count(len(changes), 'file')} changed since probed", 10000)
        if not changes:
            return
        lines = [checked.summary(), ""] + [str(c) for c in changes[:MAX_CHANGES_SHOWN]]
        if len(changes) > MAX_CHANGES_SHOWN:
            lines.append(f"… and {len(changes) - MAX_CHANGES_SHOWN} more "
                         "(mmla media probe lists all)")
        self._message(QMessageBox.Icon.Warning, "Media changed since probed", "\n".join(lines))

    def _failed(self, exc: Exception) -> None:
        self.window.statusBar().showMessage("Re-checking media files failed", 10000)
        self._message(QMessageBox.Icon.Warning, "Re-check media files failed", str(exc))

    def _message(self, icon, title: str, text: str) -> None:
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self.window)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
