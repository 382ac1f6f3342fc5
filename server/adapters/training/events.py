"""The engine's event payloads, typed for the domain (`domain.ports.TrainingEvent`).

The only place that reads the engine's payload keys. Each typed event keeps the payload as
its `data`: that JSON is what clients see in `runEvents`, unchanged.
"""

from __future__ import annotations

from typing import Any

import automl
from domain.ports import Best, Log, Progress, TrainingEvent, TrialFinished


def training_event(event: automl.EngineEvent) -> TrainingEvent:
    """Type one engine event; `trial_started` (and any kind this adapter does not know)
    becomes a `Log` line."""
    data = dict(event.data)
    message, progress = event.message, event.progress
    if event.type == "trial_finished":
        return TrialFinished(
            number=int(data.get("number", 0)),
            algorithm=str(data.get("algorithm", "")),
            params=dict(data.get("params") or {}),
            score=_number(data.get("cv_score")),
            status=str(data.get("status", "complete")),
            duration_seconds=_number(data.get("duration_seconds")),
            message=message,
            progress=progress,
            data=data,
        )
    if event.type == "best":
        return Best(
            number=int(data.get("number", 0)),
            algorithm=str(data.get("algorithm", "")),
            score=_number(data.get("cv_score")),
            message=message,
            progress=progress,
            data=data,
        )
    if event.type == "progress":
        trials = data.get("trials_done", 0)
        return Progress(int(trials or 0), message, progress, data)
    return Log(message, progress, data)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
