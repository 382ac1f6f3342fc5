"""Runs (executions of an experiment), their trials and events (models: domain/model/models.py)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.errors import Conflict, InvalidInput
from domain.model.common import new_id
from domain.model.experiments import ProblemType


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


class SearchMethod(enum.Enum):
    AUTO = "AUTO"
    RANDOM_SEARCH = "RANDOM_SEARCH"
    GRID_SEARCH = "GRID_SEARCH"
    BAYESIAN = "BAYESIAN"


MAX_TRIALS = 1000
MAX_TIMEOUT_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class RunConfig:
    """How a run searches: method, budget, candidate families, folds and seed."""

    method: SearchMethod = SearchMethod.AUTO
    max_trials: int | None = 20
    timeout_seconds: int | None = 300
    algorithms: tuple[str, ...] | None = None
    cv_folds: int = 5
    seed: int = 0
    # Forecasting only: which column names the series (None: one series), which holds the
    # date (None: the dataset's first date column), and how many periods to forecast.
    series_id: str | None = None
    date_column: str | None = None
    horizon: int = 7

    def check(self, problem_type: ProblemType, known_algorithms: Sequence[str]) -> RunConfig:
        """Validate against the problem type and the algorithms the engine offers for it
        (its catalogue); returns self for chaining."""
        if self.max_trials is None and self.timeout_seconds is None:
            raise InvalidInput("Give the budget maxTrials, timeoutSeconds or both.", "budget")
        if self.max_trials is not None and not 1 <= self.max_trials <= MAX_TRIALS:
            raise InvalidInput(f"maxTrials must be from 1 to {MAX_TRIALS}.", "max_trials")
        if (
            self.timeout_seconds is not None
            and not 1 <= self.timeout_seconds <= MAX_TIMEOUT_SECONDS
        ):
            raise InvalidInput(
                f"timeoutSeconds must be from 1 to {MAX_TIMEOUT_SECONDS}.", "timeout_seconds"
            )
        if not 2 <= self.cv_folds <= 10:
            raise InvalidInput("cvFolds must be from 2 to 10.", "cv_folds")
        if not 0 <= self.seed <= 2**31 - 1:
            raise InvalidInput("seed must be from 0 to 2147483647.", "seed")
        if not 1 <= self.horizon <= 365:
            raise InvalidInput("The forecast horizon must be from 1 to 365 periods.", "horizon")
        known = tuple(known_algorithms)
        if self.algorithms is not None:
            unknown = [a for a in self.algorithms if a not in known]
            if unknown or not self.algorithms:
                raise InvalidInput(
                    f"Unknown algorithm(s) {', '.join(unknown) or '(none given)'} for "
                    f"{problem_type.value.lower()}; choose from: {', '.join(known)}.",
                    "algorithms",
                )
        return self


@dataclass(frozen=True, slots=True)
class EnsembleMember:
    """One trial of the model a run delivered, with its weight in the blend."""

    trial_number: int
    algorithm: str
    weight: float
    score: float | None = None


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """What a finished training scored: the delivered model (one trial or an ensemble of
    trials), its cross-validated and held-out scores, and why the search stopped."""

    metric: str
    cv_score: float | None
    best_algorithm: str
    trials: int
    stopped_reason: str
    cv: dict[str, float | None] = field(default_factory=dict)
    test: dict[str, float | None] = field(default_factory=dict)
    ensemble: bool = False
    # The trials the delivered model is made of: one (weight 1) or an ensemble's members.
    # Empty for runs recorded before members were kept.
    members: tuple[EnsembleMember, ...] = ()

    @property
    def best_trial_number(self) -> int | None:
        """The one trial the delivered model is; None for an ensemble (or when unknown)."""
        if self.ensemble or len(self.members) != 1:
            return None
        return self.members[0].trial_number


@dataclass(frozen=True, slots=True)
class BestTrialQuery:
    """Which trial to show as a run's best: the one its model is, when the run delivered one
    (`number`), else the top-scored of the current attempt."""

    run_id: str
    attempt: int
    metric: str
    number: int | None = None


class StaleAttempt(Conflict):
    """A write from an attempt that is no longer the run's current one (a fenced-off worker)."""


