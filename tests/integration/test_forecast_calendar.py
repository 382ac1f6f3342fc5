"""Forecasting sees its date as calendar features too (weekday, month, day of year, Brazil's
holidays), in training and in the forecast of a saved model. The horizon is 10 days, so no lag
(10, 11, 12, 16, 23, 37 days) is a whole number of weeks: only the calendar tells the model
which weekday it forecasts. These tests train (small data, a few trials)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl import AutoMLResult, Budget, ForecastConfig, load_model, run_automl, save_model

HORIZON = 10
WEEKDAY = np.array([1.0, 0.8, 0.8, 1.0, 1.3, 2.2, 1.7])  # Monday .. Sunday


def weekly_demand(series: int = 3, days: int = 200, seed: int = 0) -> pd.DataFrame:
    """Daily units per item: a strong weekday pattern on a slowly moving level."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2025-01-06", periods=days, freq="D")  # a Monday
    frames = []
    for s in range(series):
        level = (20 + 10 * s) * (1 + 0.1 * np.sin(np.arange(days) / 40))
        units = level * WEEKDAY[dates.day_of_week] + rng.normal(0, 1.5, days)
        frames.append(pd.DataFrame({"item": f"MLB{s}", "date": dates, "units": units}))
    return pd.concat(frames, ignore_index=True)


def forecast(frame: pd.DataFrame, calendar: bool, holidays: str | None = None) -> AutoMLResult:
    return run_automl(
        frame.drop(columns=["units"]),
        frame["units"],
        "forecasting",
        budget=Budget(max_trials=2, timeout_seconds=60),
        algorithms=["lightgbm"],
        forecast=ForecastConfig("item", "date", HORIZON, calendar=calendar),
        ensemble=False,
        seed=0,
        holidays=holidays,
        n_jobs=1,
    )


@pytest.fixture(scope="module")
def demand() -> pd.DataFrame:
    return weekly_demand()


@pytest.fixture(scope="module")
def with_calendar(demand: pd.DataFrame) -> AutoMLResult:
    return forecast(demand, calendar=True, holidays="BR")


def test_the_calendar_beats_lags_alone_on_the_held_out_window(demand, with_calendar) -> None:
    without = forecast(demand, calendar=False, holidays="BR")
    assert with_calendar.test_metrics["rmse"] < 0.6 * without.test_metrics["rmse"]
    assert with_calendar.cv_metrics["rmse"] < without.cv_metrics["rmse"]
    assert (with_calendar.forecast_config or {})["calendar"] is True
    assert (without.forecast_config or {})["calendar"] is False
    names = [str(n) for n in with_calendar.best_estimator.estimator[-2].get_feature_names_out()]
    assert {"date_day_of_week", "date_month", "date_day_of_year", "date_is_holiday"} <= set(names)
    plain = [str(n) for n in without.best_estimator.estimator[-2].get_feature_names_out()]
    assert not any(n.startswith("date_") for n in plain)


def test_the_saved_forecast_differs_by_weekday(with_calendar, tmp_path) -> None:
    predictor = load_model(save_model(with_calendar, tmp_path / "forecast.joblib"))
    rows = pd.DataFrame(predictor.predict())
    assert len(rows) == 3 * HORIZON
    rows["weekday"] = pd.to_datetime(rows["date"]).dt.day_of_week
    one = rows[rows["item"] == "MLB2"].groupby("weekday")["forecast"].mean()
    assert len(one) == 7  # ten days ahead: every weekday
    # Saturday (5) sells far more than Tuesday (1) for the same item, as in the history.
    assert one[5] > 1.8 * one[1], one.to_dict()
