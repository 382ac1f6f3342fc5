"""How a run's settings and results are stored: JSON columns holding typed domain values.

The stored shape is the one runs have always had (camelCase keys), so old rows read as they
are; `members` was added later and is absent from older rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Dialect, TypeDecorator

from domain.model.runs import EnsembleMember, RunConfig, RunMetrics, SearchMethod


def config_to_json(config: RunConfig) -> dict[str, Any]:
    return {
        "method": config.method.value,
        "maxTrials": config.max_trials,
        "timeoutSeconds": config.timeout_seconds,
        "algorithms": list(config.algorithms) if config.algorithms is not None else None,
        "cvFolds": config.cv_folds,
        "seed": config.seed,
        "seriesId": config.series_id,
        "dateColumn": config.date_column,
        "horizon": config.horizon,
    }


def config_from_json(raw: dict[str, Any] | None) -> RunConfig:
    raw = raw or {}
    algorithms = raw.get("algorithms")
    defaults = RunConfig()
    return RunConfig(
        method=SearchMethod(raw.get("method", defaults.method.value)),
        max_trials=raw.get("maxTrials", defaults.max_trials),
        timeout_seconds=raw.get("timeoutSeconds", defaults.timeout_seconds),
        algorithms=tuple(algorithms) if algorithms is not None else None,
        cv_folds=int(raw.get("cvFolds", defaults.cv_folds)),
        seed=int(raw.get("seed", defaults.seed)),
        series_id=raw.get("seriesId"),
        date_column=raw.get("dateColumn"),
        horizon=int(raw.get("horizon", defaults.horizon)),
    )


def metrics_to_json(metrics: RunMetrics) -> dict[str, Any]:
    return {
        "metric": metrics.metric,
        "cvScore": metrics.cv_score,
        "cv": dict(metrics.cv),
        "test": dict(metrics.test),
        "bestAlgorithm": metrics.best_algorithm,
        "trials": metrics.trials,
        "stoppedReason": metrics.stopped_reason,
        "ensemble": metrics.ensemble,
        "members": [
            {
                "trial": m.trial_number,
                "algorithm": m.algorithm,
                "weight": m.weight,
                "score": m.score,
            }
            for m in metrics.members
        ],
    }


def metrics_from_json(raw: dict[str, Any]) -> RunMetrics:
    return RunMetrics(
        metric=str(raw.get("metric", "")),
        cv_score=raw.get("cvScore"),
        best_algorithm=str(raw.get("bestAlgorithm", "")),
        trials=int(raw.get("trials", 0)),
        stopped_reason=str(raw.get("stoppedReason", "")),
        cv=dict(raw.get("cv") or {}),
        test=dict(raw.get("test") or {}),
        ensemble=bool(raw.get("ensemble", False)),
        members=tuple(
            EnsembleMember(
                trial_number=int(m["trial"]),
                algorithm=str(m.get("algorithm", "")),
                weight=float(m.get("weight", 1.0)),
                score=m.get("score"),
            )
            for m in raw.get("members") or ()
        ),
    )


class RunConfigJSON(TypeDecorator[RunConfig]):
    """A RunConfig in a JSON column."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: RunConfig | None, dialect: Dialect) -> Any:
        return config_to_json(value) if value is not None else None

    def process_result_value(self, value: Any, dialect: Dialect) -> RunConfig:
        return config_from_json(value)


class RunMetricsJSON(TypeDecorator[RunMetrics]):
    """RunMetrics (or NULL) in a JSON column."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: RunMetrics | None, dialect: Dialect) -> Any:
        return metrics_to_json(value) if value is not None else None

    def process_result_value(self, value: Any, dialect: Dialect) -> RunMetrics | None:
        return metrics_from_json(value) if value is not None else None