@dataclass(slots=True)
class Run:
    """One execution of an experiment, fenced by its attempt number."""

    account_id: str
    experiment_id: str
    status: RunStatus
    attempt: int
    progress: float
    queued_at: datetime
    config: RunConfig = field(default_factory=RunConfig)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    error: str | None = None
    metrics: RunMetrics | None = None
    mlflow_run_id: str | None = None
    idempotency_key: str | None = None
    version: int = 0  # optimistic lock: every save checks and bumps it
    handed_back: int = 0  # attempts given back by a stopping worker (not failures)
    id: str = field(default_factory=new_id)

    @classmethod
    def queue(
        cls,
        account_id: str,
        experiment_id: str,
        config: RunConfig,
        now: datetime,
        idempotency_key: str | None = None,
    ) -> Run:
        return cls(
            account_id=account_id,
            experiment_id=experiment_id,
            status=RunStatus.QUEUED,
            attempt=1,
            progress=0.0,
            queued_at=now,
            config=config,
            idempotency_key=idempotency_key,
        )

    def best_trial_query(self, metric: str) -> BestTrialQuery | None:
        """How to find the trial to show as this run's best; None when its delivered model is
        an ensemble, which no single trial is (`metrics.members` names its trials)."""
        if self.metrics is not None and self.metrics.ensemble:
            return None
        number = self.metrics.best_trial_number if self.metrics is not None else None
        return BestTrialQuery(self.id, self.attempt, metric, number)

    @property
    def job_id(self) -> str:
        """Deterministic, so that enqueuing the same attempt twice runs it once."""
        return f"run:{self.id}:{self.attempt}"

    def move_to(self, status: RunStatus, now: datetime) -> None:
        """Change status if the state machine allows it; otherwise a Conflict."""
        if status not in _TRANSITIONS.get(self.status, frozenset()):
            raise Conflict(
                f"Run {self.id} is {self.status.value}; it cannot become {status.value}."
            )
        self.status = status
        if status is RunStatus.RUNNING:
            self.started_at = now
            self.heartbeat_at = now
        if status.is_terminal:
            self.finished_at = now

    def fence(self, attempt: int) -> None:
        """Refuse writes from any attempt but the current one."""
        if attempt != self.attempt:
            raise StaleAttempt(
                f"Attempt {attempt} of run {self.id} is stale; attempt {self.attempt} owns it."
            )

    def claim(self, attempt: int, now: datetime) -> None:
        """A worker starts this attempt: QUEUED -> RUNNING."""
        self.fence(attempt)
        if self.status is not RunStatus.QUEUED:
            raise StaleAttempt(f"Run {self.id} is {self.status.value}; nothing to start.")
        self.move_to(RunStatus.RUNNING, now)

    def beat(self, attempt: int, progress: float, now: datetime) -> None:
        self.fence(attempt)
        if self.status not in (RunStatus.RUNNING, RunStatus.CANCELING):
            raise StaleAttempt(f"Run {self.id} is {self.status.value}; no longer running.")
        self.heartbeat_at = now
        self.progress = max(self.progress, min(1.0, max(0.0, progress)))

    def request_cancel(self, now: datetime) -> None:
        """Queued runs cancel at once; running ones are asked to stop."""
        if self.status in (RunStatus.QUEUED, RunStatus.CRASHED):
            self.move_to(RunStatus.CANCELED, now)
        elif self.status is RunStatus.RUNNING:
            self.move_to(RunStatus.CANCELING, now)
        elif self.status is not RunStatus.CANCELING:
            raise Conflict(f"Run {self.id} is already {self.status.value}; nothing to cancel.")

    def is_stale(self, now: datetime, timeout: timedelta) -> bool:
        """A running attempt whose worker stopped heart-beating."""
        return (
            self.status in (RunStatus.RUNNING, RunStatus.CANCELING)
            and self.heartbeat_at is not None
            and now - self.heartbeat_at > timeout
        )

    def retry_after_crash(self, now: datetime, max_attempts: int) -> bool:
        """CRASHED -> QUEUED as a new attempt, or FAILED when attempts are used up."""
        was_canceling = self.status is RunStatus.CANCELING
        self.move_to(RunStatus.CRASHED, now)
        if was_canceling:
            self.move_to(RunStatus.CANCELED, now)
            return False
        counted = self.attempt - self.handed_back  # attempts handed back are not failures
        if counted >= max_attempts:
            self.error = (
                f"The worker stopped responding on attempt {counted} of {max_attempts}; giving up."
            )
            self.move_to(RunStatus.FAILED, now)
            return False
        self.move_to(RunStatus.QUEUED, now)
        self._next_attempt()
        return True

    def hand_back(self, attempt: int, now: datetime) -> bool:
        """A stopping worker gives its attempt back: RUNNING -> QUEUED as a new attempt that
        does not count toward the attempt limit. A run asked to cancel ends CANCELED instead.
        Returns True when the run is queued again."""
        self.fence(attempt)
        if self.status is RunStatus.CANCELING:
            self.move_to(RunStatus.CANCELED, now)
            return False
        if self.status is not RunStatus.RUNNING:
            raise StaleAttempt(f"Run {self.id} is {self.status.value}; nothing to hand back.")
        self.status = RunStatus.QUEUED  # not a transition of the run's own: the worker left
        self.handed_back += 1
        self._next_attempt()
        return True

    def _next_attempt(self) -> None:
        self.attempt += 1
        self.progress = 0.0
        self.started_at = None
        self.heartbeat_at = None


class RunEventType(enum.Enum):
    STATUS = "STATUS"
    PROGRESS = "PROGRESS"
    TRIAL = "TRIAL"
    BEST = "BEST"
    LOG = "LOG"
    ERROR = "ERROR"

    @property
    def is_milestone(self) -> bool:
        """Milestones are also kept in the database, so history survives the event stream."""
        return self in (
            RunEventType.STATUS,
            RunEventType.TRIAL,
            RunEventType.BEST,
            RunEventType.ERROR,
        )


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One entry of a run's ordered log; `seq` is gap-free per run."""

    run_id: str
    seq: int
    at: datetime
    type: RunEventType
    message: str | None = None
    progress: float | None = None
    data: dict[str, Any] | None = None

    @property
    def ends_run(self) -> bool:
        return (
            self.type is RunEventType.STATUS
            and self.data is not None
            and RunStatus(self.data["status"]).is_terminal
        )


@dataclass(frozen=True, slots=True)
class NewRunEvent:
    """An event before the log gives it its sequence number."""

    type: RunEventType
    message: str | None = None
    progress: float | None = None
    data: dict[str, Any] | None = None

    @classmethod
    def status(cls, run: Run, **extra: Any) -> NewRunEvent:
        return cls(
            RunEventType.STATUS,
            message=f"Run is {run.status.value}",
            progress=run.progress,
            data={"status": run.status.value, "attempt": run.attempt, "error": run.error, **extra},
        )


@dataclass(slots=True)
class Trial:
    """One candidate the search evaluated."""

    run_id: str
    account_id: str
    attempt: int
    number: int
    algorithm: str
    params: dict[str, Any]
    score: float | None
    status: str
    duration_seconds: float | None
    id: str = field(default_factory=new_id)
