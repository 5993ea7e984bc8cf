"""The clip list's columns: their order and how the width is shared (cells: clip_cells.py).

The browser is narrow (482 px of list on a 1366x768 screen, 532 px at 1600x1000). What tells a
curator which utterance is which, and where it stands, comes first and stays in view without
sideways scrolling: Id, External id (with the health dot), Labels, a one-mark Verdict, a short
Reviewed by, then the Transcript, which runs to the list's right edge. Dataset, Split, Duration
and Health follow it (scroll right, or read them in the External id tooltip); the filter bar
covers them too. Before, Labels / Verdict / Reviewed by came after Dataset and Split and filled
472 of the 482 px, and the transcript started 144 px past the edge.
"""

from __future__ import annotations

COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "Id"),
    ("external_id", "External id"),
    ("labels", "Labels"),
    ("verdict", "✓"),
    ("reviewed_by", "By"),
    ("transcript", "Transcript"),
    ("dataset", "Dataset"),
    ("split", "Split"),
    ("duration_s", "Duration"),
    ("health", "Health"),
)
COLUMN_KEYS = tuple(key for key, _ in COLUMNS)
HEADER_TIPS = {
    "verdict": "Verdict: ✓ accept, ✗ reject (click to sort)",
    "reviewed_by": "Reviewed by: you if you did, else the first reviewer; +N more (click to sort)",
    "transcript": "Transcript (hover a cell for the whole text)",
}
LEAD = COLUMN_KEYS[:COLUMN_KEYS.index("transcript")]  # the columns kept in view before it
# What the transcript always keeps in view: about 25 characters, enough to tell utterances apart
MIN_TRANSCRIPT_WIDTH = 150
# Labels grow to the longest label list in view up to this (many tasks would take the browser)
MAX_LABELS_WIDTH = 240
# External ids widen to what the ids in view need up to this: 'Ses01F_impro01_F000' (IEMOCAP)
# whole where there is room (a 1920 px screen), else cut in the middle keeping its end. Never
# under the default: a labelled variant's recipe has only this cell ('↳ capt…'praise'')
MAX_IDS_WIDTH = 160
# Each column's width until a person drags its border; also the floor a remembered width gives
# way to in a narrow window (`fit_widths`). The transcript is not here: it takes the rest.
DEFAULT_WIDTHS = {"id": 44, "external_id": 92, "labels": 96, "verdict": 30, "reviewed_by": 52,
                  "dataset": 64, "split": 44, "duration_s": 60, "health": 84}


def fit_widths(viewport: int, user: dict[str, int], wanted: dict[str, int],
               dragged: str | None = None) -> dict[str, int]:
    """Every column's width in a list `viewport` px wide.

    `user` holds the widths a person dragged (remembered across sessions); `wanted` what the
    External ids and the label lists in view need: each, unless dragged, gets that within its
    share (no label in view: Labels as narrow as its header); the transcript takes what the
    columns before it leave, to the right edge, never less than MIN_TRANSCRIPT_WIDTH, or than
    `wanted["transcript"]` when given (its header's width when no transcript is in view: a
    folder of clips imported without a manifest has only its file names to tell clips apart).
    A remembered width that would push the transcript under its minimum gives way on screen
    (`_give_way`); the setting keeps it, so a wider window shows it again.
    """
    widths = {key: user.get(key, default) for key, default in DEFAULT_WIDTHS.items()}
    least = wanted.get("transcript", MIN_TRANSCRIPT_WIDTH)  # what the transcript keeps
    if "labels" not in user:
        widths["labels"] = _auto_labels(viewport, widths, wanted["labels"], least)
    if "external_id" not in user:  # after Labels: they matter more than a whole long id
        widths["external_id"] = _auto_ids(viewport, widths, wanted["external_id"], least)
    _give_way(widths, viewport - least, dragged)
    widths["transcript"] = max(least, viewport - sum(widths[k] for k in LEAD))
    return widths


def _auto_ids(viewport: int, widths: dict[str, int], wanted: int, least: int) -> int:
    """What the ids need, up to MAX_IDS_WIDTH and into half of what the transcript has past its
    minimum (the other half shows more transcript); never under the default."""
    surplus = viewport - sum(widths[key] for key in LEAD) - least
    grown = widths["external_id"] + max(surplus, 0) // (2 if least >= MIN_TRANSCRIPT_WIDTH else 1)
    return max(DEFAULT_WIDTHS["external_id"], min(wanted, MAX_IDS_WIDTH, grown))


def _auto_labels(viewport: int, widths: dict[str, int], wanted: int, least: int) -> int:
    """What the label lists need, capped: at MAX_LABELS_WIDTH, at what leaves the transcript
    its minimum, and at half the room Labels and the transcript share (the transcript is the
    curator's cue to which utterance is which); never under the default (cut with '…', whole
    in the tooltip) unless less is wanted (no label in view: the header's width)."""
    shared = viewport - sum(widths[key] for key in LEAD if key != "labels")
    cap = min(MAX_LABELS_WIDTH, shared - least, shared // 2)
    return max(min(DEFAULT_WIDTHS["labels"], wanted), min(wanted, cap))


def _give_way(widths: dict[str, int], room: int, dragged: str | None) -> None:
    """Shrink the columns before the transcript to `room` in all: those furthest over their
    default first, the one being dragged last, none under its default. A list too narrow even
    for the defaults (the browser squeezed by its splitter) keeps them and scrolls sideways."""
    excess = sum(widths[key] for key in LEAD) - room
    order = sorted(LEAD, key=lambda k: (k == dragged, DEFAULT_WIDTHS[k] - widths[k]))
    for key in order:
        if excess <= 0:
            return
        cut = min(excess, widths[key] - DEFAULT_WIDTHS[key])
        if cut > 0:
            widths[key] -= cut
            excess -= cut
