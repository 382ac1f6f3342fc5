"""``ExperimentManager``: named experiments holding their runs (the documented high-level API)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from automl.engine import run_automl
from automl.errors import AutoMLError
from automl.events import Budget
from automl.results import AutoMLResult, json_safe
from automl.tracking import create_tracker

DEFAULT_BUDGET = Budget(max_trials=20, timeout_seconds=60.0)


class ExperimentNotFound(AutoMLError, KeyError):
    """No experiment with that id in this manager."""


@dataclass(slots=True)
class Experiment:
    """A named piece of work (one dataset, one question) and the runs made for it."""

    id: str
    name: str
    description: str
    dataset_info: dict[str, Any]
    created_at: str
    runs: list[AutoMLResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict with run summaries."""
        return json_safe(
            {
                "id": self.id,
                "name": self.name,
                "description": self.description,
                "dataset_info": self.dataset_info,
                "created_at": self.created_at,
                "runs": [
                    {
                        "best_model": r.best_model_name,
                        "metric": r.metric,
                        "cv_score": r.cv_score,
                        "test_metrics": r.test_metrics,
                        "mlflow_run_id": r.mlflow_run_id,
                    }
                    for r in self.runs
                ],
            }
        )


class ExperimentManager:
    """Creates experiments and runs the engine on them.

    With ``tracking_uri`` (or ``track=True`` to use MLflow's default store) every run is logged
    to the MLflow experiment called ``name``.
    """

    def __init__(
        self,
        name: str = "automl",
        tracking_uri: str | None = None,
        track: bool | None = None,
        budget: Budget = DEFAULT_BUDGET,
    ) -> None:
        self.name = name
        self.budget = budget
        should_track = track if track is not None else tracking_uri is not None
        self.tracker = create_tracker(name, tracking_uri) if should_track else None
        self.experiments: dict[str, Experiment] = {}

    def create_experiment(
        self, name: str, description: str = "", dataset_info: dict[str, Any] | None = None
    ) -> str:
        """Register an experiment; returns its id."""
        experiment_id = uuid.uuid4().hex
        self.experiments[experiment_id] = Experiment(
            experiment_id,
            name,
            description,
            dict(dataset_info or {}),
            dt.datetime.now(dt.UTC).isoformat(),
        )
        return experiment_id

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment, or :class:`ExperimentNotFound`."""
        try:
            return self.experiments[experiment_id]
        except KeyError:
            raise ExperimentNotFound(f"no experiment {experiment_id!r}") from None

    def list_experiments(self) -> list[Experiment]:
        """Experiments in creation order."""
        return list(self.experiments.values())

    def run_basic_experiment(
        self,
        experiment_id: str,
        X: pd.DataFrame,
        y: pd.Series | None = None,
        problem_type: str = "regression",
        **options: Any,
    ) -> AutoMLResult:
        """Run the engine for ``problem_type`` ("regression", "classification", "clustering"
        with ``y=None``, "forecasting"); ``options`` go to :func:`automl.run_automl`."""
        experiment = self.get_experiment(experiment_id)
        options.setdefault("budget", self.budget)
        if self.tracker is not None:
            options.setdefault("tracker", self.tracker)
            options.setdefault("dataset_info", {"name": experiment.name, **experiment.dataset_info})
        result = run_automl(X, y, problem_type, **options)
        experiment.runs.append(result)
        return result
