"""The import summary's notes read as sentences whatever the counts."""

from mmla_core.datasets.report import ImportReport


def test_one_clip_moved_to_another_split_is_singular():
    """User guide 'Re-importing never undoes curation': a manifest moving one clip printed
    "1 clips moved to another split"."""
    report = ImportReport("mf")
    report.moved = 1
    assert "  1 clip moved to another split (same clip, labels kept)" in report.notes()
    report.moved = 2
    assert "  2 clips moved to another split (same clip, labels kept)" in report.notes()
