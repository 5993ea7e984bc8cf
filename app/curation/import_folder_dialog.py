"""File > Import dataset folder…: the folder, what it is, and the name its dataset gets.

"What it is" offers the kinds of `mmla import --kind` (datasets.auto.KIND_MEANINGS: the same
names and meanings), "Detect automatically" first. With detection on, Import first looks at the
folder off the GUI thread with `datasets.auto.pick_kind`, the detection `mmla import` runs: a
folder that reads two ways (an MMLA tree with clips beside it) keeps the dialog open, saying what
it found, with the kind choice focused; a folder with nothing to import says so here. The pick
(or the kind chosen) goes to the import as it is (`import_path(kind=...)`), as the CLI's does.
A folder dropped on the window that reads two ways comes back here the same way
(import_flow.ImportController).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)
from shiboken6 import isValid

from mmla_app.curation.project_dialogs import form_dialog, path_row
from mmla_core.datasets.auto import (
    FOLDER_IMPORT_KINDS,
    KIND_MEANINGS,
    KindPick,
    kind_imported_before,
    pick_kind,
)
from mmla_core.datasets.mmla_pick import AmbiguousKindError

KIND_ROW = "What it is"  # the kind choice's label: the GUI's words for `--kind`


def kind_title(kind: str) -> str:
    """A kind in words ("Folder of clips")."""
    return KIND_MEANINGS[kind][0]


def kind_combo(parent: QWidget, kinds: tuple[str, ...]) -> QComboBox:
    """The kind choice: each kind's title and its CLI name; the tooltip says what it reads."""
    combo = QComboBox(parent, objectName="import_kind")
    for kind in kinds:
        title, meaning = KIND_MEANINGS[kind]
        combo.addItem(title if kind == "auto" else f"{title} ({kind})", kind)
        combo.setItemData(combo.count() - 1, f"{meaning} (mmla import --kind {kind})",
                          Qt.ItemDataRole.ToolTipRole)
    combo.setToolTip("What the path is: the same choice as mmla import --kind")
    return combo


def ambiguity_words(refusal: AmbiguousKindError) -> str:
    """The refusal in the dialog's words: what was found, and the choice that settles it."""
    said = " or ".join(f"{kind_title(kind)} ({what})" for kind, what in refusal.choices)
    return f"{refusal.found}. Choose which in “{KIND_ROW}”: {said}."


class ImportFolderDialog(QDialog):
    """`chosen(folder, dataset name or '', KindPick)` once the folder's kind is known.

    The name applies to a folder of clips (with or without a manifest) and to .eaf files' new
    clips; an MMLA tree imports each of its datasets under its own MMLA name.
    """

    chosen = Signal(Path, str, object)  # folder, dataset name ('' = the folder's name), KindPick

    def __init__(self, project, parent: QWidget | None = None, folder: Path | None = None):
        """`project`: the open Project, whose runner looks at the folder off the GUI thread."""
        super().__init__(parent)
        self.setWindowTitle("Import a dataset folder")
        self.runner = project.runner.scope("import_folder")
        self.folder_edit = QLineEdit(self, placeholderText="a folder of clips, or an MMLA tree")
        self.folder_edit.textChanged.connect(self._suggest_name)
        self.kind_combo = kind_combo(self, FOLDER_IMPORT_KINDS)
        self.kind_combo.currentIndexChanged.connect(self._on_kind)
        self.name_edit = QLineEdit(self, placeholderText="the folder's name")
        form = QFormLayout()
        form.addRow("Folder", path_row(self, self.folder_edit, self._browse))
        form.addRow(KIND_ROW, self.kind_combo)
        form.addRow("Dataset name", self.name_edit)
        note = QLabel("An MMLA tree (datasets with train/dev/test TSVs) keeps its own dataset "
                      "names; the name here is for a folder of clips. A folder that could be "
                      "either is not guessed: choose what it is.", self, wordWrap=True,
                      objectName="muted")
        self._suggested = ""
        self.error, self.import_button = form_dialog(self, form, note, "Import", self._import)
        if folder is not None:
            self.folder_edit.setText(str(folder))

    def show_refusal(self, refusal: Exception) -> None:
        """Why the folder was not imported as it is; the kind choice takes the focus."""
        self.error.setText(ambiguity_words(refusal) if isinstance(refusal, AmbiguousKindError)
                           else str(refusal))
        self.kind_combo.setFocus(Qt.FocusReason.OtherFocusReason)
        folder = self.folder()
        if isinstance(refusal, AmbiguousKindError) and folder is not None:
            kinds = [kind for kind, _what in refusal.choices]
            self.runner.submit(kind_imported_before, folder, kinds, channel="before",
                               on_success=lambda kind: self._offer_before(folder, kind))

    def _offer_before(self, folder: Path, kind: str | None) -> None:
        """A folder this project imported before as one of the kinds: that kind is chosen (the
        person still presses Import), unless they chose one meanwhile."""
        if (kind is None or not isValid(self) or folder != self.folder()
                or self.kind_combo.currentData() != "auto"):
            return
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind))
        self.error.setText(f"{self.error.text()} This project imported this folder as "
                           f"{kind_title(kind)} before: that is chosen; press Import to import "
                           "it so again.")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Import a dataset folder (MMLA layout or clips + manifest)",
            self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _suggest_name(self, text: str) -> None:
        """Follow the folder's name until the user types a name of their own."""
        if self.name_edit.text() in ("", self._suggested):
            self._suggested = Path(text.strip()).name if text.strip() else ""
            self.name_edit.setText(self._suggested)

    def _on_kind(self) -> None:
        """An MMLA tree keeps its datasets' own names (`mmla import --kind mmla` takes none)."""
        self.name_edit.setEnabled(self.kind_combo.currentData() != "mmla")

    def folder(self) -> Path | None:
        """The folder named in the field, when it is one."""
        text = self.folder_edit.text().strip()
        folder = Path(text).expanduser()
        return folder if text and folder.is_dir() else None

    def _import(self) -> None:
        folder = self.folder()
        if folder is None:
            self.error.setText(f"Not a folder: {self.folder_edit.text().strip() or '(empty)'}")
            return
        kind = self.kind_combo.currentData()
        if kind != "auto":
            self._choose(folder, KindPick(kind))
            return
        self.error.setText("")
        self.import_button.setEnabled(False)
        self.import_button.setText("Looking at the folder…")
        self.runner.submit(pick_kind, folder, channel="pick", with_store=False,
                           on_success=lambda pick: self._picked(folder, pick),
                           on_error=self._refused)

    def _looked(self) -> bool:
        """The look at the folder is over: Import again (False once the dialog is gone)."""
        if not isValid(self):
            return False
        self.import_button.setEnabled(True)
        self.import_button.setText("Import")
        return True

    def _picked(self, folder: Path, pick: KindPick) -> None:
        if self._looked() and folder == self.folder():  # else the user changed the folder
            self._choose(folder, pick)

    def _refused(self, exc: Exception) -> None:
        if self._looked():
            self.show_refusal(exc)

    def _choose(self, folder: Path, pick: KindPick) -> None:
        name = self.name_edit.text().strip() if self.name_edit.isEnabled() else ""
        # the suggestion is not a choice: a different folder of the same name then imports as
        # NAME-2 (a dataset is its folder), where a typed name that is taken is refused
        self.chosen.emit(folder, "" if name == self._suggested else name, pick)
        self.accept()

    def done(self, result: int) -> None:
        self.runner.close()
        super().done(result)
