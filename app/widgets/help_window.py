"""Help > Keyboard shortcuts and help (F1): one resizable window, not a message box.

Keys come from the live keymap (the curator's remaps included), grouped as the settings dialog
groups them; the 30 label keys are folded into three lines. A filter box narrows the tables.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLineEdit, QTextBrowser, QVBoxLayout, QWidget

from mmla_app import keymap
from mmla_app.widgets.screen_fit import fit_resize

WORKFLOW = (
    ("Curate", "Pick a clip in the browser (Up / Down), play it (Space), press a label's key, "
               "answer the four alignment checks (Y / N / U), then Return marks it reviewed and "
               "moves on. Ctrl+Z undoes any edit. A dataset with no task to label yet (a folder "
               "imported without a manifest): Add a task… in the Labels panel."),
    ("Variants", "The Variants tab builds modality-conflict versions of the clip (another "
                 "clip's audio, black frames, silence, a misleading transcript)."),
    ("Probe", "The Probe tab asks a model the clip's question on the clip and its variants and "
              "shows which modality the answer relied on."),
    ("Evaluate and train", "Tools > Evaluate, Tools > Results and Tools > Train LoRA; the "
                           "Training tab follows the runs."),
)


def _label_rows(bindings: dict[str, str]) -> list[tuple[str, str]]:
    """Three lines for the 30 label keys instead of thirty."""
    rows = []
    for tier, (prefix, _modifier, _word) in enumerate(keymap.LABEL_TIERS):
        keys = [bindings.get(f"{prefix}{(i + 1) % 10}", "") for i in range(10)]
        shown = [keymap.display_text(k) for k in keys if k]
        if shown:
            first = tier * 10 + 1
            rows.append((f"Labels {first}–{first + 9} of the active task",
                         f"{shown[0]} … {shown[-1]}"))
    return rows


def key_groups(bindings: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """{group: [(what, key)]} from the keymap, menus last."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for action in keymap.ACTIONS:
        if action.group == "Labels" and action.id.startswith("label_"):
            continue
        key = bindings.get(action.id, "")
        if key:
            groups.setdefault(action.group, []).append((action.text, keymap.display_text(key)))
    groups.setdefault("Labels", []).extend(_label_rows(bindings))
    groups["Menus"] = [(what, key) for key, what in keymap.RESERVED.items()]
    return groups


def help_html(bindings: dict[str, str], needle: str = "") -> str:
    needle = needle.strip().lower()
    parts = []
    if not needle:
        parts.append("<h3>How the work goes</h3><dl>")
        parts += [f"<dt><b>{escape(t)}</b></dt><dd>{escape(d)}</dd>" for t, d in WORKFLOW]
        parts.append("</dl>")
    for group, rows in key_groups(bindings).items():
        kept = [(w, k) for w, k in rows if needle in w.lower() or needle in k.lower()]
        if kept:
            cells = "".join(f"<tr><td>{escape(w)}</td><td>&nbsp;&nbsp;<b>{escape(k)}</b></td></tr>"
                            for w, k in kept)
            parts.append(f"<h3>{escape(group)}</h3><table>{cells}</table>")
    parts.append("<p>Keys are remapped in Tools &gt; Settings. The user guide "
                 "(docs/user-guide.md) explains every panel.</p>")
    return "".join(parts)


class HelpWindow(QDialog):
    """Non-modal: it can stay open beside the work."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("MMLA Studio help and keyboard shortcuts")
        self.filter = QLineEdit(self, placeholderText="Find a key or an action…",
                                clearButtonEnabled=True)
        self.browser = QTextBrowser(self, openExternalLinks=False)
        self.filter.textChanged.connect(self.refresh)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.browser)
        self.setWindowFlag(Qt.WindowType.WindowContextHelpButtonHint, False)
        fit_resize(self, 640, 620)
        self.refresh()

    def refresh(self) -> None:
        self.browser.setHtml(help_html(keymap.current_bindings(), self.filter.text()))
