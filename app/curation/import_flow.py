"""Importing from the GUI: File > Import… or a folder / file dropped on the window.

Folders (MMLA layout, clips + manifest, or ELAN .eaf files) and files (a sharegpt JSON, an ELAN
.eaf) go through `datasets.auto.import_path`, the same importer `mmla import` picks.

The import and the media probe are one op (mmla_app.ops.imports) run on the project's runner,
on a queue of their own (imports never wait behind clip switches; one runs at a time, and an
import asked while others run waits its turn: none replaces another); progress reaches the
status bar's progress bar through the GUI-thread relay (runtime/gui_calls), and each import
reports when it ends.
The op's change record brings the new dataset into the browser and its dataset filter. Bad rows
are summarised in one dialog at the end; what imported stays imported.

What the path is (`mmla import --kind`) is chosen in the import dialogs, "Detect automatically"
by default. A dropped folder that reads two ways (an MMLA tree with clips beside it) is refused
by the import's own detection: the folder dialog then opens on it, saying what it found, with
its kind choice focused. One import dialog at a time: one already open on that folder asks
there; one open on something else is left as it is, and the folder is asked about when it
closes (the status line says so). A kind the path is not fails with the importer's words
(what, where) and writes nothing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialog, QMessageBox, QProgressBar
from shiboken6 import isValid

from mmla_app.curation.import_file_dialog import ImportFileDialog
from mmla_app.curation.import_folder_dialog import ImportFolderDialog, kind_title
from mmla_app.ops import imports as ops
from mmla_app.ops.op import run_job
from mmla_app.runtime.gui_calls import gui_callback
from mmla_core.datasets.auto import KindPick
from mmla_core.datasets.mmla_pick import AmbiguousKindError
from mmla_core.words import count

IMPORT_CHANNEL = "import"
MAX_ISSUES_SHOWN = 30
FILE_SUFFIXES = (".json", ".jsonl", ".eaf")  # files import_path takes (folders always)


UNUSABLE_HEALTH = ("unreadable", "missing_file")  # a clip that cannot be played at all
HEALTHY = ("ok", "text_only", "unprobed")


def media_health_text(reports: list) -> str:
    """'1 unreadable, 3 duration mismatch' over the imports' probed media; '' when all is ok."""
    merged: dict[str, int] = {}
    for report in reports:
        for health, n in report.media_health.items():
            merged[health] = merged.get(health, 0) + n
    return ", ".join(f"{n} {health.replace('_', ' ')}" for health, n in sorted(merged.items())
                     if health not in HEALTHY and n)


