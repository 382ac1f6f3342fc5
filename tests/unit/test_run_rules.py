"""Run rules: configuration checks, fencing, crash retries, cancel semantics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import Conflict, InvalidInput
from domain.model.experiments import ProblemType
from domain.model.runs import (
    Run,
    RunConfig,
    RunStatus,
    StaleAttempt,
)

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def running(attempt: int = 1) -> Run:
    run = Run.queue("acc", "exp", RunConfig(), NOW)
    run.attempt = attempt
    run.claim(attempt, NOW)
    return run


SUPERVISED = ("lightgbm", "linear")


def test_a_config_accepts_the_algorithms_it_is_given() -> None:
    config = RunConfig(algorithms=("linear",))
    assert config.check(ProblemType.REGRESSION, SUPERVISED) is config


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (RunConfig(max_trials=None, timeout_seconds=None), "budget"),
        (RunConfig(max_trials=1001), "max_trials"),
        (RunConfig(timeout_seconds=0), "timeout_seconds"),
        (RunConfig(cv_folds=11), "cv_folds"),
        (RunConfig(algorithms=("kmeans",)), "algorithms"),
        (RunConfig(algorithms=()), "algorithms"),
        (RunConfig(horizon=0), "horizon"),
    ],
)
def test_bad_configurations_name_the_domain_field(config: RunConfig, field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        config.check(ProblemType.REGRESSION, SUPERVISED)
    assert raised.value.field == field


def test_a_stale_attempt_cannot_write() -> None:
    run = running()
    with pytest.raises(StaleAttempt):
        run.beat(2, 0.5, NOW)
    with pytest.raises(StaleAttempt):
        run.claim(1, NOW)  # already running: a duplicate delivery


def test_a_crashed_run_is_retried_until_attempts_run_out() -> None:
    run = running()
    later = NOW + timedelta(minutes=1)
    assert run.is_stale(later, timedelta(seconds=30))
    assert run.retry_after_crash(later, max_attempts=2) is True
    assert (run.status, run.attempt, run.job_id) == (RunStatus.QUEUED, 2, f"run:{run.id}:2")
    run.claim(2, later)
    assert run.retry_after_crash(later, max_attempts=2) is False
    assert run.status is RunStatus.FAILED
    assert "attempt 2 of 2" in (run.error or "")


def test_a_crash_while_canceling_ends_canceled() -> None:
    run = running()
    run.request_cancel(NOW)
    canceling = run.status  # (asserting on run.status itself would narrow it for mypy)
    assert canceling is RunStatus.CANCELING
    assert run.retry_after_crash(NOW, max_attempts=3) is False
    assert run.status is RunStatus.CANCELED


def test_finished_runs_cannot_be_canceled() -> None:
    run = running()
    run.move_to(RunStatus.SUCCEEDED, NOW)
    with pytest.raises(Conflict):
        run.request_cancel(NOW)


def test_a_stopping_worker_hands_its_attempt_back_without_using_up_attempts() -> None:
    run = running()
    assert run.hand_back(1, NOW) is True
    assert (run.status, run.attempt, run.job_id) == (RunStatus.QUEUED, 2, f"run:{run.id}:2")
    with pytest.raises(StaleAttempt):
        run.hand_back(1, NOW)  # a second hand-back of the same attempt
    run.claim(2, NOW)
    assert run.hand_back(2, NOW) is True
    run.claim(3, NOW)
    # Two attempts were handed back, so with three allowed a crash is still retried.
    assert run.retry_after_crash(NOW, max_attempts=3) is True
    assert (run.status, run.attempt) == (RunStatus.QUEUED, 4)


def test_a_run_asked_to_cancel_ends_canceled_when_handed_back() -> None:
    run = running()
    run.request_cancel(NOW)
    assert run.hand_back(1, NOW) is False
    assert run.status is RunStatus.CANCELED


def test_only_a_running_attempt_can_be_handed_back() -> None:
    run = Run.queue("acc", "exp", RunConfig(), NOW)
    with pytest.raises(StaleAttempt):
        run.hand_back(1, NOW)
