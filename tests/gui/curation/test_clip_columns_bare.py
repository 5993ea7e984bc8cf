"""A folder of clips imported without a manifest: no transcript, no label, only file names to
tell the clips apart. At the browser width of a 1366x768 screen they were cut ('audi…anks',
'close…_door') beside an empty 96 px Labels column and 150 px of empty transcript; now the empty
columns are as narrow as their headers and the names show whole."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mmla_app.curation.clip_table import COLUMN_KEYS
from tests.gui.curation.test_clip_columns import BROWSER_1366, _rows, _view, transcript_shown
from tests.support.gui import visible_text

pytestmark = pytest.mark.gui
NAMES = ("audio_only_thanks", "close_the_door", "thanks")
LABELS = COLUMN_KEYS.index("labels")


def _bare_rows():
    return [replace(row, external_id=name, transcript="", labels={})
            for row, name in zip(_rows(), NAMES, strict=True)]


def test_file_names_show_whole_when_labels_and_transcripts_are_empty(qtbot):
    view = _view(qtbot, BROWSER_1366, _bare_rows())
    assert [visible_text(view, position) for position in range(3)] == list(NAMES)
    assert view.columnWidth(LABELS) < 96
    assert transcript_shown(view) > 0  # the header still in view, at the right edge


def test_a_transcript_in_view_keeps_its_room(qtbot):
    rows = _bare_rows()
    rows[1] = replace(rows[1], transcript="Could you please close the door when you leave?")
    view = _view(qtbot, BROWSER_1366, rows)
    assert transcript_shown(view) >= 150
