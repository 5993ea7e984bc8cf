"""A probe as CSV (probe.export)."""

import csv

from mmla_core.probe.export import probe_to_csv
from tests.support.probe_results import constructed


def test_probe_csv_goes_into_a_folder_not_made_yet(tmp_path):
    """`mmla probe CLIP ... --csv out/p.csv` failed on the missing folder after the probe."""
    path = probe_to_csv(constructed(), tmp_path / "out" / "p.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) == len(constructed().cells) and "scenario" in rows[0]
