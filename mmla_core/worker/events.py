"""What crosses the model worker's pipe: requests in, events out, as plain dicts (they pickle
across `spawn` and need no class on either side).

A request is `{"op": OP, "request": ID, ...payload}` (OP: load, evaluate, predict, probe,
probe_set, checks; `stop` carries no id). An event is
`{"type": TYPE, "request": ID, ...fields}`: `ready` (pid) when the process is up, `loaded`
(info), `progress` (evaluation: an EvalProgress as fields; probe sets and checks: done, total
and maybe run_id), `cell` (a probe's ProbeCell as a dict), `prediction` (result),
`finished` (run_id, status, error), `error` (message, traceback), `stopped`, and for every run
a request starts `run_started` (run_id) then `run_ended` (run_id, status); the client adds
`crashed` (exitcode, message, requests, run_ids, log_tail, log_path) when the process died.
A request ends with one of FINAL_EVENTS.
"""

from __future__ import annotations

__all__ = ["FINAL_EVENTS", "finished", "is_final", "make_event", "make_request"]

FINAL_EVENTS = ("finished", "prediction", "loaded", "error", "crashed")


def make_request(op: str, request_id: int, **payload) -> dict:
    return {"op": op, "request": request_id, **payload}


def make_event(kind: str, request_id: int | None, **fields) -> dict:
    return {"type": kind, "request": request_id, **fields}


def finished(request_id: int, run_id: int | None, status: str, error: str | None = None) -> dict:
    """A run-like request's end: its run (None for a probe set, 0 for a sharded evaluation)."""
    return make_event("finished", request_id, run_id=run_id, status=status, error=error)


def is_final(message: dict, request_id: int | None = None) -> bool:
    """Whether `message` ends a request (`request_id`'s, when given); a crash ends them all."""
    if message.get("type") == "crashed":
        return True
    if request_id is not None and message.get("request") != request_id:
        return False
    return message.get("type") in FINAL_EVENTS
