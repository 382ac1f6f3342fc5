"""Typed results of a run; each converts to a plain JSON-safe dict with ``to_dict()``."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

TrialStatus = Literal["complete", "pruned", "failed", "cancelled", "timeout"]


def json_safe(value: Any) -> Any:
    """Convert numpy/pandas scalars, NaN/inf (-> None), dates and containers to JSON types."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if value is None or isinstance(value, str | int):
        return value
    if value is pd.NaT or (
        not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)
    ):
        return None
    return str(value)


@dataclass(slots=True)
class TrialResult:
    """One evaluated configuration: algorithm, hyperparameters and cross-validated score."""

    number: int
    algorithm: str
    params: dict[str, Any]
    cv_score: float | None
    duration_seconds: float
    status: TrialStatus
    cv_std: float | None = None
    cv_metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return json_safe(
            {
                "number": self.number,
                "algorithm": self.algorithm,
                "params": self.params,
                "cv_score": self.cv_score,
                "cv_std": self.cv_std,
                "cv_metrics": self.cv_metrics,
                "duration_seconds": round(self.duration_seconds, 4),
                "status": self.status,
                "error": self.error,
            }
        )


@dataclass(slots=True)
class EnsembleInfo:
    """The weighted average of trials kept when it beat the best single trial in CV."""

    members: list[int]
    weights: list[float]
    cv_score: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return json_safe(
            {"members": self.members, "weights": self.weights, "cv_score": self.cv_score}
        )


@dataclass(slots=True)
class AutoMLResult:
    """What a run produced.

    ``leaderboard`` is sorted best first (completed trials, then the others by number);
    ``best_estimator`` is fitted on the training part of the data (all of it for forecasting)
    and predicts from raw rows; ``test_metrics`` come from the held-out rows it never saw.
    """

    problem_type: str
    metric: str
    greater_is_better: bool
    leaderboard: list[TrialResult]
    best_trial: TrialResult
    best_estimator: Any
    cv_metrics: dict[str, float]
    test_metrics: dict[str, float]
    feature_importances: dict[str, float]
    input_schema: dict[str, str]
    timings: dict[str, float]
    stopped_reason: str
    seed: int
    method: str
    ensemble: EnsembleInfo | None = None
    classes: list[Any] | None = None
    target: str | None = None
    forecast: list[dict[str, Any]] | None = None
    forecast_config: dict[str, Any] | None = None
    n_rows: dict[str, int] = field(default_factory=dict)
    mlflow_run_id: str | None = None
    tracking_error: str | None = None
    input_example: Any = None  # a few raw training rows, for the MLflow model signature

    @property
    def cv_score(self) -> float | None:
        """Cross-validated score of the delivered model (ensemble or best trial)."""
        return self.ensemble.cv_score if self.ensemble else self.best_trial.cv_score

    @property
    def best_model_name(self) -> str:
        """``"ensemble"`` or the best trial's algorithm."""
        return "ensemble" if self.ensemble else self.best_trial.algorithm

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (everything except the fitted estimator)."""
        return json_safe(
            {
                "problem_type": self.problem_type,
                "metric": self.metric,
                "greater_is_better": self.greater_is_better,
                "cv_score": self.cv_score,
                "best_model": self.best_model_name,
                "best_trial": self.best_trial.to_dict(),
                "leaderboard": [t.to_dict() for t in self.leaderboard],
                "cv_metrics": self.cv_metrics,
                "test_metrics": self.test_metrics,
                "feature_importances": self.feature_importances,
                "input_schema": self.input_schema,
                "timings": self.timings,
                "stopped_reason": self.stopped_reason,
                "seed": self.seed,
                "method": self.method,
                "ensemble": self.ensemble.to_dict() if self.ensemble else None,
                "classes": self.classes,
                "target": self.target,
                "forecast": self.forecast,
                "forecast_config": self.forecast_config,
                "n_rows": self.n_rows,
                "mlflow_run_id": self.mlflow_run_id,
                "tracking_error": self.tracking_error,
            }
        )
