"""File > Import file…: an ELAN .eaf or a LLaMA-Factory sharegpt file, the dataset's name and,
for sharegpt, the media folder its video paths are found in (`mmla import --media-root`).
"What it is" is `mmla import --kind` for a file: detected from its suffix by default, or said
(an ELAN file saved as .xml, a sharegpt file named .txt).

MMLA's own LLaMA-Factory files name clips by paths on the authors' cluster
(`/mnt/.../Datasets/<DS>/video/<file>.mp4`): pointing the media folder at a local copy of MMLA's
data (`<folder>/<DS>/video/<file>.mp4`) finds them there (datasets/media_map.py).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QFileDialog, QFormLayout, QLabel, QLineEdit, QWidget

from mmla_app.curation.import_folder_dialog import KIND_ROW, kind_combo
from mmla_app.curation.project_dialogs import form_dialog, path_row
from mmla_core.datasets.auto import FILE_IMPORT_KINDS, FILE_KINDS

FILE_FILTER = ("Importable files (*.eaf *.json *.jsonl);;ELAN annotation files (*.eaf);;"
               "LLaMA-Factory sharegpt JSON (*.json *.jsonl);;All files (*)")


class ImportFileDialog(QDialog):
    """`chosen(file, dataset name or '', media folder or '', kind)` once the file exists."""

    chosen = Signal(Path, str, str, str)

    def __init__(self, parent: QWidget | None = None, path: Path | None = None):
        super().__init__(parent)
        self.setWindowTitle("Import a file")
        self.file_edit = QLineEdit(self, placeholderText="an ELAN .eaf or a sharegpt .json")
        self.file_edit.textChanged.connect(self._on_file)
        self.kind_combo = kind_combo(self, FILE_IMPORT_KINDS)
        self.kind_combo.currentIndexChanged.connect(lambda _index: self._on_file())
        self.name_edit = QLineEdit(self, placeholderText="the file's name")
        self.media_edit = QLineEdit(self, placeholderText="the file's folder")
        self.media_row = path_row(self, self.media_edit, self._browse_media)
        form = QFormLayout()
        form.addRow("File", path_row(self, self.file_edit, self._browse_file))
        form.addRow(KIND_ROW, self.kind_combo)
        form.addRow("Dataset name", self.name_edit)
        form.addRow("Media folder", self.media_row)
        note = QLabel("Media folder (sharegpt files): where the records' videos are. For MMLA's "
                      "own LLaMA-Factory files, a local copy of MMLA's data laid out as "
                      "<folder>/<dataset>/video/<file>.mp4; paths never leave that folder.",
                      self, wordWrap=True, objectName="muted")
        self.error, self.import_button = form_dialog(self, form, note, "Import", self._import)
        if path is not None:
            self.file_edit.setText(str(path))
        self._on_file()

    def _browse_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a file", self.file_edit.text(),
                                              FILE_FILTER)
        if path:
            self.file_edit.setText(path)

    def _browse_media(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Media folder", self.media_edit.text())
        if folder:
            self.media_edit.setText(folder)

    def _on_file(self, _text: str = "") -> None:
        """The media folder applies to sharegpt files only (the kind chosen, or the suffix's)."""
        text = self.file_edit.text().strip()
        kind = self.kind_combo.currentData()
        if kind == "auto":
            kind = FILE_KINDS.get(Path(text).suffix.lower(), "") if text else "sharegpt"
        self.media_row.setEnabled(kind == "sharegpt")

    def _import(self) -> None:
        path = Path(self.file_edit.text().strip()).expanduser()
        if not self.file_edit.text().strip() or not path.is_file():
            self.error.setText(f"Not a file: {self.file_edit.text().strip() or '(empty)'}")
            return
        media = self.media_edit.text().strip() if self.media_row.isEnabled() else ""
        if media and not Path(media).expanduser().is_dir():
            self.error.setText(f"Not a folder: {media}")
            return
        self.chosen.emit(path, self.name_edit.text().strip(),
                         str(Path(media).expanduser()) if media else "",
                         self.kind_combo.currentData())
        self.accept()
