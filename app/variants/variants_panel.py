"""The variants panel: build modality-conflict variants of the selected clip, list, play, delete.

Reads are runner jobs on the project's runner (each with its own Store on the project file);
every write is an op (mmla_app.ops.variants) run as a runner job too, so the GUI thread never
decodes, encodes or queries, and its change record reaches the window (the browser lists a new
variant, drops a deleted one). A dataset batch reports progress through the GUI-thread relay
(runtime/gui_calls: the batch may outlive the panel) and stops on Cancel. Variants made or
deleted elsewhere (the CLI, another window) show here as they land.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mmla_app.ops import variants as ops
from mmla_app.ops.op import run_job
from mmla_app.runtime.gui_calls import gui_callback
from mmla_app.variants.variant_texts import (
    created_text,
    deleted_message,
    failure_text,
    family_text,
    report_text,
)
from mmla_core import changes as areas
from mmla_core.store.catalog import get_clip
from mmla_core.variants.plan import DatasetContext
from mmla_core.variants.recipes import RECIPES, Param, recipe_title
from mmla_core.variants.store_ops import describe_variants

STATE_CHANNEL = "variants_state"
RANDOM_DONOR = "random, different label (seeded)"
RANGED = ("av_offset", "audio_noise")
SPIN_LIMIT = 1_000_000


# --- background reads (worker threads; no widgets here) ------------------------------------------

def load_state(store, clip_id: int) -> dict:
    """The clip, its dataset's possible donors and its variants (with badges)."""
    clip = get_clip(store, clip_id)
    if clip is None:
        return {"clip": None, "donors": [], "variants": []}
    ctx = DatasetContext(store, clip["dataset_id"])
    donors = [(c.id, c.external_id, c.label) for c in ctx.sources if c.id != clip_id]
    parent_id = clip.get("parent_clip_id")
    parent = get_clip(store, parent_id) if parent_id else None
    return {"clip": clip, "donors": donors, "variants": describe_variants(store, clip_id),
            # a variant's family: the clip it was made from and that clip's other variants
            "parent": parent, "siblings": describe_variants(store, parent_id) if parent else []}


# --- the panel -----------------------------------------------------------------------------------

