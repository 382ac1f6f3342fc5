"""A run's settings and results as JSON: the one mapping, shared by storage and the API.

The shape is the one runs have always had (camelCase keys), so old rows read as they are and
clients read what they always read. `members` was added later: it is stored (absent from older
rows) but left out of the `metrics` JSON clients and registered models get (`metrics_summary`);
the typed `Run.results` and `Run.best` carry it.
"""

from __future__ import annotations

from typing import Any

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


def metrics_summary(metrics: RunMetrics) -> dict[str, Any]:
    """The metrics JSON a client (and a registered model) reads: the stored one without the
    ensemble's members."""
    stored = metrics_to_json(metrics)
    del stored["members"]
    return stored
