"""Dates reach the model: a datetime column becomes calendar features in training and in
predict (through the saved file), and an unparseable date is refused. These tests train."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl import AutoMLResult, Budget, InvalidDataError, load_model, run_automl, save_model
from server.adapters.training.trainer import typed_table

BUDGET = Budget(max_trials=3, timeout_seconds=60)
WEEKDAY_LIFT = (0.0, -10.0, -5.0, 0.0, 15.0, 60.0, 45.0)  # Monday .. Sunday


def weekday_sales(days: int = 600, seed: int = 0) -> pd.DataFrame:
    """Daily sales of one shop: price and promo matter, the weekday matters most."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    price = rng.uniform(20, 40, days).round(2)
    promo = rng.random(days) < 0.2
    lift = np.asarray(WEEKDAY_LIFT)[dates.day_of_week]
    units = 120 - 1.5 * price + 20 * promo + lift + rng.normal(0, 4, days)
    return pd.DataFrame({"date": dates, "price": price, "promo": promo, "units": units})


def fit(frame: pd.DataFrame, holidays: str | None = None, ensemble: bool = True) -> AutoMLResult:
    X, y = frame.drop(columns=["units"]), frame["units"]
    return run_automl(
        X,
        y,
        "regression",
        budget=BUDGET,
        algorithms=["lightgbm"],
        seed=0,
        holidays=holidays,
        ensemble=ensemble,
    )


@pytest.fixture(scope="module")
def sales() -> pd.DataFrame:
    return weekday_sales()


@pytest.fixture(scope="module")
def dated(sales: pd.DataFrame):
    return fit(sales)


def test_a_datetime_column_is_typed_datetime_and_beats_dropping_it(sales, dated) -> None:
    assert dated.input_schema["date"] == "datetime"
    without = fit(sales.drop(columns=["date"]))
    assert dated.test_metrics["r2"] > without.test_metrics["r2"] + 0.2
    assert dated.test_metrics["rmse"] < without.test_metrics["rmse"]
    assert dated.feature_importances["date"] > 0.3


def test_predictions_from_the_saved_model_differ_by_weekday(dated, tmp_path) -> None:
    predictor = load_model(save_model(dated, tmp_path / "model.joblib"))
    assert predictor.input_schema["date"] == "datetime"
    # JSON rows: dates as strings. 2026-01-05 is a Monday; 2026-01-10 a Saturday.
    rows = [{"date": f"2026-01-{day:02d}", "price": 30.0, "promo": False} for day in range(5, 12)]
    values = [p["value"] for p in predictor.predict(rows)]
    assert values[5] - values[0] > 30, values  # Saturday sells far more than Monday
    assert values[1] < values[4] < values[5], values  # Tue < Fri < Sat


def test_an_unparseable_date_is_refused_naming_the_column(dated, tmp_path) -> None:
    predictor = load_model(save_model(dated, tmp_path / "model.joblib"))
    with pytest.raises(InvalidDataError, match="'date'"):
        predictor.predict([{"date": "banana", "price": 30.0, "promo": False}])
    # A missing date is imputed, not refused.
    assert len(predictor.predict([{"date": None, "price": 30.0, "promo": False}])) == 1


def test_brazil_holidays_are_features_when_asked(sales) -> None:
    result = fit(sales, holidays="BR", ensemble=False)
    encoder = result.best_estimator[-2]
    names = [str(n) for n in encoder.get_feature_names_out()]
    assert {"date_is_holiday", "date_days_to_holiday", "date_week_of_year"} <= set(names)
    plain = [str(n) for n in fit(sales, ensemble=False).best_estimator[-2].get_feature_names_out()]
    assert "date_is_holiday" not in plain and "date_is_weekend" in plain


def test_the_trainer_reads_the_csv_with_the_profiled_kinds(sales) -> None:
    """The upload profile says datetime: the CSV's text dates become datetime64, a zip code
    profiled as text stays text, and the engine then types the column datetime."""
    raw = pd.DataFrame(
        {
            "date": sales["date"].dt.strftime("%Y-%m-%d"),
            "zip": ["01310", "20040"] * (len(sales) // 2),
            "promo": np.where(sales["promo"], "true", "false"),
            "units": sales["units"],
        }
    )
    kinds = {"date": "datetime", "zip": "string", "promo": "boolean", "units": "float"}
    typed = typed_table(raw, kinds)
    assert pd.api.types.is_datetime64_any_dtype(typed["date"].dtype)
    assert typed["zip"].tolist()[:2] == ["01310", "20040"]
    assert set(typed["promo"]) == {True, False}
    from automl.preprocessing import infer_schema

    assert infer_schema(typed.drop(columns=["units"])) == {
        "date": "datetime",
        "zip": "categorical",
        "promo": "boolean",
    }
