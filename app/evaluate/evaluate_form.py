"""The Evaluate window's form: model, adapter, data, answer mode, sampling, variants, prompt.

It holds no run state: `eval_request()` is what the worker's `run_evaluation` gets. Choices come
from background jobs (`widgets.form_choices.load_choices`, `load_dataset_info`, run on a Runner
thread by the dialog); the prompt preview is rendered here on every edit (string formatting only).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from mmla_app import settings
from mmla_app.evaluate.download_dialog import DownloadDialog
from mmla_app.runtime.project import Project
from mmla_app.widgets.adapter_picker import AdapterPicker
from mmla_app.widgets.form_choices import row
from mmla_app.widgets.label_choice import LabelChoice
from mmla_app.widgets.placement_combo import placement_combo
from mmla_core.models.prompting import plan_prompt
from mmla_core.prompts import PromptError
from mmla_core.variants.recipes import RECIPES, recipe_title

PRESET_ITEM = "mmabench"
ERROR_STYLE = "color: #c8453b;"


PROMPT_KINDS = (("MMLA zero-shot (task question)", "zero_shot"),
                ("MMLA fine-tuning prompt, video form (SFT)", "sft"),
                ("MMLA fine-tuning prompt, the dataset's text-only form", "text_sft"),
                ("MMA-Bench visual-focused question", "visual_focused"),
                ("MMA-Bench audio-focused question", "audio_focused"))


class EvaluateForm(QWidget):
    """Every setting of an evaluation; `valid_changed(bool)` when it can (not) be run."""

    dataset_changed = Signal(int)
    adapter_changed = Signal(str)  # a trained adapter was picked: its settings are loaded
    add_model_requested = Signal(str)  # a folder the user picked
    valid_changed = Signal(bool)

    def __init__(self, project: Project, parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self.tasks: dict = {}
        self.samples: dict = {}
        self.valid = False
        self._template_edited = False
        self._build()

    def _build(self) -> None:
        self.model_combo = QComboBox(self)
        self.add_model_button = QPushButton("Add model…", self)
        self.add_model_button.clicked.connect(self.choose_model_folder)
        self.download_button = QPushButton("Download…", self)  # from the Hugging Face Hub
        self.download_button.clicked.connect(self.download_model)
        self.adapter_picker = AdapterPicker(self.project, self)
        self.adapter_picker.reload()  # the project's trained adapters, by name
        self.adapter_picker.changed.connect(
            lambda: self.adapter_changed.emit(self.adapter_picker.adapter_path() or ""))
        self.dataset_combo = QComboBox(self)
        self.dataset_combo.currentIndexChanged.connect(self._on_dataset)
        self.split_combo = QComboBox(self)
        self.split_combo.currentIndexChanged.connect(self._update_preview)
        self.task_combo = QComboBox(self)
        self.task_combo.currentIndexChanged.connect(self._on_task)
        self.mode_combo = QComboBox(self)
        self.mode_combo.addItem("Label scoring (probability of every label)", "scoring")
        self.mode_combo.addItem("Generation + MMLA's parser (the paper's protocol)", "generation")
        self.prompt_combo = QComboBox(self)
        for text, kind in PROMPT_KINDS:
            self.prompt_combo.addItem(text, kind)
        self.prompt_combo.currentIndexChanged.connect(self._on_prompt_kind)
        self._build_sampling()
        self.audio_check = QCheckBox("Feed the clip's own audio (models that hear)", self)
        self.audio_check.setChecked(True)
        self.variants_list = self._variants_list()
        self.template_edit = QPlainTextEdit(self)
        self.template_edit.setFixedHeight(110)
        self.template_edit.textChanged.connect(self._on_template_edited)
        self.preview = QLabel(self, wordWrap=True, objectName="muted")
        self.preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.name_edit = QLineEdit(self, placeholderText="optional")
        self.placement_combo = placement_combo(self, settings.device_map())
        self.label_choice = LabelChoice(self)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        for label, widget in (
                ("Model", row(self.model_combo, self.add_model_button, self.download_button)),
                ("Load on", self.placement_combo), ("LoRA adapter", self.adapter_picker),
                ("Dataset", self.dataset_combo), ("Split", self.split_combo),
                ("Task", self.task_combo), ("Gold labels", self.label_choice),
                ("Prompt", self.prompt_combo),
                ("Answer", self.mode_combo),
                ("Frames", self.sampling_row), ("Max pixels", self.pixels_spin),
                ("", self.audio_check), ("Variants too", self.variants_list),
                ("Prompt template", self.template_edit), ("Preview", self.preview),
                ("Run name", self.name_edit)):
            form.addRow(label, widget)

    def _build_sampling(self) -> None:
        self.sampling_combo = QComboBox(self)
        self.sampling_combo.addItem("frames per clip", "frames")
        self.sampling_combo.addItem("frames per second", "fps")
        self.sampling_combo.currentIndexChanged.connect(self._on_sampling)
        self.frames_spin = QSpinBox(self, minimum=1, maximum=256, value=4)
        self.fps_spin = QDoubleSpinBox(self, minimum=0.1, maximum=30.0, value=2.0, decimals=1)
        self.fps_spin.setVisible(False)
        self.pixels_spin = QSpinBox(self, minimum=784, maximum=4096 * 4096, value=360 * 420,
                                    singleStep=28 * 28)
        self.sampling_row = row(self.frames_spin, self.fps_spin, self.sampling_combo)

    def _variants_list(self) -> QListWidget:
        widget = QListWidget(self)
        widget.setFixedHeight(96)
        entries = [(PRESET_ITEM, "MMA-Bench: the five conflict scenarios", "")]
        # named as the Variants tab's check boxes name them; the CLI name in the tooltip
        entries += [(name, f"{recipe_title(name)}: {recipe.summary}",
                     f"\n(recipe {name} in the CLI: mmla eval --variants {name})")
                    for name, recipe in RECIPES.items()]
        for key, text, cli in entries:
            item = QListWidgetItem(text)
            item.setToolTip(text + cli)  # the list is narrower than its longest lines
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            widget.addItem(item)
        return widget

    # --- choices ------------------------------------------------------------------------------

    def set_choices(self, choices: dict) -> None:
        self.tasks = {task.name: task for task in choices["tasks"]}
        self.label_choice.set_annotators(choices.get("annotators", []))
        current = self.model_combo.currentData()
        self.model_combo.clear()
        for model in choices["models"]:
            note = " (random weights)" if model["random_weights"] else ""
            self.model_combo.addItem(f"{model['name']} · {model['family']}{note}", model["name"])
        if current is not None:
            self.select_model(current)
        if not self.dataset_combo.count():
            for dataset_id, name in choices["datasets"]:
                self.dataset_combo.addItem(name, dataset_id)
        self._update_preview()

    def select_model(self, name: str) -> None:
        index = self.model_combo.findData(name)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)
        self._update_preview()

    def _on_dataset(self, _index: int = -1) -> None:
        if self.dataset_combo.currentData() is not None:
            self.dataset_changed.emit(int(self.dataset_combo.currentData()))

    def set_dataset_info(self, info: dict) -> None:
        self.samples = info["sample"]
        self.split_combo.blockSignals(True)
        self.split_combo.clear()
        for split, count in info["splits"]:
            self.split_combo.addItem(f"{split or '(unsplit)'} · {count} clips", split)
        self.split_combo.setCurrentIndex(max(self.split_combo.findData("test"), 0))
        self.split_combo.blockSignals(False)
        self.task_combo.blockSignals(True)
        self.task_combo.clear()
        for name in info["tasks"] or list(self.tasks):
            self.task_combo.addItem(name, name)
        self.task_combo.blockSignals(False)
        self._on_task()

    def _on_task(self, _index: int = -1) -> None:
        if not self._template_edited:
            self._show_default_template()
        self._update_preview()

    def _on_prompt_kind(self, _index: int = -1) -> None:
        self._template_edited = False  # another kind of question: start from its own template
        self._on_task()

    def _show_default_template(self) -> None:
        self.template_edit.blockSignals(True)
        self.template_edit.setPlainText(self.default_template())
        self.template_edit.blockSignals(False)

    def default_template(self) -> str:
        """MMLA's zero-shot template (or the task's own), or MMA-Bench's focused question."""
        task = self.tasks.get(self.task_combo.currentData())
        if task is None:
            return ""
        return plan_prompt(task, "", self.prompt_combo.currentData()).template

    def _on_template_edited(self) -> None:
        self._template_edited = True
        self._update_preview()

    def _on_sampling(self, _index: int = -1) -> None:
        by_fps = self.sampling_combo.currentData() == "fps"
        self.fps_spin.setVisible(by_fps)
        self.frames_spin.setVisible(not by_fps)

    def _update_preview(self, *_args) -> None:
        task = self.tasks.get(self.task_combo.currentData())
        prompt_ok = False
        if task is not None:
            transcript = self.samples.get(self.split_combo.currentData()) or "…"
            try:
                self.preview.setText(plan_prompt(task, transcript, self._prompt_kind(),
                                                 template=self.custom_template()).text)
                self.preview.setStyleSheet("")
                prompt_ok = True
            except PromptError as exc:
                self.preview.setText(str(exc))
                self.preview.setStyleSheet(ERROR_STYLE)
        valid = prompt_ok and self.model_combo.count() > 0
        if valid != self.valid:
            self.valid = valid
            self.valid_changed.emit(valid)

    def apply_training_settings(self, found: dict | None) -> str:
        """The frames, max pixels, prompt form and audio the adapter's training used (from
        eval.comparable.adapter_settings); returns a line saying what was taken."""
        if not found:
            return ""
        inference = found["inference"]
        if inference.get("sample_fps"):
            self.sampling_combo.setCurrentIndex(self.sampling_combo.findData("fps"))
            self.fps_spin.setValue(float(inference["sample_fps"]))
        elif inference.get("num_frames"):
            self.sampling_combo.setCurrentIndex(self.sampling_combo.findData("frames"))
            self.frames_spin.setValue(int(inference["num_frames"]))
        if inference.get("max_pixels"):
            self.pixels_spin.setValue(int(inference["max_pixels"]))
        kind = self.prompt_combo.findData(inference.get("prompt_kind"))
        if kind >= 0:
            self.prompt_combo.setCurrentIndex(kind)
        if inference.get("audio_on") is not None:
            self.audio_check.setChecked(bool(inference["audio_on"]))
        self.label_choice.set_selection(found.get("selection"))
        return (f"Settings of training job {found['job_id']}: {self.frames_spin.value()} frames, "
                f"max pixels {self.pixels_spin.value()}, prompt "
                f"{self.prompt_combo.currentData()}")

    def template_text(self) -> str:
        return self.template_edit.toPlainText()

    def _prompt_kind(self) -> str:
        """The chosen kind; MMLA's fine-tuning form with an edited text is a custom prompt."""
        kind = self.prompt_combo.currentData()
        return "custom" if kind in ("sft", "text_sft") and self.custom_template() else kind

    def custom_template(self) -> str | None:
        """The edited template, or None while it is still the prompt kind's own one."""
        return None if self.template_text() == self.default_template() else self.template_text()

    # --- pickers ------------------------------------------------------------------------------

    def choose_model_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model folder (config.json + weights)")
        if folder:
            self.add_model_requested.emit(folder)

    def download_model(self) -> None:
        """The Hub download dialog; its snapshot folder is registered like "Add model…"."""
        self.download_dialog = DownloadDialog(self.project, self)
        self.download_dialog.downloaded.connect(self.add_model_requested.emit)
        self.download_dialog.open()

    # --- the request --------------------------------------------------------------------------

    def eval_request(self) -> dict:
        """What the worker's `run_evaluation` is called with."""
        settings = {"audio_on": self.audio_check.isChecked(),
                    "answer_mode": self.mode_combo.currentData(),
                    "prompt_kind": self._prompt_kind(),
                    "max_pixels": self.pixels_spin.value(), "template": self.custom_template()}
        if self.sampling_combo.currentData() == "fps":
            settings.update(num_frames=None, sample_fps=self.fps_spin.value())
        else:
            settings["num_frames"] = self.frames_spin.value()
        variants = [self.variants_list.item(i).data(Qt.ItemDataRole.UserRole)
                    for i in range(self.variants_list.count())
                    if self.variants_list.item(i).checkState() == Qt.CheckState.Checked]
        placement = self.placement_combo.currentData()
        return {"model": self.model_combo.currentData(),
                **({"device_map": placement} if placement else {}),
                "adapter": self.adapter_picker.adapter_path(),
                "dataset": self.dataset_combo.currentText(),
                "split": self.split_combo.currentData(), "task": self.task_combo.currentData(),
                "settings": settings, "variants": variants or None,
                "name": self.name_edit.text().strip(),
                "selection": self.label_choice.selection()}
