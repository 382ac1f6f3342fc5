"""HyperparameterTuner: each method, sklearn and LightGBM estimators, custom spaces."""

from __future__ import annotations

import pytest
from lightgbm import LGBMRegressor
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from automl import HyperparameterTuner, InvalidDataError


@pytest.mark.parametrize("method", ["random_search", "grid_search", "bayesian"])
def test_each_method_tunes_a_random_forest_within_n_iter(house_data, method):
    X, y = house_data
    result = HyperparameterTuner().auto_tune_model(
        RandomForestRegressor(n_estimators=20, random_state=0),
        "random_forest",
        X,
        y,
        method=method,
        n_iter=3,
        cv=2,
    )
    assert len(result.trials) == 3
    assert result.best_score == max(t.cv_score for t in result.trials if t.cv_score is not None)
    assert set(result.best_params) == {
        "model__n_estimators",
        "model__max_features",
        "model__min_samples_leaf",
        "model__max_depth",
    }
    assert result.best_estimator.predict(X.head(2)).shape == (2,)


def test_lightgbm_regressor_is_tuned_on_a_numeric_table_without_a_pipeline(house_data):
    X, y = house_data
    numeric = X[["rooms"]].assign(size=X["size"].fillna(10))
    result = HyperparameterTuner().auto_tune_model(
        LGBMRegressor(), "lightgbm", numeric, y, method="bayesian", n_iter=3, cv=2, scoring="r2"
    )
    assert isinstance(result.best_estimator, LGBMRegressor)
    assert result.scoring == "r2" and 0 < result.best_score <= 1
    assert "num_leaves" in result.best_params


def test_grid_search_over_a_caller_space_tries_every_combination(churn_data):
    X, y = churn_data
    space = {"max_depth": [2, 4], "min_samples_leaf": [1, 5, 10]}
    result = HyperparameterTuner().auto_tune_model(
        RandomForestClassifier(n_estimators=10, random_state=0),
        "random_forest",
        X,
        y,
        method="grid_search",
        n_iter=50,
        cv=2,
        param_space=space,
    )
    assert result.stopped_reason == "grid_exhausted"
    tried = {
        (t.params["model__max_depth"], t.params["model__min_samples_leaf"]) for t in result.trials
    }
    assert tried == {(d, m) for d in (2, 4) for m in (1, 5, 10)}


def test_timeout_stops_the_tuner(house_data):
    X, y = house_data
    result = HyperparameterTuner().auto_tune_model(
        RandomForestRegressor(n_estimators=10),
        "random_forest",
        X,
        y,
        method="random_search",
        n_iter=10_000,
        cv=2,
        timeout=1.0,
    )
    assert result.stopped_reason == "timeout"
    assert result.duration_seconds < 5


def test_unknown_model_type_without_a_space_is_rejected(house_data):
    X, y = house_data
    with pytest.raises(InvalidDataError, match="no built-in search space"):
        HyperparameterTuner().auto_tune_model(RandomForestRegressor(), "quantum", X, y)


def test_unknown_method_is_rejected(house_data):
    X, y = house_data
    with pytest.raises(InvalidDataError, match="method"):
        HyperparameterTuner().auto_tune_model(
            RandomForestRegressor(), "random_forest", X, y, method="hill_climbing"
        )
