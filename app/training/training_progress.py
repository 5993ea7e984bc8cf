"""Where a training job stands, folded from its events as they arrive (no Qt, no database).

The trainer records step and epoch per event; the share done comes from the config's budget
(`max_steps` when set, else `epochs`), and the ETA from the pace seen while it trained
(LlamaBoard's "elapsed < remaining"). A stop/resume splits the events into stretches (far more
time per step between two events than PAUSE_S and the pace so far, or a step going back to an
earlier checkpoint): elapsed and pace add up the stretches only, so a day paused never inflates
the ETA.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

PAUSE_S = 300.0  # more seconds per step between two events: a pause (stop/resume)...
PAUSE_PACES = 20  # ... when it is also this many times the pace so far


def _seconds(at: str | None) -> float | None:
    if not at:
        return None
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent_text(fraction: float | None) -> str:
    """The one way a share of a run is written (job table and progress bar alike): whole
    percent, rounded down, so 100% means done."""
    return "" if fraction is None else f"{math.floor(min(max(fraction, 0.0), 1.0) * 100)}%"


@dataclass
class JobProgress:
    """Folded state of one job; `add(events)` with each poll's new events (in id order)."""

    max_steps: int = -1
    epochs: float = 1.0
    total_steps: int | None = None  # what the trainer planned (training_jobs.total_steps)
    step: int = 0
    epoch: float | None = None
    loss: float | None = None
    learning_rate: float | None = None
    samples_per_s: float | None = None
    tokens_per_s: float | None = None
    gpu_mem_mb: float | None = None
    best_dev_accuracy: float | None = None
    test_accuracy: float | None = None
    _first: tuple[float, float] | None = None  # (time, fraction): this stretch's first event
    _last: tuple[float, float] | None = None  # ... and its last
    _last_step: int = -1  # the last timed event's own step (a resume may go back)
    _before_s: float = 0.0  # seconds trained in the earlier stretches
    _before_fraction: float = 0.0  # share of the budget they did
    _paced: tuple[float, int] = (0.0, 0)  # (seconds, steps) between events, pauses left out

    @classmethod
    def for_job(cls, job: dict | None) -> JobProgress:
        config = (job or {}).get("config") or {}
        return cls(max_steps=int(config.get("max_steps", -1) or -1),
                   epochs=float(config.get("epochs", 1.0) or 1.0),
                   total_steps=(job or {}).get("total_steps") or None)

    @property
    def planned_steps(self) -> int | None:
        if self.total_steps:
            return int(self.total_steps)
        return self.max_steps if self.max_steps > 0 else None

    def fraction_at(self, step: int, epoch: float | None) -> float | None:
        if self.planned_steps:
            return min(1.0, step / self.planned_steps)
        if epoch is not None and self.epochs > 0:
            return min(1.0, epoch / self.epochs)
        return None

    @property
    def fraction(self) -> float | None:
        return self.fraction_at(self.step, self.epoch)

    def add(self, events: list[dict]) -> None:
        for event in events:
            self._add_one(event)

    def _add_one(self, event: dict) -> None:
        kind = event.get("kind") or "train"
        self.step = max(self.step, int(event.get("step") or 0))
        if event.get("epoch") is not None:
            self.epoch = float(event["epoch"])
        if kind == "test":
            self.test_accuracy = event.get("eval_accuracy")
            return
        for name in ("loss", "learning_rate", "samples_per_s", "tokens_per_s", "gpu_mem_mb"):
            if event.get(name) is not None:
                setattr(self, name, float(event[name]))
        accuracy = event.get("eval_accuracy")
        if kind == "eval" and accuracy is not None:
            self.best_dev_accuracy = max(accuracy, self.best_dev_accuracy or 0.0)
        self._time(event)

    def _time(self, event: dict) -> None:
        """Extend the current stretch with this event, or start a new one after a pause."""
        step = int(event.get("step") or 0)
        moment, fraction = _seconds(event.get("at")), self.fraction_at(step, self.epoch)
        if moment is None or fraction is None:
            return
        if self._paused(moment, step):
            (t0, f0), (t1, f1) = self._first, self._last
            self._before_s += t1 - t0
            self._before_fraction += max(f1 - f0, 0.0)
            self._first = None
        elif self._last is not None:
            self._paced = (self._paced[0] + moment - self._last[0],
                           self._paced[1] + step - self._last_step)
        self._first = self._first or (moment, fraction)
        self._last, self._last_step = (moment, fraction), step

    def _paused(self, moment: float, step: int) -> bool:
        """A step back (resumed from an earlier checkpoint), or far more time per step since
        the last event than PAUSE_S and than the pace so far (a slow model or a long dev
        evaluation is not a pause)."""
        if self._last is None:
            return False
        if step < self._last_step:
            return True
        per_step = (moment - self._last[0]) / max(step - self._last_step, 1)
        seconds, steps = self._paced
        pace = seconds / steps if steps else 0.0
        return per_step > max(PAUSE_S, PAUSE_PACES * pace)

    @property
    def elapsed_s(self) -> float | None:
        """Seconds spent training: the stretches between events, pauses left out."""
        if self._first is None or self._last is None:
            return None
        return self._before_s + self._last[0] - self._first[0]

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace seen so far; None before two timed events."""
        if self._first is None or self._last is None:
            return None
        f0, f1 = self._first[1], self._last[1]
        if f1 >= 1.0:
            return 0.0
        spent, done = self.elapsed_s, self._before_fraction + f1 - f0
        if done <= 0 or spent <= 0:
            return None
        return (1.0 - f1) * spent / done

    def progress_text(self, finished: bool = False) -> str:
        """"step 120/200 · epoch 1.20 · 1:59 elapsed, 1:20 left" (no ETA once it ended)."""
        budget = f"/{self.planned_steps}" if self.planned_steps else ""
        parts = [f"step {self.step}{budget}"]
        if self.epoch is not None:
            parts.append(f"epoch {self.epoch:.2f}")
        timing = f"{format_duration(self.elapsed_s)} elapsed"
        parts.append(timing if finished else f"{timing}, {format_duration(self.eta_s)} left")
        return "  ·  ".join(parts)

    def throughput_text(self) -> str:
        shown = ((self.samples_per_s, "{:.2f} samples/s"), (self.tokens_per_s, "{:,.0f} tokens/s"),
                 (None if self.gpu_mem_mb is None else self.gpu_mem_mb / 1024, "GPU {:.1f} GiB"),
                 (self.loss, "loss {:.4f}"), (self.learning_rate, "lr {:.2e}"),
                 (self.best_dev_accuracy, "best dev {:.1%}"), (self.test_accuracy, "test {:.1%}"))
        parts = [fmt.format(value) for value, fmt in shown if value is not None]
        return "  ·  ".join(parts) or "no step logged yet"
