"""Progress events, cancellation, budgets and reproducibility."""

from __future__ import annotations

import json
import time

import pytest

from automl import Budget, Cancelled, EngineEvent, run_automl
from automl.candidates import build_pipeline, fit_pipeline
from automl.errors import TrialInterrupted
from automl.events import RunControl
from automl.preprocessing import infer_schema


def test_events_announce_trials_scores_bests_and_progress(house_data):
    X, y = house_data
    events: list[EngineEvent] = []
    run_automl(
        X,
        y,
        "regression",
        budget=Budget(max_trials=3, timeout_seconds=None),
        cv_folds=2,
        callback=events.append,
    )
    types = [e.type for e in events]
    assert types.count("trial_started") == 3 and types.count("trial_finished") == 3
    assert "best" in types and "log" in types
    finished = [e for e in events if e.type == "trial_finished"]
    assert {"number", "algorithm", "params", "cv_score", "status"} <= set(finished[0].data)
    progress = [e.progress for e in events if e.type == "progress"]
    assert progress == sorted(progress) and progress[-1] == 1.0
    json.dumps([e.to_dict() for e in events], allow_nan=False)


def test_stop_after_some_events_returns_the_best_so_far_quickly(house_data):
    X, y = house_data
    events: list[EngineEvent] = []
    started = time.monotonic()
    result = run_automl(
        X,
        y,
        "regression",
        budget=Budget(max_trials=500, timeout_seconds=None),
        cv_folds=2,
        callback=events.append,
        should_stop=lambda: sum(e.type == "trial_finished" for e in events) >= 2,
    )
    assert time.monotonic() - started < 15
    assert result.stopped_reason == "cancelled"
    assert 2 <= len(result.leaderboard) <= 3
    assert result.best_estimator.predict(X.head(2)).shape == (2,)


@pytest.mark.parametrize(
    ("algorithm", "params"),
    [
        ("lightgbm", {"n_estimators": 20_000, "learning_rate": 0.01, "num_leaves": 63}),
        ("random_forest", {"n_estimators": 5_000, "max_features": 1.0, "min_samples_leaf": 1}),
        ("hist_gradient_boosting", {"max_iter": 5_000, "learning_rate": 0.01}),
    ],
)
def test_a_long_fit_is_interrupted_within_a_second(house_data, algorithm, params):
    X, y = house_data
    schema = infer_schema(X)
    pipeline = build_pipeline(algorithm, params, "regression", schema, seed=0, n_jobs=2)
    control = RunControl(
        Budget(max_trials=1, timeout_seconds=None), should_stop=lambda: time.monotonic() > stop_at
    )
    stop_at = time.monotonic() + 0.5
    with pytest.raises(TrialInterrupted):
        fit_pipeline(pipeline, X, y, control.check)
    assert time.monotonic() - stop_at < 1.5


def test_stop_before_any_trial_raises_cancelled(house_data):
    X, y = house_data
    with pytest.raises(Cancelled):
        run_automl(X, y, "regression", should_stop=lambda: True)


def test_time_budget_is_respected(house_data):
    X, y = house_data
    started = time.monotonic()
    result = run_automl(
        X, y, "regression", budget=Budget(max_trials=None, timeout_seconds=4), cv_folds=2
    )
    assert time.monotonic() - started < 7
    assert result.stopped_reason == "timeout"


def test_a_failing_callback_does_not_stop_training(house_data):
    X, y = house_data

    def broken(event: EngineEvent) -> None:
        raise RuntimeError("listener is down")

    result = run_automl(
        X,
        y,
        "regression",
        budget=Budget(max_trials=1, timeout_seconds=None),
        algorithms=["linear"],
        cv_folds=2,
        callback=broken,
    )
    assert result.best_trial.status == "complete"


@pytest.mark.parametrize("method", ["bayesian", "random_search", "grid_search"])
def test_same_seed_gives_the_same_leaderboard(churn_data, method):
    X, y = churn_data

    def board(seed: int) -> list[tuple]:
        result = run_automl(
            X,
            y,
            "classification",
            method=method,
            seed=seed,
            cv_folds=2,
            budget=Budget(max_trials=6, timeout_seconds=None),
            algorithms=["lightgbm", "linear"],
        )
        return [(t.number, t.algorithm, t.params, t.cv_score) for t in result.leaderboard]

    first = board(seed=7)
    assert first == board(seed=7)
    if method != "grid_search":
        assert first != board(seed=8)


def test_grid_search_interleaves_families_and_stops_when_exhausted(customers):
    result = run_automl(
        customers,
        None,
        "clustering",
        method="grid_search",
        algorithms=["kmeans", "hdbscan"],
        budget=Budget(max_trials=100, timeout_seconds=None),
    )
    assert result.stopped_reason == "grid_exhausted"
    assert len(result.leaderboard) == 11 + 9
    by_number = sorted(result.leaderboard, key=lambda t: t.number)
    assert [t.algorithm for t in by_number[:2]] == ["kmeans", "hdbscan"]
