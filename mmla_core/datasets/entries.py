"""One bad entry costs one entry: the checks that keep a single odd file, name or row from
stopping (or hanging) a whole import.

Each turns what would be an exception into an issue naming the file (and line): a FIFO or
other special file is never opened (reading one blocks forever), a CSV field over the csv
module's 128 KiB limit, a JSON line nested deeper than the parser recurses, a file name that is
not UTF-8, a lone surrogate that SQLite cannot store.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, TypeVar

from mmla_core.datasets.report import ImportReport

REPLACEMENT = "\ufffd"


def special_file(path: str | os.PathLike) -> str | None:
    """Why `path` must not be read as a file (a FIFO, socket, device), or None.

    None for regular files (and for paths that do not exist: the caller says "not found").
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a special file")
    return f"is not a regular file ({kind}); not read"


def is_regular_file(path: str | os.PathLike) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def head_text(path: Path, limit: int) -> str:
    """The first `limit` bytes of the file as text (UTF-8, or UTF-16 with a BOM, as read_text
    reads an import's file), without a last line the cut may have split; '' if unreadable."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit)
    except OSError:
        return ""
    utf16 = data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    if utf16:
        text = data[: len(data) // 2 * 2].decode("utf-16", errors="replace")
    else:
        text = data.decode("utf-8-sig", errors="replace")
    if len(data) == limit and "\n" in text:
        text = text.rsplit("\n", 1)[0]
    return text


RowT = TypeVar("RowT", covariant=True)


class CsvReader(Protocol[RowT]):
    """What `csv_rows` needs of a reader: csv.reader's (rows as lists) or a DictReader's."""

    @property
    def line_num(self) -> int: ...

    def __next__(self) -> RowT: ...


def csv_rows(reader: CsvReader[RowT], report: ImportReport, path: Path) -> Iterator[RowT]:
    """The rows of a csv reader; a row the csv module refuses (a field over its 128 KiB limit,
    a NUL byte) is reported with its line and skipped, and reading goes on after it."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.skipped += 1
            report.issue(f"{path}:{reader.line_num + 1}", f"row cannot be read ({exc}); skipped")
            continue
        yield row


def json_line(text: str) -> object:
    """json.loads, with a nesting too deep for the parser as a JSONDecodeError of its own."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None


def storable(text: str) -> bool:
    """False for text SQLite cannot store: lone surrogates (from JSON `\\ud800` escapes or a
    file name that is not UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_text(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD."""
    return "".join(REPLACEMENT if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)


def clean_pending(pending: list, report: ImportReport) -> None:
    """Replace lone surrogates in each clip's id and transcript (reported per clip) so the batch
    write never fails on one row; a media path that is not storable was refused earlier."""
    for clip in pending:
        for name in ("external_id", "split", "transcript"):
            value = getattr(clip, name)
            if isinstance(value, str) and not storable(value):
                setattr(clip, name, clean_text(value))
                report.issue(clip.where or f"{report.dataset}/{clean_text(clip.external_id)}",
                             f"{name} holds a lone surrogate (invalid Unicode); replaced "
                             "with U+FFFD")
        clip.labels = {task: label for task, label in clip.labels.items() if storable(label)}
