"""A re-import never thins a clip: a stored clip keeps its media file when the source row no
longer gives one (the file is gone, the video folder is not mounted, the row names none).

Before, such a row made the clip text-only (its media path dropped) and an evaluation then
scored it on its transcript without saying so. Now the clip keeps its media path; a file that is
really missing is marked 'missing_file' (an evaluation records an error row for it) and each one
is reported with its source row and path. A clip never stored with media (new, or a text-only
dataset) imports text-only as before, with the importer's reason.
"""

from __future__ import annotations

import os
from collections import Counter

from mmla_core.datasets.report import ImportReport
from mmla_core.store.db import Store
from mmla_core.store.media_state import stored_media_paths

Pending = list  # of datasets.common.PendingClip (not imported: common imports this module)
MAX_TEXT_ONLY_ISSUES = 20  # per source file: a text-only release would list every row


def keep_stored_media(store: Store, dataset_id: int, pending: Pending,
                      report: ImportReport) -> list[tuple[int, str]]:
    """Give each pending clip without media its stored media path; returns (clip id, sentence)
    of those whose file is missing, for `store.media_state.mark_media_missing`."""
    stored = stored_media_paths(store, dataset_id)
    text_only = _TextOnlyIssues(report)
    missing: list[tuple[int, str]] = []
    for clip in pending:
        if clip.media_path is not None:
            continue
        known = stored.get((clip.split, clip.external_id))
        if known is None:
            if clip.media_issue:
                text_only.add(clip.where, f"{clip.media_issue}; imported text-only")
            continue
        clip_id, media_path, root = known
        clip.media_path = media_path
        full = os.path.normpath(os.path.join(root, media_path))
        where = clip.where or f"{report.dataset}/{clip.external_id}"
        reason = f"{clip.media_issue}; " if clip.media_issue else ""
        if os.path.exists(full):
            if reason:
                report.issue(where, f"{reason}the clip keeps its media file {media_path!r}")
            continue
        report.media_missing += 1
        report.issue(where, f"{reason}media file {media_path!r} is missing ({full}): the clip "
                     "keeps it, marked missing_file, not text-only (`mmla media probe` "
                     "probes it again once it is back)")
        missing.append((clip_id, f"{full}: file not found (at the re-import of "
                                 f"{report.dataset}, {where})."))
    text_only.close()
    return missing


class _TextOnlyIssues:
    """The first MAX_TEXT_ONLY_ISSUES rows per source file, then a count (as
    common.RowIssueLimiter does for an importer's own repeated issues)."""

    def __init__(self, report: ImportReport):
        self.report = report
        self.counts: Counter[str] = Counter()

    def add(self, where: str, message: str) -> None:
        source = where.rsplit(":", 1)[0]
        self.counts[source] += 1
        if self.counts[source] <= MAX_TEXT_ONLY_ISSUES:
            self.report.issue(where, message)

    def close(self) -> None:
        for source, rows in self.counts.items():
            if rows > MAX_TEXT_ONLY_ISSUES:
                self.report.issue(source, f"{rows - MAX_TEXT_ONLY_ISSUES} more rows: media "
                                  "not found; imported text-only")
