"""MLflow tracking to a temporary store."""

from __future__ import annotations

import mlflow
from mlflow.tracking import MlflowClient

from automl import Budget, create_tracker, run_automl


def test_a_run_is_logged_with_nested_trials_metrics_tags_and_the_model(tmp_path, churn_data):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    X, y = churn_data
    tracker = create_tracker("churn", tracking_uri=uri)
    result = run_automl(
        X,
        y,
        "classification",
        budget=Budget(max_trials=2, timeout_seconds=None),
        cv_folds=2,
        tracker=tracker,
        dataset_info={"name": "churn-v1"},
    )
    assert result.tracking_error is None
    assert result.mlflow_run_id is not None
    client = MlflowClient(uri)
    parent = client.get_run(result.mlflow_run_id)
    assert parent.data.tags["problem_type"] == "classification"
    assert parent.data.tags["dataset"] == "churn-v1"
    assert parent.data.metrics["test_roc_auc"] == result.test_metrics["roc_auc"]
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{result.mlflow_run_id}'"
    )
    assert len(children) == 2
    mlflow.set_tracking_uri(uri)
    model = mlflow.sklearn.load_model(
        mlflow.search_logged_models(
            experiment_ids=[parent.info.experiment_id], output_format="list"
        )[0].model_uri
    )
    assert list(model.predict(X.head(3))) == list(result.best_estimator.predict(X.head(3)))


def test_tracking_failure_keeps_the_training_result(tmp_path, house_data):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    tracker = create_tracker("houses", tracking_uri=f"sqlite:///{blocked}/sub/mlflow.db")
    X, y = house_data
    result = run_automl(
        X,
        y,
        "regression",
        budget=Budget(max_trials=1, timeout_seconds=None),
        algorithms=["linear"],
        cv_folds=2,
        tracker=tracker,
    )
    assert result.mlflow_run_id is None
    assert result.tracking_error
    assert result.best_estimator is not None


def test_track_automl_experiment_accepts_a_result_dict(tmp_path, house_data):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    X, y = house_data
    result = run_automl(
        X,
        y,
        "regression",
        budget=Budget(max_trials=1, timeout_seconds=None),
        algorithms=["linear"],
        cv_folds=2,
    )
    run_id = create_tracker("houses", uri).track_automl_experiment(
        result.to_dict(), {"name": "houses"}
    )
    assert run_id is not None
    assert MlflowClient(uri).get_run(run_id).data.metrics["cv_rmse"] == result.cv_metrics["rmse"]
