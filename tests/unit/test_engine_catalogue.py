"""The engine's catalogue as the domain sees it (one source for algorithms, metrics, column
kinds), and the engine's events typed by the trainer adapter."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from automl import catalogue
from automl.candidates import build_estimator
from automl.events import EngineEvent
from automl.metrics import (
    check_metric,
    classification_metrics,
    clustering_metrics,
    regression_metrics,
)
from automl.results import TrialResult
from automl.search_spaces import algorithm_space, default_params
from domain.model.datasets import Dataset, DatasetColumn
from domain.model.experiments import Experiment, ProblemType
from domain.ports import Best, Log, Progress, TrialFinished
from server.adapters.training.catalogue import AutoMLCatalogue
from server.adapters.training.events import training_event

CATALOGUE = AutoMLCatalogue()
NOW = datetime(2026, 11, 25, tzinfo=UTC)
DEFAULTS = {
    ProblemType.REGRESSION: "rmse",
    ProblemType.CLASSIFICATION: "roc_auc",
    ProblemType.CLUSTERING: "silhouette",
    ProblemType.FORECASTING: "mae",
}


@pytest.mark.parametrize(("problem_type", "default"), DEFAULTS.items())
def test_the_server_and_the_engine_default_to_the_same_metric(problem_type, default):
    assert CATALOGUE.metrics(problem_type)[0] == default
    assert check_metric(problem_type.value.lower(), None) == default


def test_an_experiment_without_a_metric_gets_the_catalogues_default() -> None:
    column = DatasetColumn("churned", "boolean", missing_count=0, unique_count=2)
    dataset = Dataset("acc", "d", "key", 10, 100, [column], NOW, "ds")
    experiment = Experiment.define(
        account_id="acc",
        dataset=dataset,
        name="churn",
        description=None,
        problem_type=ProblemType.CLASSIFICATION,
        target="churned",
        metric=None,
        metrics=CATALOGUE.metrics(ProblemType.CLASSIFICATION),
        now=NOW,
    )
    assert experiment.metric == "roc_auc"


def test_every_catalogued_metric_is_computed_by_the_engine() -> None:
    y = np.array([0, 1, 0, 1, 1, 0])
    proba = np.column_stack([1 - y * 0.8 - 0.1, y * 0.8 + 0.1])
    regression = set(regression_metrics(y.astype(float), proba[:, 1]))
    computed = {
        "regression": regression,
        "forecasting": regression,
        "classification": set(classification_metrics(y, proba)),
        "clustering": set(clustering_metrics(np.eye(6), np.array([0, 0, 0, 1, 1, 1]))),
    }
    for problem, names in catalogue.METRICS_BY_PROBLEM.items():
        assert set(names) <= computed[problem], problem
        assert all(name in catalogue.METRICS for name in names)


def test_directions_come_from_the_catalogue() -> None:
    assert not CATALOGUE.greater_is_better("rmse")
    assert not CATALOGUE.greater_is_better("log_loss")
    assert CATALOGUE.greater_is_better("roc_auc")
    assert CATALOGUE.greater_is_better("calinski_harabasz")


@pytest.mark.parametrize("problem_type", list(ProblemType))
def test_every_catalogued_algorithm_has_a_space_and_builds(problem_type: ProblemType) -> None:
    engine_name = problem_type.value.lower()
    for algorithm in CATALOGUE.algorithms(problem_type):
        params = default_params(algorithm_space(algorithm))
        assert build_estimator(algorithm, params, engine_name, seed=0, n_jobs=1) is not None


@pytest.mark.parametrize("column_type", sorted(catalogue.KIND_OF_TYPE))
def test_each_column_type_has_one_kind_and_the_domain_agrees(column_type: str) -> None:
    kind = CATALOGUE.column_kind(column_type)
    assert kind in catalogue.COLUMN_KINDS
    column = DatasetColumn("c", column_type, missing_count=0, unique_count=1)
    assert column.is_numeric == (kind == "numeric")


def test_multiclass_auc_survives_a_fold_without_a_rare_class() -> None:
    y = np.array([0, 1, 0, 1, 0, 1])  # class 2 exists in the data but not in this fold
    proba = np.tile([0.45, 0.45, 0.1], (6, 1))
    proba[y == 1] = [0.2, 0.7, 0.1]
    assert classification_metrics(y, proba)["roc_auc"] == pytest.approx(1.0)


def trial_payload(score: float | None = 1.5, status: str = "complete") -> dict:
    return TrialResult(3, "lightgbm", {"num_leaves": 31}, score, 0.25, status).to_dict()  # type: ignore[arg-type]


def test_a_finished_trial_is_typed_and_keeps_the_payload_clients_see() -> None:
    payload = trial_payload()
    event = training_event(EngineEvent("trial_finished", "Trial 3 complete", 0.4, payload))
    assert event == TrialFinished(
        number=3,
        algorithm="lightgbm",
        params={"num_leaves": 31},
        score=1.5,
        status="complete",
        duration_seconds=0.25,
        message="Trial 3 complete",
        progress=0.4,
        data=payload,
    )


def test_a_failed_trial_has_no_score() -> None:
    event = training_event(EngineEvent("trial_finished", "", 0.1, trial_payload(None, "failed")))
    assert isinstance(event, TrialFinished)
    assert (event.score, event.status) == (None, "failed")


def test_best_progress_and_log_events_are_typed() -> None:
    best = training_event(EngineEvent("best", "New best", 0.5, trial_payload(2.0)))
    assert isinstance(best, Best) and (best.number, best.score) == (3, 2.0)
    progress = training_event(
        EngineEvent("progress", "4 trial(s) done", 0.6, {"trials_done": 4, "elapsed_seconds": 1})
    )
    assert progress == Progress(4, "4 trial(s) done", 0.6, {"trials_done": 4, "elapsed_seconds": 1})
    started = training_event(EngineEvent("trial_started", "Trial 5: linear", 0.6, {"number": 5}))
    assert started == Log("Trial 5: linear", 0.6, {"number": 5})
