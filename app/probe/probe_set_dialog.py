"""Probes over a set of clips: MMA-Bench's table (accuracy of the visual- and audio-focused
questions, and the task prompt, under aligned vs each conflict) and per-layer Cohen's d.

The set is the clips the browser lists now, or a dataset split. The table is made of the set's
existing probes (latest finished one per clip for the task and model, `probe.sets`); "Run the
missing probes" probes the others in the model worker process, with progress and cancel, and
then shows the table again. Cohen's d needs probes run with attention.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from mmla_app.probe.probe_jobs import (
    LOADING_TEXT,
    WorkerJob,
    fill_combo,
    load_set_choices,
)
from mmla_app.runtime.project import Project
from mmla_app.widgets.screen_fit import fit_resize
from mmla_app.widgets.stop_button import CANCEL, StopButton
from mmla_core import changes as areas
from mmla_core.probe.sets import set_clips, set_table, set_table_csv
from mmla_core.words import count

PROMPT_COLUMNS = (("visual_focused", "visual question"), ("audio_focused", "audio question"),
                  ("zero_shot", "task prompt"))


def load_table(store, clip_ids, dataset, split, task: str, model: str | None):
    """Worker job: the set's clip ids and its table."""
    ids = set_clips(store, clip_ids=clip_ids, dataset=dataset, split=split)
    return ids, set_table(store, ids, task, model)


