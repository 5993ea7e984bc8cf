"""The Probe tab: one clip under MMA-Bench's scenarios x prompts, answered by a model.

The model runs in the project's shared model worker (`runtime/model_jobs.py`, `probe`); cells
stream in as they are written to SQLite and the window never waits. Reading the screen: each
cell is the predicted label and its probability, green when right, red when wrong, outlined when
the answer flipped from the aligned clip's; the line under the matrix says which modality the
model relied on. Past probes of the clip reopen from the database exactly as they were.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from mmla_app.ops import probe as probe_ops
from mmla_app.ops.op import run_job
from mmla_app.probe.probe_compare import open_probe_compare
from mmla_app.probe.probe_figure import FLIP_MARK, RIGHT, WRONG, ProbeFigure, save_figure
from mmla_app.probe.probe_options import ProbeOptions
from mmla_app.probe.probe_plots import ProbePlots
from mmla_app.probe.probe_queries import load_choices, load_result
from mmla_app.probe.probe_set_dialog import open_probe_set
from mmla_app.runtime.model_jobs import JobHandle, model_jobs
from mmla_app.runtime.project import Project
from mmla_app.widgets.adapter_picker import AdapterPicker
from mmla_app.widgets.stop_button import StopButton
from mmla_app.widgets.wrap_fit import WrapFitPane
from mmla_core.probe.export import probe_to_csv
from mmla_core.probe.matrix import DEFAULT_PROMPTS, DEFAULT_SCENARIOS, ProbeCell, ProbeResult
from mmla_core.probe.reliance import reliance_profile

LEGEND_HTML = (f"<span style='background:{RIGHT.name()}'>&nbsp;right&nbsp;</span> "
               f"<span style='background:{WRONG.name()}'>&nbsp;wrong&nbsp;</span> "
               f"· {FLIP_MARK} flipped from the aligned clip's answer · the number is "
               "P(predicted label) · double-click a row to play it")
PROMPT_TIPS = {
    "zero_shot": "MMLA's task question (the task prompt above)",
    "visual_focused": "MMA-Bench's question about what the video shows",
    "audio_focused": "MMA-Bench's question about what the audio carries",
}


SCENARIO_TIPS = {
    "aligned": "the clip as it is",
    "audio_swap": "the audio replaced by another clip's (of a different label)",
    "misleading_caption": "a wrong caption ('Video_caption: <wrong class>.') before the transcript",
    "long_context": "10,000 random letters appended to the transcript",
    "frames_zeroed": "every frame black, the audio kept",
    "audio_removed": "no audio at all, the frames kept",
}


def scenario_tip(key: str) -> str:
    """What a matrix row changed in the clip (MMA-Bench's scenarios, or an existing variant)."""
    return SCENARIO_TIPS.get(key, "an existing variant clip of this clip, probed as it is")


def _line(widgets) -> QHBoxLayout:
    line = QHBoxLayout()
    for widget in widgets:
        line.addWidget(widget, 1 if isinstance(widget, QComboBox | ProbeOptions) else 0)
    return line


class ProbePanel(QWidget):
    probe_finished = Signal(int)  # run id
    play_requested = Signal(int)  # a clip or variant id to show in the player
    checks_answered = Signal(int)  # the clip whose checks the model answered

    def __init__(self, project: Project, parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self.runner = project.runner.scope("probe")  # reads; a job outlives the panel
        self.clip_id: int | None = None
        self.jobs = model_jobs(project.db_path)  # the project's model worker, shared with Evaluate
        self.job: JobHandle | None = None
        self.run_id: int | None = None  # the running job's run (the worker says at its start)
        self.cells: dict[tuple[str, str], ProbeCell] = {}
        self.result: ProbeResult | None = None
        self.profile = None  # the shown probe's RelianceProfile
        self.row_keys: list[str] = list(DEFAULT_SCENARIOS)  # matrix rows (scenario or variant)
        self.prompt_keys: list[str] = list(DEFAULT_PROMPTS)
        self._defaults: dict[str, dict] = {}  # task -> default prompt texts
        self._build()

    def _build(self) -> None:
        self.model_combo, self.task_combo, self.past_combo = (QComboBox(self) for _ in range(3))
        self.past_combo.activated.connect(self._open_past)
        self.run_button = QPushButton("Run probe", self, clicked=self.run_probe)
        self.cancel_button = QPushButton("Cancel", self, clicked=self.cancel, enabled=False)
        self.status = QLabel(self, objectName="muted", wordWrap=True)
        self.stopper = StopButton(self, self.cancel_button, self.status, handle=lambda: self.job,
                                  on_killed=self.stopped_by_kill, subject="probe", step="row")
        self.checks_button = QPushButton("Model answers the checks", self,
                                         clicked=self.run_model_checks)
        self.checks_button.setToolTip("The four alignment checks answered by the model (yes/no "
                                      "scoring), shown beside yours in the checks panel")
        self._job = ""  # "probe" | "checks" while the worker is busy
        self._expected = len(DEFAULT_SCENARIOS) * len(DEFAULT_PROMPTS)
        self.attention_box = QCheckBox("Attention by modality", self)
        self.attention_box.setToolTip("Also capture each layer's attention to video, audio and "
                                      "text tokens at the answer position: the last prompt "
                                      "token once more, with eager attention, over the probe's "
                                      "own cached pass. A probe takes about 10-15% longer; "
                                      "little extra memory.")
        self.plots = ProbePlots(self)
        self.attention_plot, self.bars = self.plots.attention_plot, self.plots.bars
        self.options = ProbeOptions(self)
        self.scenario_boxes, self.prompt_boxes = (self.options.scenario_boxes,
                                                  self.options.prompt_boxes)
        self.task_combo.currentIndexChanged.connect(self._task_changed)
        self.set_button = QPushButton("Over a set of clips…", self, clicked=self.open_set)
        self.set_button.setToolTip("MMA-Bench's table and per-layer Cohen's d over the browser's "
                                   "selection or a dataset split; runs the missing probes")
        self.adapter_picker = AdapterPicker(self.project, self)
        self.matrix = QTableWidget(len(DEFAULT_SCENARIOS), len(DEFAULT_PROMPTS), self)
        self.matrix.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.matrix.currentCellChanged.connect(lambda row, col, *_: self._show_bars(row, col))
        self.matrix.cellDoubleClicked.connect(self.play_scenario)
        self._layout_matrix(list(DEFAULT_SCENARIOS), list(DEFAULT_PROMPTS), {})
        self.legend = QLabel(LEGEND_HTML, self, wordWrap=True, objectName="muted")
        self.reliance = QLabel("Pick a model and a task, then Run probe.", self, wordWrap=True)
        self._build_layout()

    def _build_layout(self) -> None:
        """Choices and questions (scrolling) | actions, matrix, legend, verdict | plots, in a
        vertical splitter; the matrix never shrinks below its rows, nor the middle pane below
        its wrapped texts (a three-line status drew the legend over the matrix's last row)."""
        export_csv = QPushButton("CSV…", self, clicked=self.export_csv)
        self.figure_button = QPushButton("Figure…", self, clicked=self.export_figure)
        self.figure_button.setToolTip("Save the matrix, its legend and the selected cell's "
                                      "plots as a figure for print (PNG or SVG)")
        self.compare_button = QPushButton("Compare…", self, clicked=self.open_compare)
        self.compare_button.setToolTip("This clip's probe side by side with another of its "
                                       "probes (adapter vs base, one model vs another)")
        controls = QWidget(self)
        top = QVBoxLayout(controls)
        top.setContentsMargins(0, 0, 0, 0)
        for widgets in ((QLabel("Model"), self.model_combo), (QLabel("Task"), self.task_combo),
                        (QLabel("Adapter"), self.adapter_picker), (self.options,)):
            top.addLayout(_line(widgets))
        scroll = QScrollArea(self, widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        scroll.setWidget(controls)
        middle = WrapFitPane(self)
        centre = QVBoxLayout(middle)
        centre.setContentsMargins(0, 0, 0, 0)
        # the actions stay in view on a small screen (1366x768) whatever the questions scroll to
        for widgets in ((self.run_button, self.cancel_button, self.attention_box),
                        (self.checks_button, self.set_button),
                        (QLabel("Past probes"), self.past_combo, export_csv, self.figure_button,
                         self.compare_button)):
            centre.addLayout(_line(widgets))
        for widget in (self.matrix, self.legend, self.reliance, self.status):
            centre.addWidget(widget, 1 if widget is self.matrix else 0)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        for widget in (scroll, middle, self.plots):
            self.splitter.addWidget(widget)
        self.splitter.setCollapsible(1, False)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(2, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    # --- context ------------------------------------------------------------------------------

    @property
    def db_path(self) -> Path:
        return self.project.db_path

    def set_context(self, _db_path: Path, _annotator: str = "") -> None:
        """The project switched to another file (the Project's runner follows it)."""
        self._stop_work()
        self.runner = self.project.runner.scope("probe")
        self.jobs = model_jobs(self.project.db_path)
        self.adapter_picker.reload()
        self.set_clip(None)

    def set_clip(self, clip_id: int | None) -> None:
        if self.job is not None and self.job.running:
            return  # a running probe keeps its clip; the matrix stays meaningful
        self.clip_id = clip_id
        self._clear()
        self.run_button.setEnabled(clip_id is not None)
        if clip_id is not None:
            self.runner.submit(load_choices, clip_id, channel="probe_choices",
                               on_success=self._on_choices)

    def refresh_choices(self) -> None:
        """Models or trained adapters changed (here or in another process): offer them now."""
        self.adapter_picker.reload()
        if self.clip_id is not None:
            self.runner.submit(load_choices, self.clip_id, channel="probe_choices",
                               on_success=self._on_choices)

    def _on_choices(self, choices: dict) -> None:
        self._defaults = choices["defaults"]
        self.options.set_variants(choices["variants"])
        for combo, items in ((self.model_combo, choices["models"]),
                             (self.task_combo, [(t, t) for t in choices["tasks"]]),
                             (self.past_combo, [(f"probe #{r}", r) for r in choices["probes"]])):
            keep = combo.currentData()
            combo.clear()
            for text, data in items:
                combo.addItem(text, data)
            combo.setCurrentIndex(max(combo.findData(keep), 0))
        self._task_changed()
        if not choices["models"]:
            self.reliance.setText("No model yet: Tools > Evaluate > Add model… "
                                  "(or `mmla models tiny OUT --add`).")

    def _task_changed(self, *_args) -> None:
        self.options.set_defaults(self._defaults.get(self.task_combo.currentData(), {}))

    # --- running ------------------------------------------------------------------------------

    def run_probe(self) -> None:
        model, task = self.model_combo.currentData(), self.task_combo.currentData()
        if self.clip_id is None or not model or not task:
            self.status.setText("Pick a clip, a model and a task first.")
            return
        self._clear()
        scenarios, prompts = self.options.chosen_scenarios(), self.options.chosen_prompts()
        variants = self.options.chosen_variants()
        if not prompts or "aligned" not in scenarios:
            self.status.setText("Keep the aligned clip and at least one question: the other "
                                "cells are compared with them.")
            return
        adapter = self.adapter_picker.adapter_path()
        titles = {f"variant:{v}": self.options.variant_title(v) for v in variants}
        self._layout_matrix([*scenarios, *titles], prompts, titles)
        self._started("probe", self.jobs.submit(
            "probe", self.clip_id, task, model=model, scenarios=scenarios, prompts=prompts,
            attention=self.attention_box.isChecked(), templates=self.options.templates(),
            variants=variants, on_event=self._on_event,
            what=f"the Probe tab's probe of clip {self.clip_id}",
            **({"adapter_path": adapter} if adapter else {})))

    def run_model_checks(self) -> None:
        model = self.model_combo.currentData()
        if self.clip_id is None or not model:
            self.status.setText("Pick a clip and a model first.")
            return
        self._started("checks", self.jobs.submit(
            "model_checks", [self.clip_id], model=model, on_event=self._on_event,
            what=f"the Probe tab's model check answers for clip {self.clip_id}"))

    def _started(self, job: str, handle: JobHandle) -> None:
        self._job, self.job = job, handle
        self.status.setText("Loading the model in the worker process…")
        for button in (self.run_button, self.checks_button):
            button.setEnabled(False)
        self.cancel_button.setEnabled(True)

    def cancel(self) -> None:
        self.stopper.press()

    def _on_event(self, event: dict) -> None:
        kind = event["type"]
        if kind == "run_started":
            self.run_id = event["run_id"]
        elif kind == "cell":
            self._add_cell(ProbeCell(**event["cell"]))
        elif kind in ("finished", "error", "crashed"):
            self._done(event)

    def _ended(self) -> str:
        job, self._job, self.job, self.run_id = self._job, "", None, None
        self.stopper.reset()
        for button in (self.run_button, self.checks_button):
            button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        return job

    def stopped_by_kill(self) -> None:
        """Stop now killed the worker under this tab's job (its run is marked failed)."""
        fate = self.job.fate() if self.job else ""   # its run, what is kept, what a rerun does
        job = self._ended()
        self.status.setText(f"{job.capitalize()} stopped: the model worker was killed. {fate}")

    def _done(self, event: dict) -> None:
        job = self._ended()
        if event.get("stopped_by"):  # another window killed the shared worker: say so
            self.status.setText(f"{job.capitalize()} stopped: {event['message']}")
            return
        if event["type"] != "finished":  # a crash's message names the failed run and a rerun
            self.status.setText(f"{job.capitalize()} failed: {event.get('message', event)}")
            if event.get("run_ids"):  # the failed probe joins Past probes
                self.runner.submit(load_choices, self.clip_id, channel="probe_choices",
                                   on_success=self._on_choices)
            return
        if job == "checks":
            self.status.setText(f"The model answered the checks (run #{event['run_id']}); "
                                "accept or override them in Label & check.")
            self.checks_answered.emit(self.clip_id)
            return
        self.status.setText(f"Probe #{event['run_id']} {event['status']}; saved.")
        self.runner.submit(load_result, event["run_id"], on_success=self.show_result)
        self.runner.submit(load_choices, self.clip_id, channel="probe_choices",
                           on_success=self._on_choices)  # lists the new probe under Past
        self.probe_finished.emit(event["run_id"])

    # --- showing ------------------------------------------------------------------------------

    def _layout_matrix(self, rows: list[str], prompts: list[str], titles: dict) -> None:
        """Rows (scenarios, then variants) x prompts, before any cell arrives."""
        self.row_keys, self.prompt_keys = list(rows), list(prompts)
        self._expected = len(rows) * len(prompts)
        self.matrix.setRowCount(len(rows))
        self.matrix.setColumnCount(len(prompts))
        for r, key in enumerate(rows):
            item = QTableWidgetItem(titles.get(key, key.replace("_", " ")))
            item.setToolTip(scenario_tip(key) + "\nDouble-click a cell to play this row")
            self.matrix.setVerticalHeaderItem(r, item)
        for c, key in enumerate(prompts):
            item = QTableWidgetItem(key.replace("_", " "))
            item.setToolTip(PROMPT_TIPS.get(key, key))
            self.matrix.setHorizontalHeaderItem(c, item)
        self._fit_matrix()

    def _fit_matrix(self) -> None:
        """Tall enough for every row: the matrix is what the tab is for."""
        header = self.matrix.horizontalHeader().sizeHint().height()
        rows = sum(self.matrix.rowHeight(r) for r in range(self.matrix.rowCount()))
        self.matrix.setMinimumHeight(header + rows + 2 * self.matrix.frameWidth() + 2)

    def _clear(self) -> None:
        self.cells, self.result = {}, None
        self.matrix.clearContents()
        self.plots.clear()

    def _add_cell(self, cell: ProbeCell) -> None:
        self.cells[(cell.scenario, cell.prompt)] = cell
        if cell.scenario not in self.row_keys or cell.prompt not in self.prompt_keys:
            return
        row, col = self.row_keys.index(cell.scenario), self.prompt_keys.index(cell.prompt)
        aligned = self.cells.get(("aligned", cell.prompt))
        flip = aligned is not None and cell.scenario != "aligned" and \
            aligned.predicted != cell.predicted
        item = QTableWidgetItem(f"{FLIP_MARK + ' ' if flip else ''}{cell.predicted}  "
                                f"{cell.p_predicted:.2f}")
        if cell.correct is not None:
            item.setBackground(QBrush(RIGHT if cell.correct else WRONG))
        verdict = {True: "right", False: "wrong", None: "no gold label"}[cell.correct]
        p_gold = "—" if cell.p_gold is None else f"{cell.p_gold:.3f}"
        item.setToolTip(f"answer: {cell.predicted} (P {cell.p_predicted:.3f}), {verdict}\n"
                        f"gold: {cell.gold or '—'} (P {p_gold})"
                        + (f"\n{FLIP_MARK} flipped from the aligned answer "
                           f"({aligned.predicted})" if flip else ""))
        self.matrix.setItem(row, col, item)
        if not self.stopper.cancelling:  # "Cancelling…" / "Stopping…" stays said
            self.status.setText(f"{len(self.cells)} of {self._expected} cells")

    def show_result(self, result: ProbeResult) -> None:
        self._clear()
        self.result = result
        self._layout_matrix(list(result.scenarios), list(result.prompts),
                            {k: result.row_title(k) for k in result.variants})
        self.options.show_templates(result.templates)
        for cell in result.cells:
            self._add_cell(cell)
        profile = self.profile = reliance_profile(result)
        drops = ", ".join(f"{m} {v:+.3f}" if v is not None else f"{m} —"
                          for m, v in profile.drop.items())
        relied = profile.relied_on or "no single modality"
        self.reliance.setText(
            f"Relied on: <b>{relied}</b> (threshold: a drop of P(gold) of at least "
            f"{profile.threshold:.2f}; drops when each is perturbed: {drops}; gold: "
            f"{result.gold})")
        self.reliance.setToolTip(profile.verdict())
        self.matrix.setCurrentCell(0, 0)
        self._make_room_for_plots()

    def _make_room_for_plots(self) -> None:
        """With a probe on screen, the plots get room from the (scrolling) controls."""
        controls, middle, plots = self.splitter.sizes()
        wanted = 260 if any(c.attention for c in self.cells.values()) else 180
        if plots < wanted and controls > 120:
            give = min(wanted - plots, controls - 120)
            self.splitter.setSizes([controls - give, middle, plots + give])

    def _show_bars(self, row: int, col: int) -> None:
        if row < 0 or col < 0:
            return
        if row >= len(self.row_keys) or col >= len(self.prompt_keys):
            return
        self.plots.show_cell(self.current_cell())

    def current_cell(self) -> ProbeCell | None:
        row, col = self.matrix.currentRow(), self.matrix.currentColumn()
        if not (0 <= row < len(self.row_keys) and 0 <= col < len(self.prompt_keys)):
            return None
        return self.cells.get((self.row_keys[row], self.prompt_keys[col]))

    def play_scenario(self, row: int, _col: int = 0) -> None:
        """Show the cell's scenario in the player, writing it as a variant clip if needed."""
        if self.clip_id is None or not 0 <= row < len(self.row_keys):
            return
        key = self.row_keys[row]
        if key.startswith("variant:"):  # an existing variant clip plays as it is
            self.play_requested.emit(int(key.split(":", 1)[1]))
            return
        self.status.setText(f"Preparing {key.replace('_', ' ')}…")
        # writing a variant's media takes a moment: not on the writer thread
        run_job(self.project, probe_ops.scenario_clip(self.clip_id, key),
                initiator=self, on_success=self._play,
                on_error=lambda exc: self._say(f"Cannot play: {exc}"))

    def _play(self, clip_id: int) -> None:
        if isValid(self):
            self.play_requested.emit(clip_id)

    def _say(self, text: str) -> None:
        if isValid(self):
            self.status.setText(text)

    def _open_past(self, _index: int) -> None:
        run_id = self.past_combo.currentData()
        if run_id is not None:
            self.runner.submit(load_result, run_id, on_success=self.show_result)

    def open_set(self) -> None:
        """The set view over the window's browser selection (when there is one)."""
        open_probe_set(self.window(), self.project, model=self.model_combo.currentData(),
                       task=self.task_combo.currentData())

    # --- export -------------------------------------------------------------------------------

    def export_csv(self) -> None:
        if self.result is not None:
            name = f"probe-{self.result.run_id}.csv"
            path, _ = QFileDialog.getSaveFileName(self, "Export probe", name, "CSV (*.csv)")
            if path:
                probe_to_csv(self.result, path)

    def export_figure(self, path: str | None = None) -> Path | None:
        """The matrix, legend, verdict and the selected cell's plots, drawn for print."""
        if self.result is None:
            self.status.setText("Run or open a probe first: the figure draws a probe.")
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Save the probe as a figure", f"probe-{self.result.run_id}.png",
                "PNG image (*.png);;SVG drawing (*.svg)")
        if not path:
            return None
        figure = ProbeFigure(self.result, self.current_cell(), self.profile.verdict())
        try:
            saved = save_figure(figure, path)
        except OSError as exc:
            self.status.setText(f"Could not save the figure: {exc}")
            return None
        self.status.setText(f"Figure saved: {saved}")
        return saved

    def open_compare(self) -> None:
        """Side by side with another probe of this clip."""
        probes = [self.past_combo.itemData(i) for i in range(self.past_combo.count())]
        if self.result is None or len(probes) < 2:
            self.status.setText("Compare needs two probes of this clip: run another (say with "
                                "an adapter or another model), then Compare….")
            return
        other = next(p for p in probes if p != self.result.run_id)
        open_probe_compare(self.window(), self.project, probes, self.result.run_id, other)

    def shutdown(self) -> None:
        self._stop_work()
        self.adapter_picker.shutdown()

    def _stop_work(self) -> None:
        if self.job is not None:
            self.job.detach()
            self.job = None
        if self.jobs is not None:
            self.jobs.release()  # the last user of the worker stops it, freeing the model
            self.jobs = None
        self.runner.close()
