"""The launch form of a LoRA fine-tune: every `TrainConfig` field, as widgets.

It holds no job state: `config()` builds the TrainConfig (raising TrainConfigError with every
problem of the values), `set_config()` fills the widgets from one (a loaded YAML, a past job).
Choices (models, datasets, their tasks and splits) come from background jobs run by the dialog.
Checking two tasks or more switches the mode to instruction tuning (MMLA's IT: one adapter on
the mixed tasks); a single task goes back to SFT.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mmla_app.widgets.form_choices import load_dataset_info, refill_keeping, row
from mmla_app.widgets.label_choice import LabelChoice
from mmla_core.store.catalog import find_dataset
from mmla_core.store.form_choices import attached_task_names, split_counts_everywhere
from mmla_core.train.config import (
    SCHEDULERS,  # every scheduler TrainConfig accepts
    TrainConfig,
    TrainConfigError,
)

ALL_DATASETS = ""  # dataset combo data: every dataset having the task
GONE_HERE = " (no longer in this dataset)"
MODE_ITEMS = (("SFT: one task", "sft"), ("Instruction tuning: several tasks", "it"),
              ("Modality alignment (MMA-Bench)", "alignment"))
TARGET_PRESETS = (("q, v (MMA-Bench)", "q_proj, v_proj"),
                  ("all linear", "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj"))
DEVICES = ("auto", "cpu", "cuda", "cuda:0", "cuda:1")
SHARDING_CHOICES = (("none: every GPU holds the whole model (data parallel)", "none"),
                    ("fsdp: weights sharded over the GPUs (FSDP)", "fsdp"),
                    ("zero3: DeepSpeed ZeRO-3 (MMLA's recipe)", "zero3"),
                    ("zero3_offload: ZeRO-3, weights in CPU RAM (MMLA's 72B runs)",
                     "zero3_offload"))


def load_splits(store, dataset: str | None) -> dict:
    """Worker job: a dataset's splits (clip counts) and tasks; every dataset's for None; none
    (`missing`) for a dataset the project no longer has. `dataset` says whose they are."""
    if dataset is None:
        return {"dataset": None, "splits": split_counts_everywhere(store),
                "tasks": attached_task_names(store)}
    row = find_dataset(store, dataset)
    if row is None:
        return {"dataset": dataset, "splits": [], "tasks": [], "missing": True}
    return {"dataset": dataset, **load_dataset_info(store, int(row["id"]))}


def _refill(combo: QComboBox, items: list[tuple[str, object]], what: str) -> list[str]:
    """`refill_keeping`; a chosen item the project lost, named in the returned list."""
    if not refill_keeping(combo, items):
        return []
    return [f"{what} {combo.currentData()!r} is no longer in the project"]


def _keep_gone(entries: list[tuple[str, str]], checked: list[str], what: str) -> list[str]:
    """Checked keys the new `entries` lack: appended to them, marked; their names."""
    listed = {key for _text, key in entries}
    lost = [key for key in checked if key not in listed]
    entries.extend((f"{key or '(unsplit)'}{GONE_HERE}", key) for key in lost)
    return [f"{what} {key!r} is no longer in this dataset" for key in lost]


def _checklist(parent: QWidget, height: int) -> QListWidget:
    widget = QListWidget(parent)
    widget.setFixedHeight(height)
    return widget


def _checked(widget: QListWidget) -> list[str]:
    return [widget.item(i).data(Qt.ItemDataRole.UserRole) for i in range(widget.count())
            if widget.item(i).checkState() == Qt.CheckState.Checked]


def _fill_checklist(widget: QListWidget, entries: list[tuple[str, str]], checked: set[str]) -> None:
    widget.blockSignals(True)
    widget.clear()
    for text, key in entries:
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, key)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if key in checked else Qt.CheckState.Unchecked)
        widget.addItem(item)
    widget.blockSignals(False)


class TrainForm(QWidget):
    """Every setting of a training run. `dataset_changed(id or None)`, `changed()` on any edit."""

    dataset_changed = Signal(object)
    changed = Signal()
    mismatches = Signal(list)  # what of a loaded config the form could not show (set_config)
    gone = Signal(list)  # chosen items the project lost meanwhile (kept chosen, marked)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._splits_of: object = ()  # the dataset whose tasks and splits are listed
        self._pending: object | None = None  # a config to apply once its choices are in
        self._mismatches: list[str] = []  # collected while a config is applied
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for title, build in (("Data", self._build_data), ("LoRA", self._build_lora),
                             ("Optimisation", self._build_optimisation),
                             ("Media and run", self._build_run)):
            box = QGroupBox(title, self)
            form = QFormLayout(box)
            for label, widget in build():
                form.addRow(label, widget)
            layout.addWidget(box)
        layout.addStretch(1)
        for combo in self.findChildren(QComboBox):  # long items must not widen the form
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)

    # --- construction -------------------------------------------------------------------------

    def _build_data(self) -> list[tuple[str, QWidget]]:
        self.name_edit = QLineEdit(self, placeholderText="default: <tasks>-<mode>")
        self.model_combo = QComboBox(self)
        self.dataset_combo = QComboBox(self)
        self.dataset_combo.currentIndexChanged.connect(self._on_dataset)
        self.task_list = _checklist(self, 84)
        self.task_list.itemChanged.connect(self._on_tasks)
        self.mode_combo = QComboBox(self)
        for text, key in MODE_ITEMS:
            self.mode_combo.addItem(text, key)
        self.train_splits = _checklist(self, 60)
        self.dev_combo, self.test_combo = QComboBox(self), QComboBox(self)
        self.modality_combo = QComboBox(self)
        for text, key in (("auto (family default: video + audio for Omni)", "auto"),
                          ("video only", "video"), ("text only", "text")):
            self.modality_combo.addItem(text, key)
        self.label_choice = LabelChoice(self)
        self.label_choice.changed.connect(self.changed)
        return [("Name", self.name_edit), ("Model", self.model_combo),
                ("Dataset", self.dataset_combo), ("Tasks", self.task_list),
                ("Mode", self.mode_combo), ("Train splits", self.train_splits),
                ("Dev / test", row(self.dev_combo, self.test_combo)),
                ("Input", self.modality_combo), ("Labels", self.label_choice)]

    def _build_lora(self) -> list[tuple[str, QWidget]]:
        self.rank_spin = QSpinBox(self, minimum=1, maximum=1024, value=8)
        self.alpha_spin = QSpinBox(self, minimum=1, maximum=4096, value=16)
        self.dropout_spin = QDoubleSpinBox(self, minimum=0.0, maximum=0.9, value=0.05,
                                           singleStep=0.05, decimals=2)
        self.targets_edit = QLineEdit("q_proj, v_proj", self)
        self.targets_edit.setToolTip("Module names (regex) of the language model that get LoRA")
        self.targets_preset = QComboBox(self)
        self.targets_preset.addItem("preset…", None)
        for text, value in TARGET_PRESETS:
            self.targets_preset.addItem(text, value)
        self.targets_preset.activated.connect(self._on_target_preset)
        return [("Rank / alpha", row(self.rank_spin, self.alpha_spin)),
                ("Dropout", self.dropout_spin),
                ("Target modules", row(self.targets_edit, self.targets_preset))]

    def _build_optimisation(self) -> list[tuple[str, QWidget]]:
        self.lr_edit = QLineEdit("1e-4", self)
        self.scheduler_combo = QComboBox(self)
        self.scheduler_combo.addItems(SCHEDULERS)
        self.warmup_spin = QDoubleSpinBox(self, minimum=0.0, maximum=0.9, value=0.1,
                                          singleStep=0.05, decimals=2)
        self.epochs_spin = QDoubleSpinBox(self, minimum=0.0, maximum=1000.0, value=1.0,
                                          decimals=2)
        self.steps_spin = QSpinBox(self, minimum=-1, maximum=10_000_000, value=-1)
        self.steps_spin.setSpecialValueText("by epochs")
        self.batch_spin = QSpinBox(self, minimum=1, maximum=4096, value=1)
        self.accum_spin = QSpinBox(self, minimum=1, maximum=4096, value=1)
        self.seed_spin = QSpinBox(self, minimum=0, maximum=2**31 - 1, value=42)
        self.length_note = QLabel(self, wordWrap=True, objectName="muted")
        for spin in (self.epochs_spin, self.steps_spin):
            spin.valueChanged.connect(self._say_length)
        self._say_length()
        return [("Learning rate", row(self.lr_edit, self.scheduler_combo)),
                ("Warmup ratio", self.warmup_spin),
                ("Epochs / max steps", row(self.epochs_spin, self.steps_spin)),
                ("", self.length_note),
                ("Batch × accumulation", row(self.batch_spin, self.accum_spin)),
                ("Seed", self.seed_spin)]

    def _say_length(self, *_args) -> None:
        """Which of the two decides the run's length (max steps wins when set)."""
        steps = self.steps_spin.value()
        if steps > 0:
            self.length_note.setText(f"Max steps wins: the run stops after {steps} steps, "
                                     "whatever the epochs say.")
        else:
            self.length_note.setText(f"Runs {self.epochs_spin.value():g} epoch(s); set max "
                                     "steps to stop earlier (it wins over epochs).")

    def _build_run(self) -> list[tuple[str, QWidget]]:
        self.frames_spin = QSpinBox(self, minimum=1, maximum=256, value=8)
        self.fps_spin = QDoubleSpinBox(self, minimum=0.1, maximum=30.0, value=2.0, decimals=1)
        self.pixels_spin = QSpinBox(self, minimum=784, maximum=4096 * 4096, value=128 * 28 * 28,
                                    singleStep=28 * 28)
        self.eval_spin = QSpinBox(self, minimum=1, maximum=1_000_000, value=50)
        self.save_spin = QSpinBox(self, minimum=1, maximum=1_000_000, value=50)
        self.device_combo = QComboBox(self, editable=True)
        self.device_combo.addItems(DEVICES)
        self.sharding_combo = QComboBox(self)
        for text, value in SHARDING_CHOICES:
            self.sharding_combo.addItem(text, value)
        self.gpus_spin = QSpinBox(self, minimum=1, maximum=1024, value=1, suffix=" GPUs")
        self.gpus_spin.setToolTip("GPUs the run spreads over (all machines together): the "
                                  "memory check and the exported torchrun line use it")
        self.variants_check = QCheckBox("Evaluate on the test clips' variants afterwards", self)
        self.output_edit = QLineEdit(self, placeholderText="default: beside the project")
        self.output_edit.setToolTip("Where the adapter, checkpoints and train.log go. Empty: "
                                    "<project>.train/<job>-<name> next to the project file. "
                                    "A new run needs an empty or new folder.")
        output_browse = QPushButton("Browse…", self, clicked=self._browse_output)
        return [("Frames / fps", row(self.frames_spin, self.fps_spin)),
                ("Max pixels", self.pixels_spin),
                ("Eval / save every", row(self.eval_spin, self.save_spin)),
                ("Device", self.device_combo),
                ("Sharding", row(self.sharding_combo, self.gpus_spin)), ("", self.variants_check),
                ("Output folder", row(self.output_edit, output_browse))]

    def _browse_output(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder of the run",
                                                  self.output_edit.text())
        if folder:
            self.output_edit.setText(folder)

    # --- choices ------------------------------------------------------------------------------

    def set_choices(self, choices: dict) -> None:
        """Models and datasets (from `widgets.form_choices.load_choices`). The first fill picks
        the first dataset; a refill (the project changed meanwhile: a model added, a dataset
        imported or deleted) keeps every choice: new items are offered, a chosen item the
        project lost stays chosen, marked, and `gone` names it."""
        first = self.dataset_combo.count() == 0
        models = [(f"{m['name']} · {m['family']}"
                   f"{' (random weights)' if m['random_weights'] else ''}", m["name"])
                  for m in choices["models"]]
        gone = _refill(self.model_combo, models, "model")
        lost_source = self.label_choice.set_annotators(choices.get("annotators", []))
        gone += [lost_source] if lost_source else []
        self.dataset_combo.blockSignals(True)
        gone += _refill(self.dataset_combo, [("every dataset having the task", ALL_DATASETS),
                                             *((n, n) for _id, n in choices["datasets"])],
                        "dataset")
        if first:
            self.dataset_combo.setCurrentIndex(1 if choices["datasets"] else 0)
        self.dataset_combo.blockSignals(False)
        self._on_dataset()  # its tasks and splits again: set_splits keeps what is checked
        if gone:
            self.gone.emit(gone)

    def _on_dataset(self, _index: int = -1) -> None:
        self.dataset_changed.emit(self.dataset_combo.currentData() or None)

    def set_splits(self, info: dict) -> None:
        """A dataset's tasks and splits arrived: fill the lists, keeping what was checked. A
        reload of the dataset shown (the project changed meanwhile) keeps a checked task or
        split the dataset lost checked, marked, and `gone` names it."""
        same = info.get("dataset") == self._splits_of
        self._splits_of = info.get("dataset")
        tasks = _checked(self.task_list) or info["tasks"][:1]
        train = _checked(self.train_splits) or ["train"]
        task_entries = [(t, t) for t in info["tasks"]]
        split_entries = [(f"{s or '(unsplit)'} · {n} clips", s or "") for s, n in info["splits"]]
        gone: list[str] = []
        if same:
            gone += _keep_gone(task_entries, _checked(self.task_list), "task")
            gone += _keep_gone(split_entries, _checked(self.train_splits), "train split")
        _fill_checklist(self.task_list, task_entries, set(tasks))
        _fill_checklist(self.train_splits, split_entries, set(train))
        splits = [split or "" for split, _count in info["splits"]]
        for combo, default in ((self.dev_combo, "dev"), (self.test_combo, "test")):
            keep = combo.currentText() or default
            offered = [combo.itemText(i) for i in range(combo.count())]
            combo.clear()
            combo.addItems(splits or [default])
            if same and keep in offered and keep not in (splits or [default]):
                combo.addItem(keep)  # the person's choice stays; said below
                gone.append(f"{default} split {keep!r} is no longer in this dataset")
            combo.setCurrentIndex(max(combo.findText(keep), 0))
        if self._pending is not None:
            config, self._pending = self._pending, None
            self._apply_data(config)
        if gone and not info.get("missing"):  # a lost dataset is said once, by set_choices
            self.gone.emit(gone)
        self.changed.emit()

    def _on_tasks(self, _item=None) -> None:
        several = len(_checked(self.task_list)) > 1
        mode = self.mode_combo.currentData()
        if several and mode == "sft":
            self.mode_combo.setCurrentIndex(self.mode_combo.findData("it"))
        elif not several and mode == "it":
            self.mode_combo.setCurrentIndex(self.mode_combo.findData("sft"))
        self.changed.emit()

    def _on_target_preset(self, index: int) -> None:
        value = self.targets_preset.itemData(index)
        if value:
            self.targets_edit.setText(value)
        self.targets_preset.setCurrentIndex(0)

    # --- config <-> widgets -------------------------------------------------------------------

    def config(self):
        """The TrainConfig of the form; TrainConfigError lists every wrong value."""
        tasks, mode = _checked(self.task_list), self.mode_combo.currentData()
        try:
            learning_rate = float(self.lr_edit.text())
        except ValueError:
            raise TrainConfigError(
                f"learning rate {self.lr_edit.text()!r} is not a number (e.g. 1e-4)") from None
        targets = [t.strip() for t in self.targets_edit.text().split(",") if t.strip()]
        name = self.name_edit.text().strip() or "-".join([*tasks[:3], mode]).lower()
        return TrainConfig.from_dict({
            "name": name, "model": self.model_combo.currentData() or "", "tasks": tasks,
            "mode": mode, "dataset": self.dataset_combo.currentData() or None,
            "train_splits": _checked(self.train_splits), "dev_split": self.dev_combo.currentText(),
            "test_split": self.test_combo.currentText(),
            "modality": self.modality_combo.currentData(), "lora_rank": self.rank_spin.value(),
            "lora_alpha": self.alpha_spin.value(), "lora_dropout": self.dropout_spin.value(),
            "target_modules": targets, "learning_rate": learning_rate,
            "lr_scheduler": self.scheduler_combo.currentText(),
            "warmup_ratio": self.warmup_spin.value(), "epochs": self.epochs_spin.value(),
            "max_steps": self.steps_spin.value(), "batch_size": self.batch_spin.value(),
            "grad_accum": self.accum_spin.value(), "frames": self.frames_spin.value(),
            "fps": self.fps_spin.value(), "max_pixels": self.pixels_spin.value(),
            "seed": self.seed_spin.value(), "eval_every": self.eval_spin.value(),
            "save_every": self.save_spin.value(), "device": self.device_combo.currentText(),
            "sharding": self.sharding_combo.currentData(), "gpus": self.gpus_spin.value(),
            "eval_on_variants": self.variants_check.isChecked(),
            "output_dir": self.output_edit.text().strip(),
            **self.label_choice.selection(),
        })

    def set_config(self, config) -> None:
        """Fill every widget from a TrainConfig; tasks and splits once the dataset's are in.
        Then `mismatches` lists what the form could not take (a model or dataset not in this
        project, unknown tasks or splits), never silently replaced."""
        self._mismatches = []
        self.name_edit.setText(config.name)
        for combo, value, what in ((self.model_combo, config.model, "model"),
                                   (self.modality_combo, config.modality, "input"),
                                   (self.scheduler_combo, config.lr_scheduler, "scheduler")):
            self._choose(combo, value, what)
        for spin, value in ((self.rank_spin, config.lora_rank), (self.alpha_spin,
                            config.lora_alpha), (self.dropout_spin, config.lora_dropout),
                            (self.warmup_spin, config.warmup_ratio),
                            (self.epochs_spin, config.epochs), (self.steps_spin, config.max_steps),
                            (self.batch_spin, config.batch_size),
                            (self.accum_spin, config.grad_accum), (self.seed_spin, config.seed),
                            (self.frames_spin, config.frames), (self.fps_spin, config.fps),
                            (self.pixels_spin, config.max_pixels),
                            (self.eval_spin, config.eval_every),
                            (self.save_spin, config.save_every)):
            spin.setValue(value)
        self.targets_edit.setText(", ".join(config.target_modules))
        self.lr_edit.setText(f"{config.learning_rate:g}")
        self.device_combo.setCurrentText(config.device)
        self._choose(self.sharding_combo, config.sharding, "sharding")
        self.gpus_spin.setValue(config.gpus)
        self.variants_check.setChecked(config.eval_on_variants)
        self.output_edit.setText(config.output_dir)
        self.label_choice.set_selection({"labels": config.labels,
                                         "include_rejected": config.include_rejected,
                                         "only_accepted": config.only_accepted})
        self._pending = config
        index = self.dataset_combo.findData(config.dataset or ALL_DATASETS)
        if index < 0:
            self._mismatches.append(f"dataset {config.dataset!r} is not in this project: kept "
                                    f"{self.dataset_combo.currentText() or 'none'!r}")
        if index >= 0 and index != self.dataset_combo.currentIndex():
            self.dataset_combo.setCurrentIndex(index)  # set_splits applies the rest
        else:
            self._apply_data(config)
            self._pending = None

    def _apply_data(self, config) -> None:
        self._check(self.task_list, config.tasks, "task")
        self.mode_combo.setCurrentIndex(max(self.mode_combo.findData(config.mode), 0))
        self._check(self.train_splits, config.train_splits, "train split")
        self._choose(self.dev_combo, config.dev_split, "dev split")
        self._choose(self.test_combo, config.test_split, "test split")
        mismatches, self._mismatches = self._mismatches, []
        self.mismatches.emit(mismatches)

    def _choose(self, combo: QComboBox, value, what: str) -> None:
        """Select `value` (item data or text); when it is not offered, keep the current item
        and note it."""
        index = combo.findData(value)
        index = index if index >= 0 else combo.findText(str(value))
        if index >= 0:
            combo.setCurrentIndex(index)
        else:
            self._mismatches.append(f"{what} {value!r} is not offered here: kept "
                                    f"{combo.currentText() or 'none'!r}")

    def _check(self, widget: QListWidget, wanted: list[str], what: str) -> None:
        """Check exactly the `wanted` items; note the ones the list does not have."""
        listed = set()
        for i in range(widget.count()):
            item = widget.item(i)
            listed.add(item.data(Qt.ItemDataRole.UserRole))
            item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole)
                               in wanted else Qt.CheckState.Unchecked)
        missing = [w for w in wanted if w not in listed]
        if missing:
            self._mismatches.append(f"{what}{'s' if len(missing) > 1 else ''} "
                                    f"{', '.join(map(repr, missing))} not in this dataset: left "
                                    "out")