def _item(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
    return item


class ProbeSetDialog(QDialog):
    def __init__(self, project: Project, parent: QWidget | None = None, *,
                 listed: list[int] | None = None, model: str | None = None,
                 task: str | None = None):
        super().__init__(parent)
        self.setWindowTitle("Probes over a set of clips")
        self.listed = list(listed or [])
        self.project = project
        self.runner = project.runner.scope("probe_set")
        self.job = WorkerJob(project.db_path, self)
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(lambda msg: self._ended(f"The probes failed: {msg}"))
        self.job.killed.connect(self._killed)
        self.table_data = None
        self._want = {"model": model, "task": task}
        self._build()
        self.runner.submit(load_set_choices, channel="choices", on_success=self._on_choices)
        project.bus.listen(self._on_changes)

    def _on_changes(self, changes, _initiator) -> None:
        """A model, dataset or clip added elsewhere: offer it, keeping the choices made."""
        if isValid(self) and changes.touches(areas.MODELS, areas.DATASETS, areas.CLIPS):
            self.runner.submit(load_set_choices, channel="choices", on_success=self._on_choices)

    def _build(self) -> None:
        self.listed_radio = QRadioButton(f"Clips the browser lists ({len(self.listed)})", self)
        self.split_radio = QRadioButton("Dataset split", self)
        (self.listed_radio if self.listed else self.split_radio).setChecked(True)
        self.listed_radio.setEnabled(bool(self.listed))
        self.dataset_combo, self.split_combo = QComboBox(self), QComboBox(self)
        self.model_combo, self.task_combo = QComboBox(self), QComboBox(self)
        self.dataset_combo.currentIndexChanged.connect(self._fill_splits)
        self.attention_box = QCheckBox("Capture attention (Cohen's d; about 10-15% slower)",
                                       self)
        self.show_button = QPushButton("Show table", self, clicked=lambda: self.refresh())
        self.run_button = QPushButton("Run the missing probes", self, clicked=self.run_missing)
        self.cancel_button = QPushButton(CANCEL, self, enabled=False)
        self.csv_button = QPushButton("CSV…", self, clicked=self.export_csv, enabled=False)
        self.progress = QProgressBar(self, visible=False)
        self.status = QLabel("Choose the set, then Show table.", self, wordWrap=True)
        self.stopper = StopButton(self, self.cancel_button, self.status,
                                  handle=lambda: self.job.handle,
                                  on_killed=self.job.killed_by_stop_now,
                                  subject="probing of the set", step="row")
        self.cancel_button.clicked.connect(self.stopper.press)
        self.table = QTableWidget(0, 1 + len(PROMPT_COLUMNS), self)
        self.table.setHorizontalHeaderLabels(["clips", *(t for _, t in PROMPT_COLUMNS)])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(280)
        self.cohens = QTableWidget(0, 0, self)
        self.cohens.setMaximumHeight(110)
        # a column per layer, as narrow as "+0.00": 12 of a 28-layer model's show at 640 px
        # (5 did at the default width), the rest a short scroll away
        self.cohens.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        form = QFormLayout()
        split_line = QHBoxLayout()
        for widget in (self.split_radio, self.dataset_combo, self.split_combo):
            split_line.addWidget(widget, 1 if widget is not self.split_radio else 0)
        form.addRow(self.listed_radio)
        form.addRow(split_line)
        form.addRow("Model", self.model_combo)
        form.addRow("Task", self.task_combo)
        form.addRow(self.attention_box)
        buttons = QHBoxLayout()
        for button in (self.show_button, self.run_button, self.cancel_button, self.csv_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(QLabel("Accuracy (%) per scenario and question", self))
        layout.addWidget(self.table, 1)
        layout.addWidget(QLabel("Cohen's d per layer, visual- vs audio-focused question "
                                "(aligned clips; > 0: more attention under the visual one)",
                                self, wordWrap=True))
        layout.addWidget(self.cohens)
        self.cohens_note = QLabel(self, wordWrap=True, objectName="muted")
        layout.addWidget(self.cohens_note)
        fit_resize(self, 640, 680)

    def _on_choices(self, choices: dict) -> None:
        self.splits = choices["splits"]
        fill_combo(self.model_combo, choices["models"], self._want["model"])
        fill_combo(self.task_combo, [(t, t) for t in choices["tasks"]], self._want["task"])
        fill_combo(self.dataset_combo, [(d, d) for d in self.splits])
        self._fill_splits()
        self._want = {"model": None, "task": None}  # a later reload keeps the current choice

    def _fill_splits(self, *_args) -> None:
        splits = getattr(self, "splits", {}).get(self.dataset_combo.currentData(), [])
        fill_combo(self.split_combo, [("all splits", None)] +
                   [(s or "(unsplit)", s) for s in splits])

    # --- the set and its table ----------------------------------------------------------------

    def _set_spec(self) -> tuple:
        if self.listed_radio.isChecked():
            return self.listed, None, None
        return None, self.dataset_combo.currentData(), self.split_combo.currentData()

    def refresh(self, said: str = "") -> None:
        """Read the set's table again; `said` (how a job ended) stays in front of its line."""
        task = self.task_combo.currentData()
        if not task:
            self.status.setText("Choose a task first.")
            return
        self.status.setText(f"{said}Reading the probes…")
        self.runner.submit(load_table, *self._set_spec(), task, self.model_combo.currentData(),
                           channel="set_table", on_success=lambda got: self._show(got, said),
                           on_error=lambda exc: self.status.setText(f"Cannot read: {exc}"))

    def _show(self, loaded, said: str = "") -> None:
        self.clip_ids, table = loaded
        self.table_data = table
        self.csv_button.setEnabled(bool(table.rows))
        self.status.setText(f"{said}{table.clips} clips in the set: {len(table.run_ids)} "
                            f"probed, {table.missing} without a probe.")
        self.table.setRowCount(len(table.rows))
        self.table.setVerticalHeaderLabels([r["scenario"].replace("_", " ") for r in table.rows])
        for i, row in enumerate(table.rows):
            self.table.setItem(i, 0, _item(str(row["n"])))
            for j, (key, _) in enumerate(PROMPT_COLUMNS, 1):
                value = row.get(key)
                self.table.setItem(i, j, _item("—" if value is None else f"{value * 100:.1f}"))
        self._show_cohens(table.cohens_d)
        self.cohens_note.setText(table.cohens_note)
        self.cohens_note.setVisible(bool(table.cohens_note))
        self.cohens.setVisible(bool(table.cohens_d))

    def _show_cohens(self, cohens: dict) -> None:
        layers = max((len(v) for v in cohens.values()), default=0)
        self.cohens.setRowCount(len(cohens))
        self.cohens.setColumnCount(layers)
        self.cohens.setVerticalHeaderLabels([f"{m} tokens" for m in cohens])
        self.cohens.setHorizontalHeaderLabels([f"L{i}" for i in range(layers)])
        for i, values in enumerate(cohens.values()):
            for j, d in enumerate(values):
                self.cohens.setItem(i, j, _item("—" if d is None else f"{d:+.2f}"))

    # --- running the missing probes -----------------------------------------------------------

    def run_missing(self) -> None:
        model, task = self.model_combo.currentData(), self.task_combo.currentData()
        if not model or not task:
            self.status.setText("Choose a model and a task first.")
            return
        if self.job.running or not self.run_button.isEnabled():
            return  # a second click while the set is read or probed
        for button in (self.show_button, self.run_button):
            button.setEnabled(False)  # at once: a double click must not start two jobs
        self.status.setText("Reading the set…")
        self.runner.submit(load_table, *self._set_spec(), task, model,
                           on_success=lambda loaded: self._start(loaded[0], task, model),
                           on_error=lambda exc: self._ended(f"Cannot read the set: {exc}"))

    def _start(self, clip_ids: list[int], task: str, model: str) -> None:
        if not self.job.start("probe_set", clip_ids, task, model=model,
                              attention=self.attention_box.isChecked(),
                              what=f"the set window's probes of {task} over "
                                   f"{count(len(clip_ids), 'clip')}"):
            return
        self._set_running(True)
        self.progress.setRange(0, 0)  # busy until the first clip is done
        self.status.setText(LOADING_TEXT)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        if not self.stopper.cancelling:  # "Cancelling…" / "Stopping…" stays said
            self.status.setText(f"Probed {done} of {total} clips without a probe…")

    def _on_finished(self, event: dict) -> None:
        said = f"Missing probes {event.get('status')}. "
        self._ended(said)
        self.refresh(said)

    def _killed(self, message: str) -> None:
        """Stop now (here, or another window's) killed the worker: the clips probed before are
        kept; the table says so."""
        said = f"Stopped: {message} "
        self._ended(said)
        self.refresh(said)

    def _ended(self, message: str) -> None:
        self.stopper.reset()
        self._set_running(False)
        self.status.setText(message)

    def _set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setEnabled(running)
        for button in (self.show_button, self.run_button):
            button.setEnabled(not running)

    def export_csv(self) -> None:
        if self.table_data is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export the table", "probe-table.csv",
                                              "CSV (*.csv)")
        if not path:
            return
        try:
            set_table_csv(self.table_data, path)
        except OSError as exc:
            self.status.setText(f"Cannot write {path}: {exc.strerror or exc}")
            return
        self.status.setText(f"Saved {path}.")

    def done(self, result: int) -> None:
        self.stopper.reset()
        self.job.shutdown()
        self.runner.close()
        self.project.bus.forget(self._on_changes)
        super().done(result)


def listed_clips(window) -> list[int]:
    """The original clips (not variants) the window's browser lists, in its order."""
    browser = getattr(window, "browser", None)
    if browser is None:
        return []
    model = browser.table.model()
    rows = (model.row_at(i) for i in range(model.rowCount()))
    return [r.id for r in rows if r is not None and r.parent_clip_id is None]


def open_probe_set(window, project: Project, *, model=None, task=None) -> ProbeSetDialog:
    dialog = ProbeSetDialog(project, window, listed=listed_clips(window), model=model, task=task)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
