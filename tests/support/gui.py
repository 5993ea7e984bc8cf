"""Small helpers for driving the real main window in GUI tests."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QStyle, QStyleOptionViewItem

from mmla_core.store.db import open_store


def menu_action(window, text: str):
    """The File/Edit/... menu action whose text (without '&') starts with `text`."""
    for menu_action_ in window.menuBar().actions():
        for action in menu_action_.menu().actions():
            if action.text().replace("&", "").startswith(text):
                return action
    raise AssertionError(f"no menu action {text!r}")


def status_said(window, text: str) -> bool:
    """Whether the window's status line has shown `text` (now or since `make_window` opened it):
    another line may have replaced it since."""
    lines = [*getattr(window, "status_lines", []), window.statusBar().currentMessage()]
    return any(text in line for line in lines)


def dataset_names(db_path) -> list[str]:
    """The project's datasets, read from the file."""
    with open_store(db_path) as store:
        return [r["name"] for r in store.query("SELECT name FROM datasets ORDER BY name")]


def confirm_delete(qtbot, dialog) -> None:
    """File > Delete dataset…: press Delete once the counts are in, then confirm."""
    qtbot.waitUntil(lambda: dialog.delete_button.isEnabled(), timeout=15_000)
    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    delete = next(b for b in dialog.confirm_box.buttons()
                  if dialog.confirm_box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole)
    delete.click()


def visible_text(view, position: int, column: int | None = None) -> str:
    """A clip list cell's text as painted (the External id's unless `column`): the delegate's
    option, cut to its text rectangle."""
    from mmla_app.curation.clip_table import COLUMN_KEYS

    column = COLUMN_KEYS.index("external_id") if column is None else column
    index = view.model().index(position, column)
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.textElideMode = view.textElideMode()  # as the view's own paint sets it
    delegate = view.itemDelegateForColumn(column) or view.itemDelegate()
    delegate.initStyleOption(option, index)
    option.rect = view.visualRect(index)
    style = view.style()
    text_rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, view)
    margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1
    return option.fontMetrics.elidedText(option.text, option.textElideMode,
                                         text_rect.width() - 2 * margin)
