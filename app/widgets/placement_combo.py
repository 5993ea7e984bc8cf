"""The "Load on" combo shared by Settings and the Evaluate form: where models load."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QWidget

from mmla_app import settings


def placement_combo(parent: QWidget, current: str) -> QComboBox:
    """Where models load: one device, split over the GPUs (a model larger than one), or CPU."""
    combo = QComboBox(parent)
    for text, value in settings.PLACEMENTS:
        combo.addItem(text, value)
    combo.setCurrentIndex(max(0, combo.findData(current)))
    combo.setToolTip("A model larger than one GPU is split over the visible GPUs (then the "
                     "CPU) automatically; choose a split here to always spread it")
    return combo
