"""Runs (executions of an experiment) and the models they produce."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.errors import Conflict
from domain.model.common import new_id


class RunStatus(enum.Enum):
    """Where a run is in its life; see ARCHITECTURE.md for the transitions."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    CANCELING = "CANCELING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    CRASHED = "CRASHED"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELED})
ACTIVE_STATUSES = frozenset(
    {RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.CANCELING, RunStatus.CRASHED}
)

_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.QUEUED: frozenset({RunStatus.RUNNING, RunStatus.CANCELED, RunStatus.FAILED}),
    RunStatus.RUNNING: frozenset(
        {
            RunStatus.SUCCEEDED,
            RunStatus.FAILED,
            RunStatus.CANCELING,
            RunStatus.CANCELED,
            RunStatus.CRASHED,
        }
    ),
    RunStatus.CANCELING: frozenset({RunStatus.CANCELED, RunStatus.CRASHED, RunStatus.FAILED}),
    RunStatus.CRASHED: frozenset({RunStatus.QUEUED, RunStatus.FAILED, RunStatus.CANCELED}),
}


@dataclass(slots=True)
class Run:
    """One execution of an experiment (train or tune), fenced by its attempt number."""

    account_id: str
    experiment_id: str
    status: RunStatus
    attempt: int
    progress: float
    queued_at: datetime
    config: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    metrics: dict[str, Any] | None = None
    mlflow_run_id: str | None = None
    id: str = field(default_factory=new_id)

    @classmethod
    def queue(
        cls, account_id: str, experiment_id: str, config: dict[str, Any], now: datetime
    ) -> Run:
        return cls(
            account_id=account_id,
            experiment_id=experiment_id,
            status=RunStatus.QUEUED,
            attempt=1,
            progress=0.0,
            queued_at=now,
            config=config,
        )

    def move_to(self, status: RunStatus, now: datetime) -> None:
        """Change status if the state machine allows it; otherwise a Conflict."""
        if status not in _TRANSITIONS.get(self.status, frozenset()):
            raise Conflict(
                f"Run {self.id} is {self.status.value}; it cannot become {status.value}."
            )
        self.status = status
        if status is RunStatus.RUNNING:
            self.started_at = now
        if status.is_terminal:
            self.finished_at = now


class ModelStage(enum.Enum):
    """Lifecycle of a registered model."""

    NONE = "NONE"
    STAGING = "STAGING"
    PRODUCTION = "PRODUCTION"
    ARCHIVED = "ARCHIVED"


@dataclass(slots=True)
class Model:
    """A fitted model a succeeded run registered."""

    account_id: str
    experiment_id: str
    run_id: str
    stage: ModelStage
    metrics: dict[str, Any]
    created_at: datetime
    feature_importances: dict[str, float] | None = None
    artifact_key: str | None = None
    id: str = field(default_factory=new_id)
