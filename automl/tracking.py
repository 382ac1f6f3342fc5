"""MLflow tracking: one parent run per engine run, a nested run per trial, the delivered
model logged with its flavour and input signature.

Tracking never loses a result: any MLflow failure is logged and reported in
``result.tracking_error``. ``tracking_uri=None`` uses MLflow's own resolution
(``MLFLOW_TRACKING_URI``, else its local default).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

from automl.results import AutoMLResult

logger = logging.getLogger("automl")
_MLFLOW_LOCK = threading.Lock()  # mlflow's fluent API (log_model) uses a global tracking URI
MAX_PARAM_LENGTH = 6000


def _param(value: Any) -> str:
    return str(value)[:MAX_PARAM_LENGTH]


def _finite_metrics(prefix: str, metrics: dict[str, Any]) -> dict[str, float]:
    out = {}
    for name, value in metrics.items():
        if isinstance(value, int | float) and math.isfinite(value):
            out[f"{prefix}{name}"] = float(value)
    return out


class AutoMLTracker:
    """Logs AutoML runs to one MLflow experiment."""

    def __init__(
        self, experiment_name: str, tracking_uri: str | None = None, log_models: bool = True
    ) -> None:
        self.experiment_name = experiment_name
        self.tracking_uri = tracking_uri
        self.log_models = log_models

    def _client(self) -> Any:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri)

    def _experiment_id(self, client: Any) -> str:
        found = client.get_experiment_by_name(self.experiment_name)
        if found is not None:
            return found.experiment_id
        return client.create_experiment(self.experiment_name)

    def track(self, result: AutoMLResult, dataset_info: dict[str, Any] | None = None) -> str | None:
        """Log ``result``; sets ``result.mlflow_run_id`` or ``result.tracking_error``."""
        try:
            run_id = self.track_automl_experiment(result, dataset_info or {}, raise_errors=True)
        except Exception as exc:
            logger.exception("MLflow tracking failed for experiment %s", self.experiment_name)
            result.tracking_error = f"{type(exc).__name__}: {exc}"
            return None
        result.mlflow_run_id = run_id
        return run_id

    def track_automl_experiment(
        self,
        experiment_results: AutoMLResult | dict[str, Any],
        dataset_info: dict[str, Any] | None = None,
        raise_errors: bool = False,
    ) -> str | None:
        """Log a run (an :class:`AutoMLResult` or its ``to_dict()``); returns the MLflow run
        id, or None when tracking failed (logged) and ``raise_errors`` is false."""
        try:
            return self._log(experiment_results, dataset_info or {})
        except Exception:
            if raise_errors:
                raise
            logger.exception("MLflow tracking failed for experiment %s", self.experiment_name)
            return None

    def _log(self, results: AutoMLResult | dict[str, Any], dataset_info: dict[str, Any]) -> str:
        from mlflow.entities import Metric, Param, RunTag

        summary = results.to_dict() if isinstance(results, AutoMLResult) else dict(results)
        client = self._client()
        experiment_id = self._experiment_id(client)
        dataset = str(dataset_info.get("name", "unnamed"))
        tags = {
            "problem_type": str(summary.get("problem_type")),
            "dataset": dataset,
            "automl.method": str(summary.get("method")),
            "automl.best_model": str(summary.get("best_model")),
            "automl.stopped_reason": str(summary.get("stopped_reason")),
        }
        run = client.create_run(experiment_id, run_name=f"automl-{dataset}", tags=tags)
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        best = summary.get("best_trial") or {}
        params = {
            "metric": summary.get("metric"),
            "seed": summary.get("seed"),
            "best_algorithm": best.get("algorithm"),
            **{f"dataset.{k}": v for k, v in dataset_info.items()},
            **{f"best.{k}": v for k, v in (best.get("params") or {}).items()},
        }
        metrics = {
            **_finite_metrics("cv_", summary.get("cv_metrics") or {}),
            **_finite_metrics("test_", summary.get("test_metrics") or {}),
            **_finite_metrics("", {"cv_score": summary.get("cv_score")}),
            **_finite_metrics("seconds_", summary.get("timings") or {}),
        }
        leaderboard = summary.get("leaderboard") or []
        step_metrics = [
            Metric("trial_cv_score", t["cv_score"], now, t["number"])
            for t in leaderboard
            if t.get("cv_score") is not None
        ]
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in metrics.items()] + step_metrics,
            params=[Param(k, _param(v)) for k, v in params.items()],
        )
        for trial in leaderboard:
            self._log_trial(client, experiment_id, run_id, trial, now, Metric, Param, RunTag)
        if isinstance(results, AutoMLResult) and self.log_models:
            self._log_model(results, run_id)
        client.set_terminated(run_id)
        return run_id

    @staticmethod
    def _log_trial(
        client: Any,
        experiment_id: str,
        parent: str,
        trial: dict[str, Any],
        now: int,
        Metric: Any,
        Param: Any,
        RunTag: Any,
    ) -> None:
        child = client.create_run(
            experiment_id,
            run_name=f"trial-{trial['number']}-{trial['algorithm']}",
            tags={
                "mlflow.parentRunId": parent,
                "status": str(trial["status"]),
                "algorithm": str(trial["algorithm"]),
            },
        )
        metrics = _finite_metrics(
            "",
            {"cv_score": trial.get("cv_score"), "duration_seconds": trial.get("duration_seconds")},
        )
        metrics.update(_finite_metrics("cv_", trial.get("cv_metrics") or {}))
        client.log_batch(
            child.info.run_id,
            metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
            params=[Param(k, _param(v)) for k, v in (trial.get("params") or {}).items()],
        )
        status = "FINISHED" if trial["status"] == "complete" else "KILLED"
        client.set_terminated(child.info.run_id, status=status)

    def _log_model(self, result: AutoMLResult, run_id: str) -> None:
        import mlflow
        import mlflow.sklearn
        from mlflow.models import infer_signature

        signature = None
        if result.input_example is not None:
            sample = result.input_example
            signature = infer_signature(sample, result.best_estimator.predict(sample))
        with _MLFLOW_LOCK:
            previous = mlflow.get_tracking_uri()
            try:
                if self.tracking_uri:
                    mlflow.set_tracking_uri(self.tracking_uri)
                with mlflow.start_run(run_id=run_id):
                    mlflow.sklearn.log_model(
                        result.best_estimator,
                        name="model",
                        signature=signature,
                        serialization_format="cloudpickle",
                    )
            finally:
                mlflow.set_tracking_uri(previous)


def create_tracker(
    experiment_name: str, tracking_uri: str | None = None, log_models: bool = True
) -> AutoMLTracker:
    """A tracker logging to MLflow experiment ``experiment_name`` (created when missing)."""
    return AutoMLTracker(experiment_name, tracking_uri, log_models)
