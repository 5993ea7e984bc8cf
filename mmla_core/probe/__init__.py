"""Single-clip probing (issue 7): the scenario x prompt matrix, modality reliance, attention by
modality and model-assisted alignment checks, MMA-Bench style (seeds_systems.md section 2)."""

from mmla_core.probe.matrix import (
    DEFAULT_PROMPTS,
    DEFAULT_SCENARIOS,
    ProbeCell,
    ProbeResult,
    load_probe,
    run_probe,
)

__all__ = ["DEFAULT_PROMPTS", "DEFAULT_SCENARIOS", "ProbeCell", "ProbeResult", "load_probe",
           "run_probe"]
