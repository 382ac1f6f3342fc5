"""HyperparameterTuner: each method, sklearn and LightGBM estimators, custom spaces."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from lightgbm import LGBMRegressor
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import (
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.neighbors import KNeighborsRegressor

from automl import HyperparameterTuner, InvalidDataError
from automl.estimator_families import MissingDependency, family_from_name


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


@pytest.mark.parametrize(
    ("model_type", "family"),
    [
        ("random_forest_regressor", "random_forest"),
        ("random_forest_classifier", "random_forest"),
        ("gradient_boosting", "gradient_boosting"),
        ("gradient_boosting_regressor", "gradient_boosting"),
        ("extra_trees_classifier", "extra_trees"),
        ("hist_gradient_boosting_regressor", "hist_gradient_boosting"),
        ("lightgbm_classifier", "lightgbm"),
        ("xgb_regressor", "xgboost"),
        ("knn_classifier", "knn"),
        ("svc", "svm"),
        ("logistic_regression", "logistic_regression"),
        ("linear_regression", "ridge"),
        ("Random-Forest", "random_forest"),
    ],
)
def test_the_seeds_model_type_names_name_a_family(model_type, family):
    assert family_from_name(model_type) == family


def test_the_seeds_random_forest_regressor_example_tunes(house_data):
    X, y = house_data
    result = HyperparameterTuner().auto_tune_model(
        model=RandomForestRegressor(n_estimators=10, random_state=42),
        model_type="random_forest_regressor",
        X=X,
        y=y,
        method="random_search",
        n_iter=2,
        cv=2,
    )
    assert len(result.trials) == 2
    assert "model__min_samples_leaf" in result.best_params


def test_an_unknown_model_type_takes_the_space_of_the_models_class(house_data):
    X, y = house_data
    result = HyperparameterTuner().auto_tune_model(
        GradientBoostingRegressor(n_estimators=10), "quantum", X, y, n_iter=2, cv=2
    )
    assert "model__learning_rate" in result.best_params
    assert result.trials[0].algorithm == "gradient_boosting"


def test_a_name_whose_space_does_not_fit_the_model_uses_the_class(house_data):
    X, y = house_data
    result = HyperparameterTuner().auto_tune_model(
        KNeighborsRegressor(), "random_forest", X, y, n_iter=2, cv=2
    )
    assert set(result.best_params) == {"model__n_neighbors"}


class _Homemade(RegressorMixin, BaseEstimator):
    def __init__(self, shrink: float = 1.0) -> None:
        self.shrink = shrink

    def fit(self, X, y):
        self.mean_ = float(np.mean(y)) * self.shrink
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def test_an_unknown_model_type_and_class_says_to_pass_a_space(house_data):
    X, y = house_data
    with pytest.raises(InvalidDataError, match=r"no built-in search space.*param_space"):
        HyperparameterTuner().auto_tune_model(_Homemade(), "quantum", X, y)
    tuned = HyperparameterTuner().auto_tune_model(
        _Homemade(), "quantum", X, y, param_space={"shrink": (0.5, 1.0)}, n_iter=2, cv=2
    )
    assert 0.5 <= tuned.best_params["model__shrink"] <= 1.0


def test_a_model_type_without_a_model_builds_the_default_estimator(churn_data):
    X, y = churn_data
    result = HyperparameterTuner().auto_tune_model(
        model_type="random_forest_classifier", X=X, y=y, n_iter=2, cv=2
    )
    assert isinstance(result.best_estimator[-1], RandomForestClassifier)
    assert result.scoring == "roc_auc"  # the catalogue's classification default


def test_the_seeds_xgboost_example_tunes_xgboosts_own_space(house_data):
    xgboost = pytest.importorskip("xgboost")
    X, y = house_data
    result = HyperparameterTuner().auto_tune_model(
        model=xgboost.XGBRegressor(n_jobs=1),
        model_type="gradient_boosting",
        X=X,
        y=y,
        n_iter=2,
        cv=2,
    )
    assert "model__min_child_weight" in result.best_params
    assert result.best_estimator.predict(X.head(3)).shape == (3,)


def test_without_xgboost_the_error_says_what_to_install(house_data, monkeypatch):
    monkeypatch.setitem(sys.modules, "xgboost", None)  # import xgboost now fails
    X, y = house_data
    with pytest.raises(MissingDependency, match=r"pip install 'mlproject\[xgboost\]'"):
        HyperparameterTuner().auto_tune_model(model_type="xgboost_regressor", X=X, y=y)
    with pytest.raises(ImportError, match=r"mlproject\[xgboost\]"):
        from automl.tuning import XGBRegressor  # noqa: F401


def test_unknown_method_is_rejected(house_data):
    X, y = house_data
    with pytest.raises(InvalidDataError, match="method"):
        HyperparameterTuner().auto_tune_model(
            RandomForestRegressor(), "random_forest", X, y, method="hill_climbing"
        )
