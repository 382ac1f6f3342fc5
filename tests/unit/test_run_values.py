"""Typed run values: stored as the JSON runs always had, and a run's best is its model."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.model.runs import EnsembleMember, Run, RunConfig, RunMetrics, SearchMethod
from server.adapters.db.run_json import (
    config_from_json,
    config_to_json,
    metrics_from_json,
    metrics_to_json,
)
from server.schema.runs import config_json, metrics_json

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
ENSEMBLE = RunMetrics(
    metric="rmse",
    cv_score=7.1,
    best_algorithm="ensemble",
    trials=12,
    stopped_reason="max_trials",
    cv={"rmse": 7.1, "r2": 0.9},
    test={"rmse": 7.4},
    ensemble=True,
    members=(
        EnsembleMember(3, "extra_trees", 0.6, 7.3),
        EnsembleMember(8, "lightgbm", 0.4, 7.5),
    ),
)
SINGLE = RunMetrics("rmse", 7.3, "extra_trees", 12, "max_trials", members=(ENSEMBLE.members[0],))
# A row written before members were kept.
OLD_ROW = {
    "metric": "rmse",
    "cvScore": 7.1,
    "cv": {"rmse": 7.1},
    "test": {},
    "bestAlgorithm": "ensemble",
    "trials": 12,
    "stoppedReason": "max_trials",
    "ensemble": True,
}


def test_config_is_stored_in_the_shape_runs_always_had() -> None:
    config = RunConfig(SearchMethod.BAYESIAN, 5, None, ("lightgbm",), 3, 7, "sku", "day", 14)
    stored = config_to_json(config)
    assert stored == {
        "method": "BAYESIAN",
        "maxTrials": 5,
        "timeoutSeconds": None,
        "algorithms": ["lightgbm"],
        "cvFolds": 3,
        "seed": 7,
        "seriesId": "sku",
        "dateColumn": "day",
        "horizon": 14,
    }
    assert config_from_json(stored) == config
    assert config_json(config) == stored  # and clients read the same JSON as before


def test_metrics_round_trip_and_old_rows_still_read() -> None:
    assert metrics_from_json(metrics_to_json(ENSEMBLE)) == ENSEMBLE
    old = metrics_from_json(OLD_ROW)
    assert (old.ensemble, old.members, old.cv_score) == (True, (), 7.1)
    assert metrics_json(old) == OLD_ROW  # the API's JSON keeps its keys, no more


def test_a_run_whose_model_is_an_ensemble_names_no_single_best_trial() -> None:
    run = Run.queue("acc", "exp", RunConfig(), NOW)
    ranked = run.best_trial_query("rmse")
    assert ranked is not None and ranked.number is None  # no model yet: rank by score
    run.metrics = ENSEMBLE
    assert run.best_trial_query("rmse") is None
    run.metrics = SINGLE
    single = run.best_trial_query("rmse")
    assert single is not None and single.number == 3  # exactly the trial the model is