class VariantsPanel(QWidget):
    """Recipes, donor, range and seed in; the selected clip's variants out.

    Signals: `variants_changed(parent_id)` after a create, delete or batch; `play_requested(
    clip_id)` when the user asks to play a variant; `job_failed(message)` on any error.
    """

    variants_changed = Signal(int)
    play_requested = Signal(int)
    job_failed = Signal(str)
    state_loaded = Signal(int)  # number of variants listed

    def __init__(self, project, parent: QWidget | None = None):
        """`project`: the open Project (its runner, its change bus; it outlives the panel)."""
        super().__init__(parent)
        self.project = project
        self.runner = project.runner
        self._db_path = project.db_path
        self.clip_id: int | None = None
        self.dataset_id: int | None = None
        self.range: tuple[float, float] | None = None
        self._busy = 0
        self._show_count = True  # False while the status line shows a job's outcome
        self._batch_running = False
        self._cancel = threading.Event()
        self._build()
        self.set_clip(None)
        project.bus.listen(self._on_changes)

    def set_context(self, db_path, annotator: str) -> None:
        """Follow the window to another project file / annotator (the project already
        points there). Another file: what was in flight is dropped with the old file's
        results, and a batch of it stops (run it again to resume)."""
        if db_path != self._db_path:
            self._db_path = db_path
            self._cancel.set()
            self._end_batch_ui()
            self._busy = 0
        self.set_clip(None)

    def _on_changes(self, changes, initiator) -> None:
        """Variants made or deleted elsewhere (the CLI, a dataset delete): list them now."""
        if initiator is not self and changes.touches(areas.DATASETS, areas.CLIPS):
            self.refresh()

    # --- construction ---------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._build_recipes())
        layout.addLayout(self._build_options())
        self.create_button = self._button("Create", "Build one variant from the checked "
                                          "recipes, applied in order", self._on_create)
        self.mmabench_button = self._button("MMA-Bench set", "Build the five MMA-Bench "
                                            "conflicts of this clip", self._on_mmabench)
        layout.addLayout(_hbox(self.create_button, self.mmabench_button))
        self.variant_list = QListWidget(self)
        self.variant_list.itemDoubleClicked.connect(self._on_play)
        self.variant_list.currentItemChanged.connect(self._update_buttons)
        layout.addWidget(self.variant_list, 1)
        self.play_button = self._button("Play", "Play the selected variant", self._on_play)
        self.delete_button = self._button("Delete", "Delete the variant and its file",
                                          self._on_delete)
        layout.addLayout(_hbox(self.play_button, self.delete_button))
        layout.addLayout(self._build_batch())
        self.status = QLabel(self, objectName="muted", wordWrap=True)
        layout.addWidget(self.status)

    def _button(self, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text, self)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _build_recipes(self) -> QGroupBox:
        box = QGroupBox("Recipes", self)
        grid = QGridLayout(box)
        self.checks: dict[str, QCheckBox] = {}
        self.param_widgets: dict[tuple[str, str], QWidget] = {}
        row = 0
        for recipe in RECIPES.values():
            check = QCheckBox(recipe_title(recipe.name), box)
            check.setToolTip(f"{recipe.summary}\n(recipe {recipe.name} in the CLI and in "
                             "stored recipes)")
            check.toggled.connect(self._update_buttons)
            self.checks[recipe.name] = check
            grid.addWidget(check, row, 0)
            column, text_params = 1, []
            for param in recipe.params:
                widget = self._param_widget(param, box)
                if widget is None:
                    continue
                self.param_widgets[(recipe.name, param.name)] = widget
                if isinstance(widget, QLineEdit):
                    text_params.append((param.name, widget))
                    continue
                grid.addWidget(QLabel(param.name, box), row, column)
                grid.addWidget(widget, row, column + 1)
                column += 2
            # free text (a caption) gets a line of its own under its recipe: in the last cell
            # of a row it was about 70 px wide at 1366x768
            for name, widget in text_params:
                row += 1
                grid.addWidget(QLabel(name, box), row, 1)
                grid.addWidget(widget, row, 2, 1, -1)  # to the right edge
            row += 1
        return box

    def _param_widget(self, param: Param, parent: QWidget) -> QWidget | None:
        """A spin box, combo or line edit for a parameter; donors and ranges are shared."""
        if param.kind == "clip" or param.name in ("start_s", "end_s"):
            return None
        if param.kind == "choice":
            widget = QComboBox(parent)
            widget.addItems(list(param.choices))
            widget.setCurrentText(str(param.default))
        elif param.kind == "int":
            widget = QSpinBox(parent)
            widget.setRange(int(param.minimum or -SPIN_LIMIT), int(param.maximum or SPIN_LIMIT))
            widget.setValue(int(param.default))
        elif param.kind == "float":
            widget = QDoubleSpinBox(parent)
            widget.setRange(param.minimum or -SPIN_LIMIT, param.maximum or SPIN_LIMIT)
            widget.setValue(float(param.default))
        else:
            widget = QLineEdit(str(param.default or ""), parent)
        widget.setToolTip(param.help)
        return widget

    def _build_options(self) -> QGridLayout:
        grid = QGridLayout()
        self.donor_combo = QComboBox(self)
        self.donor_combo.setToolTip("Donor clip for audio_swap and caption_misleading (replace)")
        grid.addWidget(QLabel("Donor", self), 0, 0)
        grid.addWidget(self.donor_combo, 0, 1, 1, 3)
        self.range_label = QLabel(self)
        self.clear_range_button = self._button("Clear", "Apply to the whole clip",
                                               lambda: self.set_range(None, None))
        grid.addWidget(QLabel("Range", self), 1, 0)
        grid.addWidget(self.range_label, 1, 1, 1, 2)
        grid.addWidget(self.clear_range_button, 1, 3)
        self.seed_spin = QSpinBox(self)
        self.seed_spin.setRange(0, 2**31 - 1)
        self.copy_labels_box = QCheckBox("Copy labels", self)
        self.copy_labels_box.setToolTip("Give new variants the clip's labels (for export)")
        grid.addWidget(QLabel("Seed", self), 2, 0)
        grid.addWidget(self.seed_spin, 2, 1)
        grid.addWidget(self.copy_labels_box, 2, 2, 1, 2)
        self.set_range(None, None)
        return grid

    def _build_batch(self) -> QHBoxLayout:
        self.batch_button = self._button("For dataset…", "Build the checked recipes (one "
                                         "variant each) for every clip of this dataset",
                                         self._on_batch)
        self.batch_progress = QProgressBar(self)
        self.batch_progress.setVisible(False)
        self.cancel_button = self._button("Cancel", "Stop the batch (run it again to resume)",
                                          lambda: self._cancel.set())
        self.cancel_button.setVisible(False)
        return _hbox(self.batch_button, self.batch_progress, self.cancel_button)

    # --- public API -----------------------------------------------------------------------------

    def set_clip(self, clip_id: int | None) -> None:
        """Show `clip_id`'s variants (None: nothing selected)."""
        self.clip_id = clip_id
        self._show_count = True
        self.variant_list.clear()
        if clip_id is None:
            self.dataset_id = None
            self.donor_combo.clear()
            self.status.setText("Select a clip to build its variants.")
        else:
            self.refresh()
        self._update_buttons()

    def set_range(self, t0: float | None, t1: float | None) -> None:
        """The time range (s) av_offset and audio_noise apply to; None, None = whole clip."""
        if t0 is None or t1 is None or t1 <= t0:
            self.range = None
            self.range_label.setText("whole clip")
        else:
            self.range = (float(t0), float(t1))
            self.range_label.setText(f"{t0:.2f}–{t1:.2f} s (av_offset, audio_noise)")
        self.clear_range_button.setEnabled(self.range is not None)

    def refresh(self) -> None:
        if self.clip_id is not None:
            self.runner.submit(load_state, self.clip_id, channel=STATE_CHANNEL,
                               on_success=self._on_state, on_error=self._on_load_error)

    def selected_steps(self) -> list[tuple[str, dict]]:
        """The checked recipes, in registry order, with the parameters set in the panel."""
        steps = []
        for name, check in self.checks.items():
            if not check.isChecked():
                continue
            params = {p: _value(w) for (r, p), w in self.param_widgets.items() if r == name}
            if RECIPES[name].param("donor_clip_id") is not None:
                params["donor_clip_id"] = self.donor_combo.currentData()
            if name in RANGED and self.range is not None:
                params["start_s"], params["end_s"] = self.range
            steps.append((name, params))
        return steps

    def shutdown(self) -> None:
        """Stop a batch (the window is closing; the project drops pending results)."""
        self._cancel.set()
        self.project.bus.forget(self._on_changes)

    # --- results --------------------------------------------------------------------------------

    def _on_state(self, state: dict) -> None:
        clip = state["clip"]
        if clip is None or clip["id"] != self.clip_id:
            return
        self.dataset_id = int(clip["dataset_id"])
        current = self.donor_combo.currentData()
        self.donor_combo.clear()
        self.donor_combo.addItem(RANDOM_DONOR, None)
        for clip_id, external_id, label in state["donors"]:
            self.donor_combo.addItem(f"{clip_id} · {external_id} · {label or '—'}", clip_id)
        self.donor_combo.setCurrentIndex(max(self.donor_combo.findData(current), 0))
        self._fill_list(state)
        if self._show_count and not self._busy:
            self.status.setText(family_text(state))
        self._update_buttons()
        self.state_loaded.emit(len(state["variants"]))

    def _fill_list(self, state: dict) -> None:
        """A source clip: its variants. A variant: its parent, its siblings (itself marked)
        and its own variants, so the tab never goes empty on a variant. The row the person
        picked stays picked through a reload (clips changed elsewhere), while it is listed."""
        current = self.variant_list.currentItem()
        picked = current.data(Qt.ItemDataRole.UserRole) if current is not None else None
        self.variant_list.clear()
        clip, parent = state["clip"], state.get("parent")
        if parent is not None:
            self._add_item(parent["id"], f"↑ parent #{parent['id']}  {parent['external_id']}",
                           parent["external_id"], is_variant=False)
            for sibling in state["siblings"]:
                mark = "   ← this clip" if sibling["id"] == clip["id"] else ""
                self._add_item(sibling["id"], f"#{sibling['id']}  {sibling['badge']}{mark}",
                               f"{sibling['external_id']}\n{sibling['path'] or ''}")
        indent = "      ↳ " if parent is not None else ""
        for variant in state["variants"]:
            self._add_item(variant["id"], f"{indent}#{variant['id']}  {variant['badge']}",
                           f"{variant['external_id']}\n{variant['path'] or ''}")
        for row in range(self.variant_list.count() if picked is not None else 0):
            if self.variant_list.item(row).data(Qt.ItemDataRole.UserRole) == picked:
                self.variant_list.setCurrentRow(row)
                break

    def _add_item(self, clip_id: int, text: str, tip: str, *, is_variant: bool = True) -> None:
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, clip_id)
        item.setData(Qt.ItemDataRole.UserRole + 1, is_variant)  # only variants can be deleted
        item.setToolTip(tip)
        self.variant_list.addItem(item)

    def _on_load_error(self, exc: Exception) -> None:
        self.status.setText(f"Could not load the variants: {exc}")
        self.job_failed.emit(str(exc))

    def _on_error(self, exc: Exception) -> None:
        self._set_busy(-1)
        self._show_count = False
        self.status.setText(f"Failed: {failure_text(exc)}")
        self.job_failed.emit(str(exc))

    def _done(self, parent_id: int, message: str) -> None:
        self._set_busy(-1)
        self._show_count = False
        self.status.setText(message)
        self.refresh()
        self.variants_changed.emit(parent_id)

    # --- actions --------------------------------------------------------------------------------

    def _on_create(self) -> None:
        steps, clip_id = self.selected_steps(), self.clip_id
        if not steps or clip_id is None:
            return
        self._set_busy(1, "Building the variant…")
        self._run(ops.create_variant(clip_id, steps, self.seed_spin.value(),
                                     self.copy_labels_box.isChecked()),
                  lambda made: self._done(clip_id, created_text(made)))

    def _on_mmabench(self) -> None:
        clip_id = self.clip_id
        if clip_id is None:
            return
        self._set_busy(1, "Building the MMA-Bench set…")
        self._run(ops.make_mmabench_set(clip_id, self.seed_spin.value(),
                                        self.copy_labels_box.isChecked()),
                  lambda report: self._done(clip_id, report_text(report)))

    def _on_delete(self) -> None:
        item, clip_id = self.variant_list.currentItem(), self.clip_id
        if item is None or clip_id is None:
            return
        variant_id = int(item.data(Qt.ItemDataRole.UserRole))
        self._set_busy(1, f"Deleting variant {variant_id}…")
        self._run(ops.delete_variant(variant_id),
                  lambda removal: self._done(clip_id, deleted_message(variant_id, removal)))

    def _run(self, op, on_success) -> None:
        run_job(self.project, op, initiator=self, on_success=on_success,
                on_error=self._on_error)

    def _on_play(self, *_args) -> None:
        item = self.variant_list.currentItem()
        if item is not None:
            self.play_requested.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _on_batch(self) -> None:
        steps = self.selected_steps()
        if not steps or self.dataset_id is None or self._batch_running:
            return
        self._cancel = threading.Event()  # a stopped batch's event stays set
        self.batch_progress.setRange(0, 0)
        self.batch_progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self._batch_running = True
        self._set_busy(1, "Building variants for the dataset…")
        parent_id = self.clip_id or 0
        op = ops.make_dataset_variants(self.dataset_id, [[step] for step in steps],
                                       self.seed_spin.value(),
                                       progress=gui_callback(self, self._on_batch_progress),
                                       cancel=self._cancel)
        run_job(self.project, op, initiator=self,
                on_success=lambda report: self._batch_done(parent_id, report_text(report)),
                on_error=self._batch_failed)

    def _batch_done(self, parent_id: int, message: str) -> None:
        self._end_batch_ui()
        self._done(parent_id, message)

    def _batch_failed(self, exc: Exception) -> None:
        self._end_batch_ui()
        self._on_error(exc)

    def _on_batch_progress(self, done: int, total: int) -> None:
        self.batch_progress.setRange(0, max(total, 1))
        self.batch_progress.setValue(done)

    def _end_batch_ui(self) -> None:
        self._batch_running = False
        self.batch_progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._update_buttons()

    def _set_busy(self, delta: int, message: str | None = None) -> None:
        self._busy = max(0, self._busy + delta)
        if message:
            self.status.setText(message)
        self._update_buttons()

    def _update_buttons(self, *_args) -> None:
        has_clip = self.clip_id is not None
        idle = self._busy == 0
        any_checked = any(c.isChecked() for c in self.checks.values())
        self.create_button.setEnabled(has_clip and idle and any_checked)
        self.mmabench_button.setEnabled(has_clip and idle)
        self.batch_button.setEnabled(has_clip and idle and any_checked
                                     and not self._batch_running)
        item = self.variant_list.currentItem()
        self.play_button.setEnabled(item is not None)
        self.delete_button.setEnabled(item is not None and idle
                                      and bool(item.data(Qt.ItemDataRole.UserRole + 1)))


def _hbox(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    for widget in widgets:
        row.addWidget(widget, 1 if isinstance(widget, QProgressBar) else 0)
    return row


def _value(widget: QWidget):
    if isinstance(widget, QComboBox):
        return widget.currentText()
    if isinstance(widget, QSpinBox | QDoubleSpinBox):
        return widget.value()
    return widget.text()


