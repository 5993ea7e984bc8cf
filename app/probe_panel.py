"""The Probe tab: one clip under MMA-Bench's scenarios x prompts, answered by a model.

The model runs in the model worker process (`WorkerClient.probe`); cells stream in as they are
written to SQLite and the window never waits. Reading the screen: each cell is the predicted
label and its probability, green when right, red when wrong, outlined when the answer flipped
from the aligned clip's; the line under the matrix says which modality the model relied on.
Past probes of the clip reopen from the database exactly as they were.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mmla_app import settings
from mmla_app.adapter_picker import AdapterPicker
from mmla_app.probe_options import ProbeOptions
from mmla_app.workers import Runner
from mmla_core.probe.matrix import DEFAULT_PROMPTS, DEFAULT_SCENARIOS, ProbeCell, ProbeResult

RIGHT, WRONG = QColor("#d9f2e1"), QColor("#f8d7d4")
POLL_MS = 50
BAR_WIDTH = 20


MODALITY_PENS = (("video", "#2563eb"), ("audio", "#16a34a"), ("text", "#d97706"))


def _attention_plot(parent: QWidget):
    import pyqtgraph as pg

    plot = pg.PlotWidget(parent, background="w")
    plot.setMinimumHeight(150)
    plot.setLabel("bottom", "layer")
    plot.setLabel("left", "attention share")
    plot.setYRange(0, 1)
    plot.addLegend(offset=(-10, 10))
    plot.hide()
    return plot


def load_choices(store, clip_id: int) -> dict:
    """Worker job: registered models, the clip's tasks (with their default prompt texts), its
    past probes and its existing variants."""
    from mmla_core.models.prompting import default_template
    from mmla_core.store.catalog import get_clip, tasks_for_dataset, variant_descendants

    clip = get_clip(store, clip_id)
    found = [t for _, t in tasks_for_dataset(store, clip["dataset_id"])] if clip else []
    tasks = [t.name for t in found]
    defaults = {t.name: {k: default_template(t, k) for k in DEFAULT_PROMPTS} for t in found}
    variants = [{"id": r["id"], "external_id": r["external_id"],
                 "label": json.loads(r["recipe_json"] or "{}").get("type", "")}
                for r in (variant_descendants(store, clip_id) if clip else [])
                if r["id"] != clip_id]
    models = [(r["name"], r["path"]) for r in store.query("SELECT name, path FROM models "
                                                          "ORDER BY id")]
    probes = [r["id"] for r in store.query(
        "SELECT id FROM runs WHERE kind = 'probe' AND "
        "json_extract(settings_json, '$.probe.clip_id') = ? ORDER BY id DESC", (clip_id,))]
    return {"tasks": tasks, "models": models, "probes": probes, "defaults": defaults,
            "variants": variants}


def write_scenario(store, clip_id: int, scenario: str, seed: int) -> int:
    """Worker job: the scenario as a real variant clip (written once, then reused)."""
    from mmla_core.variants.presets import MMABENCH
    from mmla_core.variants.store_ops import create_variant

    steps = next(s.steps for s in MMABENCH if s.key == scenario)
    return clip_id if not steps else create_variant(store, clip_id, steps, seed=seed).clip_id


def load_result(store, run_id: int) -> ProbeResult:
    from mmla_core.probe.matrix import load_probe

    return load_probe(store, run_id)


class ProbePanel(QWidget):
    probe_finished = Signal(int)  # run id
    play_requested = Signal(int)  # a clip or variant id to show in the player
    checks_answered = Signal(int)  # the clip whose checks the model answered

    def __init__(self, db_path: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.runner = Runner(self.db_path)  # no Qt parent: outlives the panel until jobs end
        self.clip_id: int | None = None
        self.client = None
        self.cells: dict[tuple[str, str], ProbeCell] = {}
        self.result: ProbeResult | None = None
        self.row_keys: list[str] = list(DEFAULT_SCENARIOS)  # matrix rows (scenario or variant)
        self.prompt_keys: list[str] = list(DEFAULT_PROMPTS)
        self._defaults: dict[str, dict] = {}  # task -> default prompt texts
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self._poll)
        self._build()

    def _build(self) -> None:
        self.model_combo, self.task_combo, self.past_combo = (QComboBox(self) for _ in range(3))
        self.past_combo.activated.connect(self._open_past)
        self.run_button = QPushButton("Run probe", self, clicked=self.run_probe)
        self.cancel_button = QPushButton("Cancel", self, clicked=self.cancel, enabled=False)
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
        self.attention_plot = _attention_plot(self)
        self.options = ProbeOptions(self)
        self.scenario_boxes, self.prompt_boxes = (self.options.scenario_boxes,
                                                  self.options.prompt_boxes)
        self.task_combo.currentIndexChanged.connect(self._task_changed)
        self.set_button = QPushButton("Over a set of clips…", self, clicked=self.open_set)
        self.set_button.setToolTip("MMA-Bench's table and per-layer Cohen's d over the browser's "
                                   "selection or a dataset split; runs the missing probes")
        self.adapter_picker = AdapterPicker(self.db_path, self)
        self.matrix = QTableWidget(len(DEFAULT_SCENARIOS), len(DEFAULT_PROMPTS), self)
        self.matrix.setHorizontalHeaderLabels([p.replace("_", " ") for p in DEFAULT_PROMPTS])
        self.matrix.setVerticalHeaderLabels([s.replace("_", " ") for s in DEFAULT_SCENARIOS])
        self.matrix.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.matrix.currentCellChanged.connect(lambda row, col, *_: self._show_bars(row, col))
        self.matrix.cellDoubleClicked.connect(self.play_scenario)
        self.matrix.setToolTip("Double-click a cell to play that scenario")
        self.bars = QLabel(self, objectName="muted", wordWrap=True)
        self.bars.setTextFormat(Qt.TextFormat.PlainText)
        self.bars.setStyleSheet("font-family: monospace;")
        self.reliance = QLabel("Pick a model and a task, then Run probe.", self, wordWrap=True)
        self.status = QLabel(self, objectName="muted", wordWrap=True)
        export_csv = QPushButton("CSV…", self, clicked=self.export_csv)
        export_png = QPushButton("PNG…", self, clicked=self.export_png)
        layout = QVBoxLayout(self)
        for widgets in ((QLabel("Model"), self.model_combo), (QLabel("Task"), self.task_combo),
                        (QLabel("Adapter"), self.adapter_picker),
                        (self.options,),
                        (self.run_button, self.cancel_button, self.attention_box),
                        (self.checks_button, self.set_button),
                        (QLabel("Past probes"), self.past_combo, export_csv, export_png)):
            line = QHBoxLayout()
            for widget in widgets:
                line.addWidget(widget, 1 if isinstance(widget, QComboBox | ProbeOptions)
                               else 0)
            layout.addLayout(line)
        for widget in (self.matrix, self.reliance, self.bars, self.attention_plot, self.status):
            layout.addWidget(widget, 1 if widget is self.matrix else 0)

    # --- context ------------------------------------------------------------------------------

    def set_context(self, db_path: Path, _annotator: str = "") -> None:
        self._stop_work()
        self.db_path = Path(db_path)
        self.runner = Runner(self.db_path)
        self.adapter_picker.set_db_path(self.db_path)
        self.adapter_picker.reload()
        self.set_clip(None)

    def set_clip(self, clip_id: int | None) -> None:
        if self.client is not None and self.client.busy:
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
        from mmla_core.models.worker import WorkerClient

        if self.client is None:
            self.client = WorkerClient(self.db_path)
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
        self.client.probe(self.clip_id, task, model=model, scenarios=scenarios, prompts=prompts,
                          attention=self.attention_box.isChecked(),
                          templates=self.options.templates(), variants=variants,
                          **({"adapter_path": adapter} if adapter else {}),
                          **settings.model_load_kwargs())
        self._started("probe")

    def run_model_checks(self) -> None:
        model = self.model_combo.currentData()
        if self.clip_id is None or not model:
            self.status.setText("Pick a clip and a model first.")
            return
        from mmla_core.models.worker import WorkerClient

        if self.client is None:
            self.client = WorkerClient(self.db_path)
        self.client.model_checks([self.clip_id], model=model, **settings.model_load_kwargs())
        self._started("checks")

    def _started(self, job: str) -> None:
        self._job = job
        self.status.setText("Loading the model in the worker process…")
        for button in (self.run_button, self.checks_button):
            button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.timer.start()

    def cancel(self) -> None:
        if self.client is not None:
            self.client.cancel()
            self.status.setText("Cancelling after the current row…")

    def _poll(self) -> None:
        for event in self.client.poll():
            kind = event["type"]
            if kind == "cell":
                self._add_cell(ProbeCell(**event["cell"]))
            elif kind in ("finished", "error", "crashed"):
                self._done(event)

    def _done(self, event: dict) -> None:
        self.timer.stop()
        job, self._job = self._job, ""
        for button in (self.run_button, self.checks_button):
            button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if event["type"] != "finished":
            self.status.setText(f"{job.capitalize()} failed: {event.get('message', event)}")
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
        self.matrix.setVerticalHeaderLabels([titles.get(r, r.replace("_", " ")) for r in rows])
        self.matrix.setHorizontalHeaderLabels([p.replace("_", " ") for p in prompts])

    def _clear(self) -> None:
        self.cells, self.result = {}, None
        self.matrix.clearContents()
        self.bars.clear()

    def _add_cell(self, cell: ProbeCell) -> None:
        self.cells[(cell.scenario, cell.prompt)] = cell
        if cell.scenario not in self.row_keys or cell.prompt not in self.prompt_keys:
            return
        row, col = self.row_keys.index(cell.scenario), self.prompt_keys.index(cell.prompt)
        aligned = self.cells.get(("aligned", cell.prompt))
        flipped = aligned is not None and cell.scenario != "aligned" and \
            aligned.predicted != cell.predicted
        item = QTableWidgetItem(f"{'⇄ ' if flipped else ''}{cell.predicted}  "
                                f"{cell.p_predicted:.2f}")
        if cell.correct is not None:
            item.setBackground(QBrush(RIGHT if cell.correct else WRONG))
        item.setToolTip(f"gold: {cell.gold}\nP(gold): {cell.p_gold}\n"
                        f"{'flipped from the aligned answer' if flipped else ''}")
        self.matrix.setItem(row, col, item)
        self.status.setText(f"{len(self.cells)} of {self._expected} cells")

    def show_result(self, result: ProbeResult) -> None:
        from mmla_core.probe.reliance import reliance_profile

        self._clear()
        self.result = result
        self._layout_matrix(list(result.scenarios), list(result.prompts),
                            {k: result.row_title(k) for k in result.variants})
        self.options.show_templates(result.templates)
        for cell in result.cells:
            self._add_cell(cell)
        profile = reliance_profile(result)
        drops = ", ".join(f"{m} {v:+.3f}" if v is not None else f"{m} —"
                          for m, v in profile.drop.items())
        relied = profile.relied_on or "no single modality"
        self.reliance.setText(f"Relied on: <b>{relied}</b>  (drop of P(gold) when it is "
                              f"perturbed: {drops}; gold: {result.gold})")
        self.matrix.setCurrentCell(0, 0)

    def _show_bars(self, row: int, col: int) -> None:
        if row < 0 or col < 0:
            return
        if row >= len(self.row_keys) or col >= len(self.prompt_keys):
            return
        cell = self.cells.get((self.row_keys[row], self.prompt_keys[col]))
        self._show_attention(cell)
        if cell is None:
            self.bars.clear()
            return
        width = max(len(label) for label in cell.scores)
        self.bars.setText("\n".join(
            f"{label:<{width}} {'█' * round(p * BAR_WIDTH):<{BAR_WIDTH}} {p:.3f}"
            f"{'  ← gold' if label == cell.gold else ''}"
            for label, p in sorted(cell.scores.items(), key=lambda kv: -kv[1])[:10]))

    def play_scenario(self, row: int, _col: int = 0) -> None:
        """Show the cell's scenario in the player, writing it as a variant clip if needed."""
        if self.clip_id is None or not 0 <= row < len(self.row_keys):
            return
        key = self.row_keys[row]
        if key.startswith("variant:"):  # an existing variant clip plays as it is
            self.play_requested.emit(int(key.split(":", 1)[1]))
            return
        self.status.setText(f"Preparing {key.replace('_', ' ')}…")
        self.runner.submit(write_scenario, self.clip_id, key, 0,
                           on_success=self.play_requested.emit,
                           on_error=lambda exc: self.status.setText(f"Cannot play: {exc}"))

    def _show_attention(self, cell: ProbeCell | None) -> None:
        """Layer x modality: the share of the answer position's attention on each modality."""
        self.attention_plot.clear()
        shares = cell.attention if cell is not None else None
        self.attention_plot.setVisible(bool(shares))
        if not shares:
            return
        layers = list(range(len(shares)))
        for column, (name, colour) in enumerate(MODALITY_PENS):
            self.attention_plot.plot(layers, [layer[column] for layer in shares], name=name,
                                     pen=colour, symbol="o", symbolSize=5, symbolBrush=colour)

    def _open_past(self, _index: int) -> None:
        run_id = self.past_combo.currentData()
        if run_id is not None:
            self.runner.submit(load_result, run_id, on_success=self.show_result)

    def open_set(self) -> None:
        """The set view over the window's browser selection (when there is one)."""
        from mmla_app.probe_set_dialog import open_probe_set

        open_probe_set(self.window(), self.db_path, model=self.model_combo.currentData(),
                       task=self.task_combo.currentData())

    # --- export -------------------------------------------------------------------------------

    def export_csv(self) -> None:
        from mmla_core.probe.export import probe_to_csv

        if self.result is not None:
            name = f"probe-{self.result.run_id}.csv"
            path, _ = QFileDialog.getSaveFileName(self, "Export probe", name, "CSV (*.csv)")
            if path:
                probe_to_csv(self.result, path)

    def export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export probe picture", "probe.png",
                                              "PNG (*.png)")
        if path:
            self.grab().save(path)

    def shutdown(self) -> None:
        self._stop_work()
        self.adapter_picker.shutdown()

    def _stop_work(self) -> None:
        self.timer.stop()
        if self.client is not None:
            self.client.stop(timeout=0)
            self.client = None
        self.runner.shutdown()
