"""Bad input is a clear InvalidDataError (a ValueError) naming the problem."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl import Budget, ForecastConfig, InvalidDataError, run_automl

ONE_TRIAL = Budget(max_trials=1, timeout_seconds=None)


def run(X, y, problem_type="regression", **options):
    options.setdefault("budget", ONE_TRIAL)
    return run_automl(X, y, problem_type, **options)


def test_invalid_data_error_is_a_value_error():
    assert issubclass(InvalidDataError, ValueError)


def test_empty_table_is_rejected():
    with pytest.raises(InvalidDataError, match="no rows"):
        run(pd.DataFrame({"a": []}), pd.Series([], dtype=float))


def test_table_without_columns_is_rejected():
    with pytest.raises(InvalidDataError, match="no columns"):
        run(pd.DataFrame(index=range(20)), pd.Series(range(20)))


def test_target_with_one_class_is_rejected(churn_data):
    X, _ = churn_data
    with pytest.raises(InvalidDataError, match="at least two classes"):
        run(X, pd.Series(["stayed"] * len(X)), "classification")


def test_target_all_missing_is_rejected(house_data):
    X, _ = house_data
    with pytest.raises(InvalidDataError, match="only missing values"):
        run(X, pd.Series([np.nan] * len(X)))


def test_x_and_y_of_different_lengths_are_rejected(house_data):
    X, y = house_data
    with pytest.raises(InvalidDataError, match="different lengths: 240 rows vs 239"):
        run(X, y.iloc[:-1])


def test_text_target_for_regression_is_rejected(churn_data):
    X, y = churn_data
    with pytest.raises(InvalidDataError, match="numeric target"):
        run(X, y, "regression")


@pytest.mark.parametrize(
    "budget",
    [
        Budget(max_trials=0, timeout_seconds=None),
        Budget(max_trials=None, timeout_seconds=0),
        Budget(max_trials=None, timeout_seconds=None),
    ],
)
def test_a_budget_allowing_no_work_is_rejected(house_data, budget):
    X, y = house_data
    with pytest.raises(InvalidDataError, match="budget"):
        run(X, y, budget=budget)


def test_infinite_feature_values_are_rejected(house_data):
    X, y = house_data
    X = X.assign(size=X["size"].where(X.index != 5, np.inf))
    with pytest.raises(InvalidDataError, match=r"infinite values: \['size'\]"):
        run(X, y)


def test_infinite_target_values_are_rejected(house_data):
    X, y = house_data
    with pytest.raises(InvalidDataError, match="target y has infinite"):
        run(X, y.where(y.index != 3, np.inf))


def test_all_missing_column_is_rejected(house_data):
    X, y = house_data
    with pytest.raises(InvalidDataError, match=r"only missing values: \['blank'\]"):
        run(X.assign(blank=np.nan), y)


def test_more_than_a_thousand_columns_is_rejected():
    X = pd.DataFrame(np.zeros((20, 1001)))
    with pytest.raises(InvalidDataError, match="1001 columns; at most 1000"):
        run(X, pd.Series(np.arange(20.0)))


def test_a_class_with_a_single_row_is_rejected(churn_data):
    X, y = churn_data
    y = y.copy()
    y.iloc[0] = "unique"
    with pytest.raises(InvalidDataError, match="single row"):
        run(X, y, "classification")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("problem_type", "ranking", "problem_type"),
        ("method", "annealing", "method"),
        ("algorithms", ["xgboost"], "not available"),
        ("algorithms", ["kmeans"], "not available"),
        ("metric", "silhouette", "not available for regression"),
        ("cv_folds", 1, "cv_folds"),
    ],
)
def test_invalid_options_are_rejected(house_data, option, value, message):
    X, y = house_data
    options = {"problem_type": "regression", option: value}
    problem_type = options.pop("problem_type")
    with pytest.raises(InvalidDataError, match=message):
        run(X, y, problem_type, **options)


def test_missing_target_rows_are_dropped_not_fatal(house_data):
    X, y = house_data
    y = y.where(y.index % 10 != 0)
    result = run(X, y, algorithms=["linear"], cv_folds=2)
    assert result.n_rows["train"] + result.n_rows["test"] == 216


def test_forecasting_without_the_date_column_is_rejected(demand):
    with pytest.raises(InvalidDataError, match="missing column"):
        run(
            demand.drop(columns="date"),
            None,
            "forecasting",
            forecast=ForecastConfig("item_id", "date", horizon=7, target="units"),
        )


def test_forecasting_with_too_little_history_is_rejected(demand):
    short = demand.groupby("item_id").head(20)
    with pytest.raises(InvalidDataError, match="too few for horizon 7"):
        run(
            short,
            None,
            "forecasting",
            forecast=ForecastConfig("item_id", "date", horizon=7, target="units"),
        )


def test_forecasting_with_duplicate_periods_is_rejected(demand):
    with pytest.raises(InvalidDataError, match="duplicate"):
        run(
            pd.concat([demand, demand.head(3)]),
            None,
            "forecasting",
            forecast=ForecastConfig("item_id", "date", horizon=7, target="units"),
        )
