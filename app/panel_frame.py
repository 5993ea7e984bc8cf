"""The frame the side panels share: a title row, an empty-state line and a scrolling body."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget


@dataclass
class PanelFrame:
    layout: QVBoxLayout       # the panel's own layout: add footers below the body
    empty_label: QLabel       # shown instead of the body when there is nothing to show
    scroll: QScrollArea
    body: QVBoxLayout         # add rows here (a stretch keeps them at the top)


def build_panel_frame(panel: QWidget, title: str, empty_text: str,
                      corner: QWidget) -> PanelFrame:
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(0, 0, 0, 0)
    header = QHBoxLayout()
    header.addWidget(QLabel(title, panel, objectName="panelTitle"))
    header.addStretch(1)
    header.addWidget(corner)
    layout.addLayout(header)
    empty_label = QLabel(empty_text, panel, objectName="muted")
    layout.addWidget(empty_label)
    scroll = QScrollArea(panel, widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area = QWidget(scroll)
    body = QVBoxLayout(area)
    body.setContentsMargins(0, 0, 0, 0)
    body.addStretch(1)
    scroll.setWidget(area)
    layout.addWidget(scroll, 1)
    return PanelFrame(layout, empty_label, scroll, body)
