"""save_model / load_model and JSON-safe predictions per problem type."""

from __future__ import annotations

import json

import pytest

from automl import Budget, ForecastConfig, InvalidDataError, load_model, run_automl, save_model

ONE_TRIAL = Budget(max_trials=1, timeout_seconds=None)


def roundtrip(result, tmp_path):
    return load_model(save_model(result, tmp_path / "models" / "model.joblib"))


def test_regression_model_predicts_values_from_json_rows(tmp_path, house_data):
    X, y = house_data
    result = run_automl(X, y, "regression", budget=ONE_TRIAL, algorithms=["lightgbm"], cv_folds=2)
    rows = json.loads(X.head(3).to_json(orient="records", date_format="iso"))
    predictions = roundtrip(result, tmp_path).predict(rows)
    expected = result.best_estimator.predict(X.head(3))
    assert [p["value"] for p in predictions] == pytest.approx(list(expected))


def test_classification_model_predicts_class_and_probabilities(tmp_path, churn_data):
    X, y = churn_data
    result = run_automl(X, y, "classification", budget=ONE_TRIAL, algorithms=["linear"], cv_folds=2)
    predictions = roundtrip(result, tmp_path).predict(X.head(2))
    assert predictions[0]["class"] in {"churned", "stayed"}
    assert sum(predictions[0]["probabilities"].values()) == pytest.approx(1.0)
    json.dumps(predictions, allow_nan=False)


def test_clustering_model_predicts_cluster_ids(tmp_path, customers):
    result = run_automl(customers, None, "clustering", budget=ONE_TRIAL, algorithms=["kmeans"])
    predictions = roundtrip(result, tmp_path).predict(customers.head(4))
    assert all(isinstance(p["cluster"], int) for p in predictions)


def test_forecasting_model_forecasts_each_period_from_history(tmp_path, demand):
    result = run_automl(
        demand,
        None,
        "forecasting",
        budget=ONE_TRIAL,
        algorithms=["linear"],
        forecast=ForecastConfig("item_id", "date", horizon=5, target="units"),
    )
    predictor = roundtrip(result, tmp_path)
    stored = predictor.predict()
    assert len(stored) == 4 * 5 and stored[0]["date"] == "2024-03-31T00:00:00"
    from_history = predictor.predict(demand[demand["item_id"] == "item-1"])
    assert [p["item_id"] for p in from_history] == ["item-1"] * 5
    json.dumps(stored, allow_nan=False)


def test_prediction_rows_missing_a_column_are_rejected(tmp_path, house_data):
    X, y = house_data
    result = run_automl(X, y, "regression", budget=ONE_TRIAL, algorithms=["linear"], cv_folds=2)
    with pytest.raises(InvalidDataError, match="missing column"):
        roundtrip(result, tmp_path).predict(X.drop(columns="city").head(2))


def test_loading_a_foreign_file_is_rejected(tmp_path):
    path = tmp_path / "other.joblib"
    import joblib

    joblib.dump({"something": "else"}, path)
    with pytest.raises(InvalidDataError, match="not a model file"):
        load_model(path)
