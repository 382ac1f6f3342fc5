"""MLflow tracking: one parent run per engine run, a nested run per trial, the delivered
model logged with its flavour and input signature.

Tracking never loses a result: any MLflow failure is logged and reported in
``result.tracking_error``. ``tracking_uri=None`` uses MLflow's own resolution
(``MLFLOW_TRACKING_URI``, else its local default).

``artifact_root`` decides where a new MLflow experiment keeps its artifacts (models). Without
it MLflow uses ``./mlruns`` of whatever directory the process started in; a tracking server
(``http(s)://``) decides for itself, so the root is not used there.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from pathlib import Path
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
        self,
        experiment_name: str,
        tracking_uri: str | None = None,
        log_models: bool = True,
        artifact_root: str | Path | None = None,
    ) -> None:
        self.experiment_name = experiment_name
        self.tracking_uri = tracking_uri
        self.log_models = log_models
        self.artifact_root = artifact_root

    def _client(self) -> Any:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri)

    def _experiment_id(self, client: Any) -> str:
        found = client.get_experiment_by_name(self.experiment_name)
        if found is not None:
            return found.experiment_id
        return client.create_experiment(
            self.experiment_name, artifact_location=self._artifact_location()
        )

    def _artifact_location(self) -> str | None:
        if self.artifact_root is None or _is_tracking_server(self.tracking_uri):
            return None
        root = Path(self.artifact_root).resolve()
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        return (root / uuid.uuid4().hex).as_uri()

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
        experiment_results: Any,
        dataset_info: dict[str, Any] | None = None,
        raise_errors: bool = False,
    ) -> str | None:
        """Log a run (an :class:`AutoMLResult`, a ``TuningResult`` or their ``to_dict()``);
        returns the MLflow run id, or None when tracking failed (logged) and
        ``raise_errors`` is false."""
        try:
            return self._log(experiment_results, dataset_info or {})
        except Exception:
            if raise_errors:
                raise
            logger.exception("MLflow tracking failed for experiment %s", self.experiment_name)
            return None

    def _log(self, results: Any, dataset_info: dict[str, Any]) -> str:
        from mlflow.entities import Metric, Param, RunTag

        summary = _summary(results)
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


def _summary(results: Any) -> dict[str, Any]:
    """The result as a dict in the engine run's keys (a tuning result's are mapped)."""
    summary = results.to_dict() if hasattr(results, "to_dict") else dict(results)
    if "best_params" in summary and "leaderboard" not in summary:  # HyperparameterTuner's
        trials = summary.get("trials") or []
        best: dict[str, Any] = next(
            (t for t in trials if t.get("params") == summary["best_params"]), {}
        )
        summary = {
            "problem_type": "tuning",
            "method": summary.get("method"),
            "metric": summary.get("scoring"),
            "cv_score": summary.get("best_score"),
            "best_model": best.get("algorithm"),
            "best_trial": best,
            "stopped_reason": summary.get("stopped_reason"),
            "leaderboard": trials,
            "timings": {"total_seconds": summary.get("duration_seconds")},
        }
    return summary


def create_tracker(
    experiment_name: str,
    tracking_uri: str | None = None,
    log_models: bool = True,
    artifact_root: str | Path | None = None,
) -> AutoMLTracker:
    """A tracker logging to MLflow experiment ``experiment_name`` (created when missing)."""
    return AutoMLTracker(experiment_name, tracking_uri, log_models, artifact_root)


def delete_tracked_runs(
    source_run_ids: list[str], tracking_uri: str | None = None, experiment_prefix: str = ""
) -> int:
    """Delete the MLflow runs logged for the given engine runs (``dataset_info["run_id"]``),
    in experiments whose name starts with ``experiment_prefix``: their trial runs too, the
    models logged from them, and all their artifacts. Returns how many runs were deleted."""
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    escaped = experiment_prefix.replace("'", "''")
    experiment_ids: list[str] = []
    token = None
    while True:
        page = client.search_experiments(
            view_type=ViewType.ALL, filter_string=f"name LIKE '{escaped}%'", page_token=token
        )
        experiment_ids += [e.experiment_id for e in page]
        token = page.token
        if not token:
            break
    deleted = 0
    for source in source_run_ids:
        if not experiment_ids:
            break
        parents = client.search_runs(
            experiment_ids,
            filter_string=f"params.`dataset.run_id` = '{source.replace(chr(39), '')}'",
            run_view_type=ViewType.ALL,
        )
        for parent in parents:
            deleted += _delete_tracked_run(client, parent)
    return deleted


def _delete_tracked_run(client: Any, run: Any) -> int:
    from mlflow.entities import ViewType
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    run_id = run.info.run_id
    experiment_id = run.info.experiment_id
    children = client.search_runs(
        [experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{run_id}'",
        run_view_type=ViewType.ALL,
        max_results=50_000,
    )
    models = client.search_logged_models(
        experiment_ids=[experiment_id], filter_string=f"source_run_id = '{run_id}'"
    )
    for model in models:
        get_artifact_repository(_owning_folder(model.artifact_location)).delete_artifacts()
        client.delete_logged_model(model.model_id)
    for tracked in [run, *children]:
        get_artifact_repository(_owning_folder(tracked.info.artifact_uri)).delete_artifacts()
        client.delete_run(tracked.info.run_id)
    return 1 + len(children)


def _owning_folder(artifact_uri: str) -> str:
    """MLflow keeps artifacts in `<run or model folder>/artifacts`: remove the whole folder."""
    return artifact_uri.removesuffix("/").removesuffix("/artifacts")


def _is_tracking_server(tracking_uri: str | None) -> bool:
    return bool(tracking_uri) and str(tracking_uri).split(":", 1)[0] in {
        "http",
        "https",
        "databricks",
    }
