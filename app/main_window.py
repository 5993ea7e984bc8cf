"""The curation workspace: clip browser | player, waveform and transcript | labels and checks.

Wiring only: each panel owns its widgets and background work; this window connects the panels
(one master clock, one selected clip), owns the keyboard actions and the menus. Nothing here
touches the database on the GUI thread: every core call is a runner job with its own Store.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mmla_app import settings
from mmla_app.actions import install_actions, open_train_dialog, quit_app
from mmla_app.curation.annotation_panel import AnnotationPanel
from mmla_app.curation.browser_panel import BrowserPanel
from mmla_app.curation.checks_panel import ChecksPanel
from mmla_app.curation.clip_header import ClipHeader
from mmla_app.curation.edits import EditController
from mmla_app.curation.import_flow import ImportController
from mmla_app.curation.media_check_flow import MediaCheckController
from mmla_app.curation.transcript_pane import TranscriptPane
from mmla_app.ops.imports import add_demo
from mmla_app.ops.op import run_job
from mmla_app.player.check_view import CheckView
from mmla_app.player.player_widget import PlayerWidget
from mmla_app.player.waveform_pane import WaveformPane
from mmla_app.probe.probe_panel import ProbePanel
from mmla_app.runtime.live_refresh import LiveRefresh
from mmla_app.runtime.project import Project
from mmla_app.theme import STYLESHEET
from mmla_app.training.training_panel import TrainingPanel
from mmla_app.variants.variants_panel import VariantsPanel
from mmla_app.widgets.screen_fit import fit_resize
from mmla_app.widgets.status_line import StatusLine
from mmla_core.paths import PathEscapeError, check_own_media, confine


class MainWindow(QMainWindow):
    """`demo`: True imports the demo project (if absent); None only when the DB is empty."""

    datasets_loaded = Signal(int)
    clips_loaded = Signal(int)
    load_failed = Signal(str)
    clip_shown = Signal(object)  # the BrowseRow now on screen, or None

    def __init__(self, db_path: str | Path, *, demo: bool | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.project = Project(db_path, settings.annotator(), self)
        self.current_row = None
        self.setStyleSheet(STYLESHEET)
        fit_resize(self, 1440, 900)
        self.setAcceptDrops(True)
        self._build_panels()
        self.edits = EditController(self)
        self.importer = ImportController(self)
        self.media_check = MediaCheckController(self)
        self.live = LiveRefresh(self)
        self.check_views = CheckView(self.player)  # V: each check's own view
        self._connect_panels()
        install_actions(self)
        self.status_line = StatusLine(self.statusBar(), self.importer.progress)
        self.browser.counts_changed.connect(self.status_line.count_label.setText)
        self.status_line.show_annotator(self.annotator)
        self.open_database(self.db_path, demo=demo)

    def sizeHint(self) -> QSize:
        return QSize(1440, 900)

    @property
    def db_path(self) -> Path:
        return self.project.db_path

    @property
    def annotator(self) -> str:
        return self.project.annotator

    @property
    def runner(self):
        return self.project.runner

    # --- construction -------------------------------------------------------------------------

    def _build_panels(self) -> None:
        self.browser = BrowserPanel(self.runner, self)
        self.header = ClipHeader(self.runner, self)
        self.player = PlayerWidget(self)
        self.waveform = WaveformPane(self)
        self.transcript = TranscriptPane(self)
        self.annotation = AnnotationPanel(self)
        self.checks = ChecksPanel(self)
        centre = QWidget(self)
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(6, 0, 6, 0)
        centre_layout.addWidget(self.header)
        centre_layout.addWidget(self.player, 5)
        centre_layout.addWidget(self.waveform, 2)
        centre_layout.addWidget(self.transcript)
        self.side_tabs = QTabWidget(self)
        label_page = QWidget(self)
        label_layout = QVBoxLayout(label_page)
        label_layout.setContentsMargins(4, 4, 4, 4)
        label_layout.addWidget(self.annotation, 3)
        label_layout.addWidget(self.checks, 2)
        self.side_tabs.addTab(label_page, "Label && check")
        self.variants = VariantsPanel(self.project, self)
        self.side_tabs.addTab(self.variants, "Variants")
        self.probe = ProbePanel(self.project, self)
        self.side_tabs.addTab(self.probe, "Probe")
        self.training = TrainingPanel(self.project, self, start=False)
        self.side_tabs.addTab(self.training, "Training")
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        for widget, share in ((self.browser, 36), (centre, 40), (self.side_tabs, 24)):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(self.splitter.count() - 1, share)
        self.splitter.setChildrenCollapsible(False)
        width = self.width()
        self.splitter.setSizes([int(width * 0.36), int(width * 0.40), int(width * 0.24)])
        self.setCentralWidget(self.splitter)

    def _connect_panels(self) -> None:
        self.browser.clip_selected.connect(self.show_clip)
        self.browser.loaded.connect(self.clips_loaded)
        self.browser.load_failed.connect(lambda msg: self._on_load_error("load the clips", msg))
        self.player.position_changed.connect(self.waveform.set_position)
        self.waveform.seek_requested.connect(self.player.seek)
        self.waveform.selection_changed.connect(self.player.set_selection)
        self.waveform.selection_changed.connect(
            lambda sel: self.variants.set_range(*(sel if sel else (None, None))))
        self.variants.play_requested.connect(self._play_clip)
        self.probe.play_requested.connect(self._play_clip)
        self.probe.checks_answered.connect(lambda _clip: self.checks.refresh())
        self.player.notice.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.transcript.edited.connect(lambda clip_id, text: self.edits.set_transcript(
            clip_id, text))
        self.annotation.changed.connect(self.edits.refresh_label_edit)
        self.checks.changed.connect(self.edits.refresh_clip)
        self.checks.current_check_changed.connect(self.check_views.focus)
        self.training.new_training_requested.connect(lambda: open_train_dialog(self))
        self.datasets_loaded.connect(lambda _count: self.training.start())
        self.training.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        for panel in (self.annotation, self.checks):
            panel.message.connect(lambda text: self.statusBar().showMessage(text, 6000))

    # --- project ------------------------------------------------------------------------------

    def open_database(self, path: str | Path, *, demo: bool | None = False) -> None:
        """Switch to another project file; everything in flight for the old one is dropped."""
        self.show_clip(None)
        self.project.open(path)
        settings.remember_project(self.db_path)
        self.setWindowTitle(f"{self.db_path.name} — MMLA Studio")
        self.status_line.show_project(self.db_path)
        for panel in (self.annotation, self.checks):
            panel.set_context(self.db_path, self.annotator, runner=self.runner)
        for panel in (self.variants, self.probe, self.training):
            panel.set_context(self.db_path, self.annotator)
        self.statusBar().showMessage("Opening project…")
        self.project.load(demo, self._on_project_opened,
                          lambda exc: self._on_load_error("open the project", exc))

    def _on_project_opened(self, opened: tuple[int, str | None]) -> None:
        dataset_count, read_only = opened
        self.project.watch()  # from here on, outside writes reach the panels
        self.statusBar().clearMessage()
        self.datasets_loaded.emit(dataset_count)
        if read_only:  # look, list, export; every change is refused with this reason
            self.setWindowTitle(f"{self.db_path.name} (read-only) — MMLA Studio")
            self.statusBar().showMessage(f"Opened read-only: {read_only}; changes will not "
                                         "be saved.")
        elif not dataset_count:
            self.statusBar().showMessage(
                "This project has no datasets yet: File > Import, or drop a folder here.")
        self.browser.reload(self.annotator)

    def add_demo(self) -> None:
        """File > Add the demo clips: the bundled demo dataset, into this project (an op: its
        change record brings it into the browser)."""
        self.statusBar().showMessage("Adding the demo clips…")
        run_job(self.project, add_demo(), initiator=self,
                on_success=lambda _id: self.statusBar().showMessage("Added the demo clips.", 8000),
                on_error=lambda exc: self._on_load_error("add the demo clips", exc))

    def reload_clips(self, select_clip: int | None = None) -> None:
        self.browser.reload(self.annotator, select_clip=select_clip)

    def _on_load_error(self, what: str, exc) -> None:
        message = f"Could not {what}: {exc}"
        self.statusBar().showMessage(message)
        self.load_failed.emit(message)
        box = QMessageBox(QMessageBox.Icon.Warning, "MMLA Studio", message,
                          QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # window-modal, never blocks the event loop

    # --- the selected clip --------------------------------------------------------------------

    def show_clip(self, row) -> None:
        """Point every pane at one clip (a BrowseRow) or at nothing."""
        if self._same_clip(row):
            self._refresh_clip(row)  # a reload re-selected it: keep playing, keep the task
            return
        self.current_row = row
        self.header.set_row(row)
        clip_id = None if row is None else row.id
        self.transcript.set_clip(clip_id, row.transcript if row else "",
                                 row.recipe_json if row else None)
        self.annotation.set_clip(clip_id)
        self.checks.set_clip(clip_id)
        self.variants.set_clip(clip_id)
        self.probe.set_clip(clip_id)
        path = self._media_path(row)
        self.player.load_clip(path, duration_s=row.duration_s if row else None)
        self.waveform.load_clip(path)
        self.clip_shown.emit(row)
        if row is not None and path is not None and settings.auto_play():
            self.player.play()

    def _same_clip(self, row) -> bool:
        shown = self.current_row
        return (row is not None and shown is not None and row.id == shown.id
                and row.media_path == shown.media_path and row.media_root == shown.media_root)

    def _refresh_clip(self, row) -> None:
        if row.transcript != self.current_row.transcript and self.transcript.editor.isReadOnly():
            self.transcript.set_clip(row.id, row.transcript, row.recipe_json)
        self.current_row = row
        self.header.set_row(row)
        self.annotation.refresh()
        self.checks.refresh()

    def _media_path(self, row) -> Path | None:
        if row is None or not row.media_path:
            return None
        try:
            check_own_media(row.recipe_json, row.media_path)
            return confine(row.media_root, row.media_path)
        except PathEscapeError as exc:
            self.statusBar().showMessage(f"Refusing to open {row.media_path}: {exc}", 8000)
            return None

    def _play_clip(self, clip_id: int) -> None:
        """Show a clip (say, a variant picked in the variants panel) and play it."""
        if self.browser.table.select_clip(clip_id):
            self.player.play()
        else:  # not loaded yet (just created) or filtered out: reload and select it
            self.reload_clips(clip_id)

    # --- annotator ----------------------------------------------------------------------------

    def set_annotator(self, name: str) -> None:
        name = name.strip()
        if not name or name == self.annotator:
            return
        self.project.annotator = name
        settings.set_annotator(name)
        for panel in (self.annotation, self.checks):
            panel.set_context(self.db_path, name, runner=self.runner)
        self.variants.set_context(self.db_path, name)
        self.status_line.show_annotator(name)
        current = self.current_row.id if self.current_row else None
        self.browser.reload(name, select_clip=current)

    # --- lifetime -----------------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        self.importer.drag_enter(event)

    def dropEvent(self, event) -> None:
        self.importer.drop(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.importer.waiting and not getattr(self, "close_confirmed", False):
            event.ignore()  # imports asked for would be dropped: ask first
            quit_app(self)
            return
        self.transcript.save()
        self.annotation.shutdown()  # commits a note still being typed
        self.checks.shutdown()
        self.variants.shutdown()
        self.probe.shutdown()
        self.training.shutdown()  # stops polling only: training jobs run on, detached
        self.live.shutdown()
        self.player.close_clip()
        self.waveform.load_clip(None)
        self.project.close()
        super().closeEvent(event)
