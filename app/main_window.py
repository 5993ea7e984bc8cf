"""The main window: dataset picker, filter and clip table on the left, the clip panel on the right.

Nothing here touches the database on the GUI thread: opening the project, importing the demo and
loading the clip list are runner jobs, each with its own Store; their results are applied here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from superqt import QElidingLabel
from superqt.utils import qdebounced, signals_blocked

from mmla_app.clip_table import ClipFilterProxy, ClipTableModel, ClipTableView, load_clip_rows
from mmla_app.clip_view import ClipView
from mmla_app.theme import STYLESHEET
from mmla_app.workers import Runner

CLIPS_CHANNEL = "clip_list"
PROJECT_CHANNEL = "project"
FILTER_DEBOUNCE_MS = 150
TABLE_SHARE = 0.55


def open_project(store, demo: bool | None) -> tuple[list[dict], int | None]:
    """Runs on a worker: migrate, import the demo when asked (or when the DB is empty), list
    datasets. Returns (datasets, the dataset to select or None)."""
    from mmla_core.store.catalog import list_datasets

    datasets = list_datasets(store)
    select = None
    if demo or (demo is None and not datasets):
        from mmla_core.demo import ensure_demo

        select = ensure_demo(store)
        datasets = list_datasets(store)
    return datasets, select


class MainWindow(QMainWindow):
    """MMLA Studio's main window on one project database.

    `demo`: True imports the demo project (if absent) and selects it; None does so only when
    the database has no datasets; False never does.
    """

    datasets_loaded = Signal(int)   # number of datasets
    clips_loaded = Signal(int)      # number of clips in the selected dataset
    load_failed = Signal(str)

    def __init__(self, db_path: str | Path, *, demo: bool | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.runner = Runner(self.db_path, self)
        self.setStyleSheet(STYLESHEET)
        self.resize(1280, 800)
        self._build_widgets()
        self._build_menus()
        self._build_status_bar()
        self.open_database(self.db_path, demo=demo)

    def sizeHint(self) -> QSize:
        return QSize(1280, 800)

    # --- construction -------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.dataset_combo = QComboBox(self)
        self.dataset_combo.setMinimumContentsLength(14)
        self.dataset_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.dataset_combo.setToolTip("Dataset")
        self.dataset_combo.currentIndexChanged.connect(self._on_dataset_changed)
        self.filter_edit = QLineEdit(self, clearButtonEnabled=True)
        self.filter_edit.setPlaceholderText("Filter by id or transcript…")
        self.filter_edit.textChanged.connect(self._on_filter_text_changed)
        self.model = ClipTableModel(self)
        self.proxy = ClipFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = ClipTableView(self.proxy, self)
        self.clip_view = ClipView(self.runner, self)
        self.table.clip_selected.connect(self.clip_view.show_clip)

        top = QHBoxLayout()
        top.addWidget(self.dataset_combo)
        top.addWidget(self.filter_edit, 1)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(top)
        left_layout.addWidget(self.table, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.clip_view)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 55)
        self.splitter.setStretchFactor(1, 45)
        width = self.width()
        self.splitter.setSizes([int(width * TABLE_SHARE), int(width * (1 - TABLE_SHARE))])
        container = QWidget(self)
        outer = QVBoxLayout(container)
        outer.setContentsMargins(8, 8, 8, 4)
        outer.addWidget(self.splitter)
        self.setCentralWidget(container)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open database…", self, shortcut=QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self._choose_database)
        file_menu.addAction(self.open_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        about_action = QAction("&About MMLA Studio", self)
        about_action.setMenuRole(QAction.MenuRole.AboutRole)
        about_action.triggered.connect(self._show_about)
        help_menu.addAction(about_action)

    def _build_status_bar(self) -> None:
        self.db_label = QElidingLabel(self)
        self.db_label.setElideMode(Qt.TextElideMode.ElideMiddle)
        self.db_label.setMinimumWidth(120)
        self.count_label = QLabel(self)
        self.statusBar().addPermanentWidget(self.db_label, 1)
        self.statusBar().addPermanentWidget(self.count_label)

    # --- project and dataset loading ----------------------------------------------------------

    def open_database(self, path: str | Path, *, demo: bool | None = False) -> None:
        """Switch to another project file; everything in flight for the old one is dropped."""
        self.db_path = Path(path)
        self.runner.set_db_path(self.db_path)
        self.setWindowTitle(f"{self.db_path.name} — MMLA Studio")
        self.db_label.setText(str(self.db_path))
        self.db_label.setToolTip(str(self.db_path))
        with signals_blocked(self.dataset_combo):
            self.dataset_combo.clear()
        self._set_rows([])
        self.statusBar().showMessage("Opening project…")
        self.runner.submit(open_project, demo, channel=PROJECT_CHANNEL,
                           on_success=self._on_project_opened,
                           on_error=lambda exc: self._on_load_error("open the project", exc))

    def _on_project_opened(self, result: tuple[list[dict], int | None]) -> None:
        datasets, select = result
        with signals_blocked(self.dataset_combo):
            self.dataset_combo.clear()
            for ds in datasets:
                self.dataset_combo.addItem(f"{ds['name']}  ({ds['clip_count']})", int(ds["id"]))
            index = self.dataset_combo.findData(select) if select is not None else 0
            self.dataset_combo.setCurrentIndex(max(index, 0) if datasets else -1)
        self.statusBar().clearMessage()
        self.datasets_loaded.emit(len(datasets))
        if datasets:
            self._on_dataset_changed()
        else:
            self.count_label.setText("no datasets")
            self.statusBar().showMessage("This database has no datasets yet.")

    def current_dataset_id(self) -> int | None:
        data = self.dataset_combo.currentData()
        return None if data is None else int(data)

    def _on_dataset_changed(self, _index: int = -1) -> None:
        dataset_id = self.current_dataset_id()
        if dataset_id is None:
            return
        self.statusBar().showMessage("Loading clips…")
        self.runner.submit(load_clip_rows, dataset_id, channel=CLIPS_CHANNEL,
                           on_success=self._on_clips_loaded,
                           on_error=lambda exc: self._on_load_error("load the clips", exc))

    def _on_clips_loaded(self, rows: list[dict]) -> None:
        self._set_rows(rows)
        self.statusBar().clearMessage()
        self.clips_loaded.emit(len(rows))

    def _set_rows(self, rows: list[dict]) -> None:
        self.model.set_rows(rows)  # the reset clears the selection -> the empty state shows
        self.clip_view.show_clip(None)
        self._update_count()

    def _on_load_error(self, what: str, exc: Exception) -> None:
        message = f"Could not {what}: {exc}"
        self.statusBar().showMessage(message)
        self.load_failed.emit(message)
        box = QMessageBox(QMessageBox.Icon.Warning, "MMLA Studio", message,
                          QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # window-modal, never blocks the event loop

    # --- filtering ----------------------------------------------------------------------------

    def _on_filter_text_changed(self, _text: str) -> None:
        self._apply_filter()

    @qdebounced(timeout=FILTER_DEBOUNCE_MS)
    def _apply_filter(self) -> None:
        self.proxy.set_filter_text(self.filter_edit.text())
        self._update_count()

    def _update_count(self) -> None:
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        noun = "clip" if total == 1 else "clips"
        self.count_label.setText(f"{total} {noun}" if shown == total
                                 else f"{shown} of {total} {noun}")

    # --- menus and lifetime -------------------------------------------------------------------

    def _choose_database(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open project database", str(self.db_path.parent),
            "MMLA Studio databases (*.sqlite *.sqlite3 *.db);;All files (*)",
        )
        if path:
            self.open_database(path, demo=False)

    def _show_about(self) -> None:
        from mmla_app import __version__

        QMessageBox.about(
            self, "About MMLA Studio",
            f"<b>MMLA Studio</b> {__version__}<p>A workbench for multimodal language analysis: "
            "curate utterance clips, probe multimodal LLMs with modality-conflict variants, "
            "and fine-tune them with LoRA.</p>"
            f"<p>Project database:<br><code>{self.db_path}</code></p>",
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        self.runner.shutdown()
        super().closeEvent(event)