class ImportController:
    def __init__(self, window):
        self.window = window
        self.progress = QProgressBar(window)
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.progress.hide()
        # the import's thread reports here; shown on the GUI thread while the bar exists
        self._report = gui_callback(self.progress, self._on_progress)
        self._unfinished = 0  # imports asked and not yet reported (running + waiting)
        self._questions: list[tuple[Path, Exception]] = []  # two-way folders to ask about next

    @property
    def waiting(self) -> int:
        """Imports asked for that have not started: closing the window drops them (the running
        one finishes)."""
        return max(self._unfinished - 1, 0)

    def choose_and_import(self, folder: Path | None = None,
                          refusal: Exception | None = None) -> ImportFolderDialog:
        """File > Import dataset folder…: a folder, what it is and the dataset's name, then
        Import. `folder` and `refusal`: a folder whose import was refused, and why."""
        folder = folder if isinstance(folder, Path) else None  # a QAction passes `checked`
        dialog = self.window.import_dialog = ImportFolderDialog(self.window.project, self.window,
                                                                folder)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.chosen.connect(lambda folder, name, pick: self.start(
            folder, name=name or None, kind=pick))
        dialog.finished.connect(self._ask_next)
        dialog.open()
        if refusal is not None:
            dialog.show_refusal(refusal)
        return dialog

    def choose_file_and_import(self, path: Path | None = None) -> None:
        """File > Import file…: the file, the dataset name and (sharegpt) the media folder."""
        path = path if isinstance(path, Path) else None  # a QAction passes `checked`
        dialog = self.window.import_file_dialog = ImportFileDialog(self.window, path)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.chosen.connect(lambda file, name, media, kind: self.start(
            file, name=name or None, media_root=media or None, kind=kind))
        dialog.finished.connect(self._ask_next)
        dialog.open()

    def start(self, path: Path, *, name: str | None = None, media_root: str | None = None,
              kind: str | KindPick = "auto") -> None:
        """Import `path` as `kind` (`--kind`: "auto", a kind or a pick made before) after the
        imports already asked (each one reports when it ends)."""
        if not self._unfinished:
            self.progress.setRange(0, 0)
            self.progress.setFormat(f"Importing {path.name}…")
        self.progress.show()
        self._unfinished += 1
        op = ops.import_path(path, name=name, media_root=media_root, kind=kind,
                             progress=lambda done, total, phase: self.report_progress(
                                 done, total, f"{path.name}: {phase}"))
        ahead = run_job(self.window.project, op, initiator=self, channel=IMPORT_CHANNEL,
                        in_order=True, on_success=lambda reports: self._done(path, reports),
                        on_error=lambda exc: self._failed(path, exc, kind))
        self.window.statusBar().showMessage(
            f"Importing {path} in the background…" if not ahead else
            f"{path.name} will import after the {count(ahead, 'import')} before it…")

    def report_progress(self, done: int, total: int, phase: str) -> None:
        """From the import's thread: the bar shows it once the GUI thread gets to it."""
        self._report(done, total, phase)

    def _on_progress(self, done: int, total: int, phase: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{phase} %v/%m")

    def _one_ended(self) -> str:
        """Count an import as reported; what is still to come, for the status line."""
        self._unfinished = max(self._unfinished - 1, 0)
        if not self._unfinished:
            self.progress.hide()
            return ""
        return f"; {count(self._unfinished, 'import')} still to go"

    def _done(self, path: Path, reports: list) -> None:
        """Status line, then one dialog: what the import decided (a new dataset name, clips
        moved, curated values kept) and every problem, each with its file and line."""
        still = self._one_ended()
        added = sum(r.added for r in reports)
        issues = [i for r in reports for i in r.issues]
        notes = [f"{r.dataset}: {note.strip()}" for r in reports for note in r.notes()]
        health = media_health_text(reports)
        self.window.statusBar().showMessage(
            f"Imported {path.name}: {count(added, 'new clip')}, "
            f"{count(len(issues), 'problem')} reported{health and f'; media: {health}'}{still}",
            10000)
        unusable = any(r.media_health.get(h) for r in reports for h in UNUSABLE_HEALTH)
        if issues or notes or unusable:
            lines = notes + [f"{i.location}: {i.message}" for i in issues[:MAX_ISSUES_SHOWN]]
            if len(issues) > MAX_ISSUES_SHOWN:
                lines.append(f"… and {len(issues) - MAX_ISSUES_SHOWN} more (mmla import lists all)")
            if unusable:  # the status line is gone in seconds; a file that cannot play stays
                lines.append(f"Media: {health}. The health filter's “problem” lists these "
                             "clips; the line above the player says what is wrong with each.")
            title = (f"Imported {path.name} with problems" if issues or unusable
                     else f"Imported {path.name}")
            self._message(QMessageBox.Icon.Information, title, "\n".join(lines))

    def _failed(self, path: Path, exc: Exception, kind: str | KindPick) -> None:
        """A folder that reads two ways goes back to the folder dialog to be told what it is;
        any other failure is said with the kind it was imported as."""
        still = self._one_ended()
        if isinstance(exc, AmbiguousKindError):
            self._ask(path, exc, still)
            return
        self.window.statusBar().showMessage(f"Import of {path.name} failed{still}", 10000)
        kind = kind.kind if isinstance(kind, KindPick) else kind
        as_kind = "" if kind == "auto" else f" (imported as {kind_title(kind)})"
        self._message(QMessageBox.Icon.Warning, "Import failed", f"{path}{as_kind}:\n{exc}")

    def _ask(self, path: Path, refusal: AmbiguousKindError, still: str) -> None:
        """What a two-way folder is, asked in one dialog at a time: the folder dialog open on
        this folder asks there; another import dialog open keeps its folder and this one is
        asked when it closes (in the order refused), never in a second dialog over it."""
        said = f"{path.name} could be imported two ways: choose what it is"
        dialog = self._open_dialog()
        if dialog is None:
            self.window.statusBar().showMessage(f"{said}{still}", 10000)
            self.choose_and_import(path, refusal=refusal)
        elif isinstance(dialog, ImportFolderDialog) and _same(dialog.folder(), path):
            self.window.statusBar().showMessage(f"{said}{still}", 10000)
            dialog.show_refusal(refusal)
        else:
            self._questions.append((path, refusal))
            self.window.statusBar().showMessage(
                f"{said} once the open import dialog is closed{still}", 10000)

    def _open_dialog(self) -> QDialog | None:
        for name in ("import_dialog", "import_file_dialog"):
            dialog = getattr(self.window, name, None)
            if dialog is not None and isValid(dialog) and dialog.isVisible():
                return dialog
        return None

    def _ask_next(self) -> None:
        """An import dialog closed: the next two-way folder waiting is asked about (once the
        closing dialog is gone)."""
        QTimer.singleShot(0, self._ask_waiting)

    def _ask_waiting(self) -> None:
        if self._questions and self._open_dialog() is None and isValid(self.progress):
            path, refusal = self._questions.pop(0)
            self._ask(path, refusal, "")

    def _message(self, icon, title: str, text: str) -> None:
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self.window)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # --- drag and drop ------------------------------------------------------------------------

    def drag_enter(self, event) -> None:
        if _dropped_paths(event):
            event.acceptProposedAction()

    def drop(self, event) -> None:
        """Each dropped folder or file imports in turn (several at once too)."""
        paths = _dropped_paths(event)
        if paths:
            event.acceptProposedAction()
            for path in paths:
                self.start(path)


def _same(folder: Path | None, path: Path) -> bool:
    return folder is not None and folder.resolve() == path.resolve()


def _dropped_paths(event) -> list[Path]:
    """The dropped folders and importable files; none when anything else is among them (the
    drop is refused as a whole, so nothing is left out unsaid)."""
    urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
    paths = [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
    if not paths or len(paths) != len(urls):
        return []
    ok = all(p.is_dir() or p.suffix.lower() in FILE_SUFFIXES for p in paths)
    return paths if ok else []
