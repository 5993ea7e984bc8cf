"""Where a training job stands, folded from its events as they arrive (no Qt, no database).

The trainer records step and epoch per event; the share done comes from the config's budget
(`max_steps` when set, else `epochs`), and the ETA from the pace between the first and the last
event (LlamaBoard's "elapsed < remaining"), so a paused or resumed job does not count its pause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
    _first: tuple[float, float] | None = None  # (time, fraction) of the first timed event
    _last: tuple[float, float] | None = None

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
        moment, fraction = _seconds(event.get("at")), self.fraction
        if moment is not None and fraction is not None:
            self._first = self._first or (moment, fraction)
            self._last = (moment, fraction)

    @property
    def elapsed_s(self) -> float | None:
        if self._first is None or self._last is None:
            return None
        return self._last[0] - self._first[0]

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace seen so far; None before two timed events."""
        if self._first is None or self._last is None:
            return None
        (t0, f0), (t1, f1) = self._first, self._last
        if f1 >= 1.0:
            return 0.0
        if f1 <= f0 or t1 <= t0:
            return None
        return (1.0 - f1) * (t1 - t0) / (f1 - f0)

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
