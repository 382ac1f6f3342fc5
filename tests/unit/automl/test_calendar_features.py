"""Calendar features of dates and Brazil's national holidays (no training)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from automl import InvalidDataError, run_automl
from automl.calendar_features import (
    brazil_holidays,
    calendar_matrix,
    calendar_parts,
    check_holidays,
    easter,
)
from automl.preprocessing import CalendarFeatures, TableCoercer, infer_schema


@pytest.mark.parametrize(
    ("year", "sunday"),
    [(2019, dt.date(2019, 4, 21)), (2024, dt.date(2024, 3, 31)), (2026, dt.date(2026, 4, 5))],
)
def test_easter_sunday(year: int, sunday: dt.date) -> None:
    assert easter(year) == sunday


def test_brazil_national_holidays_of_2025() -> None:
    days = brazil_holidays(2025)
    expected_movable = {
        dt.date(2025, 3, 3),  # Carnival Monday
        dt.date(2025, 3, 4),  # Carnival Tuesday
        dt.date(2025, 4, 18),  # Good Friday
        dt.date(2025, 6, 19),  # Corpus Christi
    }
    assert expected_movable <= days
    assert {dt.date(2025, 9, 7), dt.date(2025, 11, 20), dt.date(2025, 12, 25)} <= days
    assert dt.date(2023, 11, 20) not in brazil_holidays(2023)  # national from 2024
    assert len(days) == 13


def test_calendar_matrix_weekday_weekend_and_holiday_distances() -> None:
    values = pd.Series(["2025-03-01", "2025-03-03", "2025-12-24T18:30:00", None, "banana"])
    parts = calendar_parts("BR")
    m = pd.DataFrame(calendar_matrix(values, "BR"), columns=list(parts))
    assert m["day_of_week"].tolist()[:3] == [5, 0, 2]
    assert m["is_weekend"].tolist()[:3] == [1, 0, 0]
    assert m["is_holiday"].tolist()[:3] == [0, 1, 0]
    assert m["days_to_holiday"].tolist()[:3] == [2, 0, 1]
    assert m["days_after_holiday"][2] == 15  # capped
    assert m["hour"][2] == 18
    assert m.iloc[3:].isna().all().all()  # missing and unparseable dates: NaN everywhere
    assert "is_holiday" not in calendar_parts(None)


def test_calendar_features_keep_their_feature_list_from_fit() -> None:
    frame = pd.DataFrame({"d": pd.to_datetime(["2025-01-01", "2025-06-01"])})
    step = CalendarFeatures("BR").fit(frame)
    assert list(step.get_feature_names_out()) == [f"d_{p}" for p in calendar_parts("BR")]
    assert step.transform(frame).shape == (2, len(calendar_parts("BR")))
    coerced = TableCoercer(infer_schema(frame)).fit(frame)
    rows = pd.DataFrame([{"d": "2025-01-04"}])  # JSON rows carry dates as strings
    out = step.transform(coerced.transform(rows))
    assert out[0, list(calendar_parts("BR")).index("is_weekend")] == 1


def test_an_unknown_holiday_calendar_is_refused() -> None:
    assert check_holidays("br") == "BR" and check_holidays(None) is None
    with pytest.raises(InvalidDataError, match="holidays"):
        run_automl(pd.DataFrame({"x": np.arange(20.0)}), pd.Series(np.arange(20.0)), holidays="XX")
