"""What became of a model run cut short, and what running it again does: the one table.

A run is cut short three ways, and each place that says so words it from `RUN_FATES`:
- the model worker dies or is killed under it (a crash, the OOM killer, Stop now, a closing
  window): `worker.client` marks the run failed with the cause and `run_fate`;
- the process that ran it outside the worker (`mmla probe`, `mmla eval --in-process`, ...) is
  gone: `store.run_owners`' sweep fails it with `kind_fate`, narrowed to the job the run
  recorded with its owner when it started (a run recorded before jobs were kept: every job
  that writes its kind);
- a window kills the shared worker under another window's job: the app's
  `runtime.model_jobs` tells that window (`run_fate`, or `rerun_words` for a job that waited).

The key is the job: the model worker's op (its request's name on the pipe). It says more than
the run's kind: a probe set writes one probe run per clip and running it again goes on with the
missing clips, where a single probe is run anew. `KIND_JOBS` names the jobs that write each
run kind; `RUNLESS_OPS` the worker's ops that write no run (nothing of theirs is cut short).
A leaf (no imports of the package): the store, the worker and the app all read it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KIND_JOBS", "RUNLESS_OPS", "RUN_FATES", "RunFate", "kind_fate", "rerun_advice",
           "rerun_words", "run_fate", "sole_job"]


@dataclass(frozen=True)
class RunFate:
    """The words for one job's run cut short; `{run}` in `rerun` is the run's id."""

    job: str     # the job, as another window or the sweep names it: "a probe"
    run: str     # its run: "probe run"
    kept: str    # what of the run is kept (a clause)
    rerun: str   # what running it again does, and where (the GUI's button, the CLI's command)
    anew: str = ""   # how to run it when nothing of it was written (it waited): else `rerun`


RUN_FATES = {
    "evaluate": RunFate(
        "an evaluation", "run", "its predictions up to its last saved batch are kept",
        "resume it to finish the run, without predicting those again (Resume in the Evaluate "
        "window, or mmla eval --resume {run})",
        "run it again (Run in the Evaluate window, or mmla eval)"),
    "probe": RunFate(
        "a probe", "probe run", "the cells it finished are kept",
        "probe the clip again for a whole probe (Run probe again in the Probe tab, or "
        "mmla probe)"),
    "probe_set": RunFate(
        "a probe set", "probe run", "the cells it finished of the clip it was probing, and "
        "the probes of the set's clips before it, are kept",
        "running the missing ones again goes on from there, without probing the finished "
        "clips again (Run the missing probes in the set's window, or mmla probe-table "
        "--run-missing)"),
    "checks": RunFate(
        "the model's check answers", "checks run", "the answers it saved are kept",
        "run the checks again to answer the clips anew (Model answers the checks, or "
        "mmla checks-model)"),
}
KIND_JOBS = {  # runs.kind -> the jobs that write runs of that kind
    "eval": ("evaluate",),
    "probe": ("probe", "probe_set"),
    "checks": ("checks",),
}
RUNLESS_OPS = ("load", "predict")  # worker ops that write no run
PLACEHOLDER = "RUN"  # a run's id where it is not known yet


def rerun_words(job: str, run_id: int | str = PLACEHOLDER, *, wrote: bool = True) -> str:
    """What running `job` again does, and where; `wrote=False`: nothing of it was written
    (it waited its turn), so it runs anew."""
    fate = RUN_FATES.get(job)
    if fate is None:
        return "run it again"
    return (fate.rerun if wrote else fate.anew or fate.rerun).format(run=run_id)


def rerun_advice(job: str, run_id: int | str = PLACEHOLDER) -> str:
    """What is kept of `job`'s run and what running it again does: "the cells it finished are
    kept: probe the clip again for a whole probe (...)"."""
    fate = RUN_FATES.get(job)
    return rerun_words(job, run_id) if fate is None else \
        f"{fate.kept}: {rerun_words(job, run_id)}"


def run_fate(job: str, run_id: int) -> str:
    """What became of run `run_id` of `job`, cut short, and what a rerun does: "probe run 12
    is marked failed (the cells it finished are kept): probe the clip again (...)"."""
    fate = RUN_FATES.get(job)
    if fate is None:
        return f"run {run_id} is marked failed: run it again"
    return f"{fate.run} {run_id} is marked failed ({fate.kept}): {rerun_words(job, run_id)}"


def sole_job(kind: str) -> str | None:
    """The job that writes runs of `kind` when only one does; None when the writer must say."""
    jobs = KIND_JOBS.get(kind, ())
    return jobs[0] if len(jobs) == 1 else None


def kind_fate(kind: str, run_id: int, job: str | None = None) -> str:
    """`rerun_advice` for a run of `kind` written by `job`; when the job is not known (or is no
    job of that kind), one clause per job that writes it ("if it was a probe, ...; if it was a
    probe set, ...")."""
    jobs = KIND_JOBS.get(kind, ())
    if job in jobs:
        jobs = (job,)
    if len(jobs) == 1:
        return rerun_advice(jobs[0], run_id)
    return "; ".join(f"if it was {RUN_FATES[job].job}, {rerun_advice(job, run_id)}"
                     for job in jobs) or "run it again"
