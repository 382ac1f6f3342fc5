"""``run_automl``: the single entry point the server's worker calls."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from automl.calendar_features import check_holidays
from automl.catalogue import ALGORITHMS_BY_PROBLEM
from automl.errors import InvalidDataError
from automl.events import Budget, EngineEvent, RunControl
from automl.metrics import check_metric
from automl.preprocessing import infer_schema
from automl.results import AutoMLResult
from automl.search import METHODS
from automl.search_spaces import Space, algorithm_space
from automl.validation import (
    as_table,
    as_target,
    check_cv_folds,
    check_problem_type,
    check_table,
    drop_missing_target,
    numeric_target,
)


def run_automl(
    X: pd.DataFrame,
    y: pd.Series | None = None,
    problem_type: str = "regression",
    *,
    budget: Budget | None = None,
    method: str = "auto",
    algorithms: Sequence[str] | None = None,
    cv_folds: int = 5,
    seed: int = 0,
    metric: str | None = None,
    callback: Callable[[EngineEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    forecast: Any = None,
    series_id: str | None = None,
    date_column: str | None = None,
    horizon: int | None = None,
    test_size: float = 0.2,
    ensemble: bool = True,
    n_jobs: int | None = None,
    tracker: Any = None,
    dataset_info: dict[str, Any] | None = None,
    holidays: str | None = None,
) -> AutoMLResult:
    """Search models and hyperparameters for ``problem_type`` within ``budget``.

    Blocking and CPU-bound: call it from a worker thread (``asyncio.to_thread``) or a process.
    ``callback(event)`` receives :class:`EngineEvent`s; ``should_stop()`` is polled between
    trials, between folds and inside long fits. When it turns true the run returns the best
    result so far (``stopped_reason == "cancelled"``) or raises :class:`automl.Cancelled` if no
    trial had completed. Forecasting takes a :class:`automl.ForecastConfig` as ``forecast`` (or
    ``series_id``, ``date_column``, ``horizon``). With a ``tracker`` (see
    :func:`automl.create_tracker`) the run is logged to MLflow; a tracking failure is recorded
    in ``result.tracking_error`` and never loses the result. Datetime columns (dtype
    ``datetime64``) become calendar features; ``holidays="BR"`` adds Brazil's national
    holidays to them (regression, classification, and forecasting's date column unless
    ``ForecastConfig(calendar=False)``).
    """
    started = time.monotonic()
    problem_type = check_problem_type(problem_type)
    budget = budget or Budget()
    budget.validate()
    if method not in METHODS:
        raise InvalidDataError(f"method must be one of {METHODS}, got {method!r}")
    cv_folds = check_cv_folds(cv_folds)
    holidays = check_holidays(holidays)
    if not 0 <= test_size < 0.9:
        raise InvalidDataError(f"test_size must be in [0, 0.9), got {test_size}")
    spaces = _spaces(problem_type, algorithms)
    control = RunControl(budget, callback, should_stop)
    jobs = n_jobs or os.cpu_count() or 1
    X = as_table(X)
    if problem_type == "forecasting":
        from automl.forecasting import ForecastConfig, run_forecasting

        config = forecast or ForecastConfig(
            series_id=series_id, date=date_column or "date", horizon=horizon or 7
        )
        result = run_forecasting(
            X, y, config, metric, spaces, method, control, cv_folds, seed, jobs, ensemble, holidays
        )
    elif problem_type == "clustering":
        from automl.clustering import run_clustering

        check_table(X)
        metric = check_metric(problem_type, metric)
        result = run_clustering(
            X, metric, infer_schema(X), spaces, method, control, seed, test_size
        )
    else:
        result = _run_supervised(
            X,
            y,
            problem_type,
            metric,
            spaces,
            method,
            control,
            cv_folds,
            seed,
            jobs,
            test_size,
            ensemble,
            holidays,
        )
    result.timings["total_seconds"] = time.monotonic() - started
    if tracker is not None:
        tracker.track(result, dataset_info or {})
    control.finish(
        f"Finished: {result.stopped_reason}; best {result.best_model_name} "
        f"{result.metric}={result.cv_score}"
    )
    return result


def _run_supervised(
    X: pd.DataFrame,
    y: Any,
    problem_type: str,
    metric: str | None,
    spaces: dict[str, Space],
    method: str,
    control: RunControl,
    cv_folds: int,
    seed: int,
    jobs: int,
    test_size: float,
    ensemble: bool,
    holidays: str | None,
) -> AutoMLResult:
    from automl.supervised import run_supervised

    check_table(X)
    target = as_target(y, X, problem_type)
    X, target, dropped = drop_missing_target(X, target)
    if dropped:
        control.log(f"Dropped {dropped} row(s) whose target is missing")
    if problem_type == "regression":
        target = numeric_target(target)
    elif not pd.api.types.is_numeric_dtype(target.dtype) and not pd.api.types.is_bool_dtype(
        target.dtype
    ):
        target = target.astype(str)
    if len(X) < 10:
        raise InvalidDataError(f"at least 10 rows with a target are needed, got {len(X)}")
    metric = check_metric(problem_type, metric)
    return run_supervised(
        X,
        target,
        problem_type,
        metric,
        infer_schema(X),
        spaces,
        method,
        control,
        cv_folds,
        seed,
        jobs,
        test_size,
        ensemble,
        holidays,
    )


def _spaces(problem_type: str, algorithms: Sequence[str] | None) -> dict[str, Space]:
    allowed = ALGORITHMS_BY_PROBLEM[problem_type]
    chosen = list(algorithms) if algorithms is not None else list(allowed)
    if not chosen:
        raise InvalidDataError("algorithms is empty; leave it None to search every family")
    unknown = [a for a in chosen if a not in allowed]
    if unknown:
        raise InvalidDataError(
            f"algorithm(s) {unknown} not available for {problem_type}; choose from {allowed}"
        )
    return {a: algorithm_space(a) for a in dict.fromkeys(chosen)}
