"""Which training jobs can be resumed: the one rule `mmla train resume` (control.resume) and
the Training tab's Resume button (enabled from it, its tooltip saying why not) both ask.

A stopped or failed job resumes from a checkpoint and trains what its config still asks for.
A done job does not: a resume keeps the job's config, whose epochs / max_steps the restored
scheduler depends on (docs/training.md), so it trained all it ever will; resuming it would at
best run its last steps again to the same weights. Training longer is a new job with more
epochs. Pure (the job's row only, no files), so the GUI can ask on every poll.
"""

from __future__ import annotations

import json

from mmla_core.words import count

RESUMABLE = ("stopped", "failed")


def resume_refusal(job: dict) -> str | None:
    """Why `job` (a training_jobs row) cannot be resumed, or None when it can."""
    status, job_id = job["status"], job["id"]
    if status in RESUMABLE:
        return None
    if status == "done":
        return (f"training job {job_id} is done: it trained the {_length(job)} its config "
                "asks for, and a resume keeps that config (the restored scheduler depends on "
                "it), so nothing is left to train. To train longer, launch a new job with more "
                f"epochs (Export config… in the Training tab, or mmla train export-config "
                f"{job_id}, then launch it)")
    return f"training job {job_id} is still {status}: stop it first or wait for it to end"


def _length(job: dict) -> str:
    """'20 steps' (max_steps set) or '2 epochs', as the job's config says."""
    config = json.loads(job.get("config_json") or "{}")
    if int(config.get("max_steps") or -1) > 0:
        return count(int(config["max_steps"]), "step")
    epochs = float(config.get("epochs", 1.0))
    return count(int(epochs), "epoch") if epochs.is_integer() else f"{epochs:g} epochs"
