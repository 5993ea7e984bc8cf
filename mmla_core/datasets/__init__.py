"""Dataset importers (MMLA layout, media folder + manifest, LLaMA-Factory sharegpt), media
probing, and exporters (LLaMA-Factory, JSONL, CSV).

Importers record what they find and report every bad row or file with its location
(`ImportReport.issues`); they never stop at the first problem. Media is probed afterwards
(`probe_pending`), in worker processes, resumably; `check_media` first re-checks the files
probed before (a stat each) and probes again the ones that changed.
"""

from mmla_core.datasets.export import (
    ExportedFiles,
    ExportError,
    export_csv,
    export_jsonl,
    export_llamafactory,
)
from mmla_core.datasets.folder import import_folder
from mmla_core.datasets.media_check import MediaChange, MediaCheck, check_media
from mmla_core.datasets.mmla_layout import import_mmla
from mmla_core.datasets.probing import ProbeError, probe_pending
from mmla_core.datasets.report import DatasetImportError, ImportIssue, ImportReport
from mmla_core.datasets.sharegpt import import_sharegpt

__all__ = [
    "DatasetImportError",
    "ExportError",
    "ExportedFiles",
    "ImportIssue",
    "ImportReport",
    "MediaChange",
    "MediaCheck",
    "ProbeError",
    "check_media",
    "export_csv",
    "export_jsonl",
    "export_llamafactory",
    "import_folder",
    "import_mmla",
    "import_sharegpt",
    "probe_pending",
]
