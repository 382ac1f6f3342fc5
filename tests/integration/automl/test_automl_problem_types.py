"""Each problem type end to end on small mixed-type data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from automl import Budget, ForecastConfig, run_automl


def test_regression_finds_a_model_that_beats_predicting_the_mean(house_data, tiny_budget):
    X, y = house_data
    result = run_automl(X, y, "regression", budget=tiny_budget, cv_folds=3)
    assert result.metric == "rmse"
    assert result.test_metrics["r2"] > 0.7
    assert result.cv_metrics["rmse"] < y.std() * 0.6
    first, second = result.leaderboard[0].cv_score, result.leaderboard[1].cv_score
    assert first is not None and second is not None and first <= second
    assert result.best_trial.status == "complete"
    predictions = result.best_estimator.predict(X.head(3))
    assert predictions.shape == (3,)


def test_predictions_work_on_raw_rows_with_unseen_categories_and_string_dates(house_data):
    X, y = house_data
    result = run_automl(
        X,
        y,
        "regression",
        budget=Budget(max_trials=2, timeout_seconds=None),
        algorithms=["lightgbm", "linear"],
        cv_folds=2,
        ensemble=False,
    )
    raw = pd.DataFrame(
        [
            {
                "listed_at": "2024-05-01",
                "city": "manaus",
                "size": None,
                "rooms": "3",
                "premium": False,
                "extra": 1,
            }
        ]
    )
    value = result.best_estimator.predict(raw)
    assert np.isfinite(value).all()


def test_input_schema_names_each_column_kind(house_data, tiny_budget):
    X, y = house_data
    result = run_automl(
        X,
        y,
        "regression",
        budget=Budget(max_trials=1, timeout_seconds=None),
        algorithms=["linear"],
        cv_folds=2,
    )
    assert result.input_schema == {
        "size": "numeric",
        "rooms": "numeric",
        "city": "categorical",
        "premium": "boolean",
        "listed_at": "datetime",
    }


def test_binary_classification_reports_every_metric_and_original_labels(churn_data, tiny_budget):
    X, y = churn_data
    result = run_automl(X, y, "classification", budget=tiny_budget, cv_folds=3)
    assert result.metric == "roc_auc"
    assert set(result.test_metrics) == {"accuracy", "f1_macro", "roc_auc", "log_loss"}
    assert result.test_metrics["roc_auc"] > 0.85
    assert result.classes == ["churned", "stayed"]
    assert set(result.best_estimator.predict(X.head(5))) <= {"churned", "stayed"}


def test_multiclass_classification_optimises_roc_auc_too(segment_data, tiny_budget):
    X, y = segment_data
    result = run_automl(
        X, y, "classification", budget=tiny_budget, cv_folds=3, algorithms=["lightgbm", "linear"]
    )
    assert result.metric == "roc_auc"
    assert result.test_metrics["accuracy"] > 0.8
    assert result.best_estimator.predict_proba(X.head(2)).shape == (2, 3)


def test_feature_importances_rank_the_informative_column_first(segment_data):
    X, y = segment_data
    result = run_automl(
        X,
        y,
        "classification",
        budget=Budget(max_trials=1, timeout_seconds=None),
        algorithms=["lightgbm"],
        cv_folds=2,
    )
    assert next(iter(result.feature_importances)) == "rooms"
    assert abs(sum(result.feature_importances.values()) - 1) < 1e-6


def test_clustering_recovers_the_number_of_groups(customers):
    result = run_automl(
        customers,
        None,
        "clustering",
        budget=Budget(max_trials=10, timeout_seconds=None),
        method="grid_search",
        algorithms=["kmeans"],
    )
    assert result.best_trial.params["n_clusters"] == 3
    assert result.cv_metrics["silhouette"] > 0.6
    assert "davies_bouldin" in result.test_metrics
    assert len(set(result.best_estimator.predict(customers).tolist())) == 3


def test_clustering_searches_mixture_and_density_methods(customers):
    result = run_automl(
        customers, None, "clustering", budget=Budget(max_trials=6, timeout_seconds=None)
    )
    assert {t.algorithm for t in result.leaderboard} == {"kmeans", "gaussian_mixture", "hdbscan"}


def test_forecasting_beats_a_naive_forecast_and_forecasts_every_series(demand):
    X, y = demand.drop(columns="units"), demand["units"]
    config = ForecastConfig(series_id="item_id", date="date", horizon=7)
    result = run_automl(
        X,
        y,
        "forecasting",
        forecast=config,
        budget=Budget(max_trials=3, timeout_seconds=None),
        algorithms=["lightgbm", "linear"],
    )
    last_week = demand.groupby("item_id").tail(14).groupby("item_id").head(7)
    this_week = demand.groupby("item_id").tail(7)
    naive_mae = np.mean(np.abs(this_week["units"].to_numpy() - last_week["units"].to_numpy()))
    assert result.test_metrics["mae"] < naive_mae
    assert result.forecast is not None and len(result.forecast) == 4 * 7
    first = result.forecast[0]
    assert first["item_id"] == "item-0" and first["date"] == "2024-03-31"
    assert {"lag_7", "promotion", "price"} <= set(result.feature_importances)


def test_forecasting_uses_future_promotions_when_given(demand):
    result = run_automl(
        demand,
        None,
        "forecasting",
        forecast=ForecastConfig("item_id", "date", horizon=7, target="units"),
        budget=Budget(max_trials=2, timeout_seconds=None),
        algorithms=["lightgbm"],
    )
    model = result.best_estimator
    dates = pd.date_range("2024-03-31", periods=7, freq="D")
    future = pd.DataFrame(
        {"item_id": "item-3", "date": dates, "price": 23.0, "promotion": [True] * 7}
    )
    with_promo = model.forecast(future=future)
    without = model.forecast(future=future.assign(promotion=False))
    mask = with_promo["item_id"] == "item-3"
    assert with_promo.loc[mask, "forecast"].sum() > without.loc[mask, "forecast"].sum()


def test_result_to_dict_is_json_serialisable(churn_data):
    X, y = churn_data
    result = run_automl(
        X, y, "classification", budget=Budget(max_trials=2, timeout_seconds=None), cv_folds=2
    )
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert payload["best_trial"]["algorithm"] == result.best_trial.algorithm
    assert payload["leaderboard"][0]["status"] == "complete"
