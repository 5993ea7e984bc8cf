"""DESIGN rule 1: the core never imports Qt, so everything works headless and from the CLI."""

import subprocess
import sys

CORE_MODULES = [
    "mmla_core", "mmla_core.store", "mmla_core.store.catalog", "mmla_core.store.labels",
    "mmla_core.store.results", "mmla_core.store.jobs", "mmla_core.tasks", "mmla_core.prompts",
    "mmla_core.media.probe", "mmla_core.media.decode", "mmla_core.media.waveform",
    "mmla_core.media.synth", "mmla_core.media.playback", "mmla_core.datasets", "mmla_core.cli",
    "mmla_core.demo", "mmla_core.checks", "mmla_core.variants.store_ops", "mmla_core.eval.runs",
    "mmla_core.eval.metrics", "mmla_core.eval.parse", "mmla_core.models",
    "mmla_core.models.registry", "mmla_core.models.inputs", "mmla_core.models.prompting",
    "mmla_core.models.engine", "mmla_core.models.worker",
]


def test_importing_the_core_loads_no_qt():
    code = (
        "import sys\n"
        f"for name in {CORE_MODULES!r}: __import__(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'shiboken6', 'pyqtgraph', 'superqt', 'mmla_app'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""
