"""Errors the engine raises on purpose (everything else is a bug)."""

from __future__ import annotations


class AutoMLError(Exception):
    """Base class of the engine's own errors."""


class InvalidDataError(AutoMLError, ValueError):
    """The data, target or options given to the engine cannot be used; the message says why."""


class Cancelled(AutoMLError):
    """The caller asked to stop (``should_stop()``) before any trial completed.

    When at least one trial completed, a cancelled run returns the best result so far instead
    (``AutoMLResult.stopped_reason == "cancelled"``).
    """


class TrialInterrupted(AutoMLError):
    """Raised inside a fit (LightGBM callback, forest chunk) to abandon the current trial."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
