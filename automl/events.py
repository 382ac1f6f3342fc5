"""Run control: budget, progress events sent to the caller and the stop check."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from automl.errors import InvalidDataError, TrialInterrupted

logger = logging.getLogger("automl")

EventType = Literal["trial_started", "trial_finished", "best", "progress", "log"]
EVENT_TYPES = ("trial_started", "trial_finished", "best", "progress", "log")


@dataclass(slots=True)
class EngineEvent:
    """One thing that happened during a run, JSON-safe (``data`` holds plain values only)."""

    type: EventType
    message: str = ""
    progress: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form, e.g. to publish on a stream."""
        return {
            "type": self.type,
            "message": self.message,
            "progress": self.progress,
            "data": self.data,
        }


@dataclass(slots=True, frozen=True)
class Budget:
    """How much search a run may do: a number of trials and/or wall-clock seconds.

    The run stops at whichever limit comes first; at least one must be set and positive.
    ``timeout_seconds`` covers the whole run (search, ensemble, refit), with a small overshoot
    when a single fit cannot be interrupted.
    """

    max_trials: int | None = 20
    timeout_seconds: float | None = 60.0

    def validate(self) -> None:
        """Raise :class:`InvalidDataError` when the budget allows no work at all."""
        if self.max_trials is None and self.timeout_seconds is None:
            raise InvalidDataError("budget must set max_trials or timeout_seconds")
        if self.max_trials is not None and self.max_trials < 1:
            raise InvalidDataError(f"budget max_trials must be >= 1, got {self.max_trials}")
        if self.timeout_seconds is not None and not (
            math.isfinite(self.timeout_seconds) and self.timeout_seconds > 0
        ):
            raise InvalidDataError(
                f"budget timeout_seconds must be a positive number, got {self.timeout_seconds}"
            )


class RunControl:
    """Sends events to the caller's callback and answers "must this run stop now?".

    A callback that raises is logged and ignored: a broken listener never kills training.
    """

    def __init__(
        self,
        budget: Budget,
        callback: Callable[[EngineEvent], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget = budget
        self._callback = callback
        self._should_stop = should_stop
        self._clock = clock
        self.started = clock()
        self.cancelled = False
        self.trials_done = 0

    # time -----------------------------------------------------------------
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return self._clock() - self.started

    def remaining(self) -> float:
        """Seconds left in the time budget (infinite when there is none)."""
        if self.budget.timeout_seconds is None:
            return math.inf
        return self.budget.timeout_seconds - self.elapsed()

    # stop -----------------------------------------------------------------
    def stop_requested(self) -> bool:
        """True once the caller's ``should_stop()`` returned true (sticky)."""
        if not self.cancelled and self._should_stop is not None and self._should_stop():
            self.cancelled = True
            self.log("Stop requested by the caller")
        return self.cancelled

    def check(self, honour_deadline: bool = True) -> None:
        """Raise :class:`TrialInterrupted` when the caller stops or the time is up."""
        if self.stop_requested():
            raise TrialInterrupted("cancelled")
        if honour_deadline and self.remaining() <= 0:
            raise TrialInterrupted("timeout")

    # events ---------------------------------------------------------------
    def progress(self) -> float:
        """Fraction of the budget used, in [0, 1)."""
        fractions = [0.0]
        if self.budget.max_trials:
            fractions.append(self.trials_done / self.budget.max_trials)
        if self.budget.timeout_seconds:
            fractions.append(self.elapsed() / self.budget.timeout_seconds)
        return min(max(fractions), 0.99)

    def emit(self, type_: EventType, message: str = "", data: dict[str, Any] | None = None) -> None:
        """Send one event to the callback (if any)."""
        event = EngineEvent(type_, message, round(self.progress(), 4), data or {})
        if self._callback is None:
            return
        try:
            self._callback(event)
        except Exception:
            logger.exception("AutoML event callback failed on %s event", type_)

    def log(self, message: str, **data: Any) -> None:
        """Log a line and send it as a ``log`` event."""
        logger.info(message)
        self.emit("log", message, data)

    def finish(self, message: str) -> None:
        """Send the final progress event (progress 1.0)."""
        if self._callback is None:
            return
        try:
            self._callback(EngineEvent("progress", message, 1.0, {"trials_done": self.trials_done}))
        except Exception:
            logger.exception("AutoML event callback failed on the final progress event")
