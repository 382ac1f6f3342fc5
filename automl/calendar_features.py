"""Calendar features of a date: weekday, month, day of year, week of year, weekend, and
(optionally) national holidays.

Holidays are computed here, with no extra dependency: ``"BR"`` is Brazil's national holidays,
the fixed dates plus the Easter-based Carnival (Monday and Tuesday), Good Friday and Corpus
Christi. Carnival and Corpus Christi are optional days off nationally but close most shops and
offices, which is what matters for demand.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import pandas as pd

from automl.errors import InvalidDataError

HOLIDAY_CALENDARS = ("BR",)
BASE_PARTS = (
    "year",
    "month",
    "day",
    "day_of_week",
    "day_of_year",
    "week_of_year",
    "is_weekend",
    "hour",
)
HOLIDAY_PARTS = ("is_holiday", "days_to_holiday", "days_after_holiday")
# Distances to the nearest holiday are capped: beyond two weeks they carry no signal.
HOLIDAY_HORIZON = 15
# Brazil's fixed-date national holidays (month, day); Black Consciousness Day (Nov 20) is
# national from 2024 on.
_BR_FIXED = ((1, 1), (4, 21), (5, 1), (9, 7), (10, 12), (11, 2), (11, 15), (12, 25))
_BR_EASTER_OFFSETS = (-48, -47, -2, 60)  # Carnival Mon/Tue, Good Friday, Corpus Christi


def check_holidays(holidays: str | None) -> str | None:
    """``None`` (no holiday features) or a supported calendar code, upper case."""
    if holidays is None or holidays == "":
        return None
    code = str(holidays).upper()
    if code not in HOLIDAY_CALENDARS:
        raise InvalidDataError(
            f"holidays must be one of {HOLIDAY_CALENDARS} or None, got {holidays!r}"
        )
    return code


def easter(year: int) -> dt.date:
    """Western (Gregorian) Easter Sunday: the anonymous Gregorian algorithm."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


@lru_cache(maxsize=512)
def brazil_holidays(year: int) -> frozenset[dt.date]:
    """Brazil's national holidays of ``year``."""
    days = {dt.date(year, m, d) for m, d in _BR_FIXED}
    if year >= 2024:
        days.add(dt.date(year, 11, 20))
    sunday = easter(year)
    days.update(sunday + dt.timedelta(days=offset) for offset in _BR_EASTER_OFFSETS)
    return frozenset(days)


def holiday_days(code: str, years: range) -> np.ndarray:
    """Sorted holiday dates of ``code`` in ``years`` as ``datetime64[D]``."""
    if code != "BR":
        raise InvalidDataError(f"unknown holiday calendar {code!r}")
    days = sorted(d for year in years for d in brazil_holidays(year))
    return np.asarray(days, dtype="datetime64[D]")


def calendar_parts(holidays: str | None) -> tuple[str, ...]:
    """Feature names produced per datetime column."""
    return BASE_PARTS + (HOLIDAY_PARTS if holidays else ())


def calendar_matrix(values: pd.Series, holidays: str | None) -> np.ndarray:
    """One row per value, one column per :func:`calendar_parts`; NaN where the date is missing."""
    dates = pd.Series(values).reset_index(drop=True)
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_any_dtype(dates.dtype):
        parsed = pd.to_datetime(dates, errors="coerce", utc=True, format="mixed")
        dates = parsed.dt.tz_localize(None)
    accessor = dates.dt
    iso = accessor.isocalendar()
    weekday = accessor.day_of_week.to_numpy(dtype=float, na_value=np.nan)
    columns = [
        accessor.year.to_numpy(dtype=float, na_value=np.nan),
        accessor.month.to_numpy(dtype=float, na_value=np.nan),
        accessor.day.to_numpy(dtype=float, na_value=np.nan),
        weekday,
        accessor.day_of_year.to_numpy(dtype=float, na_value=np.nan),
        iso["week"].to_numpy(dtype=float, na_value=np.nan),
        np.where(np.isnan(weekday), np.nan, (weekday >= 5).astype(float)),
        accessor.hour.to_numpy(dtype=float, na_value=np.nan),
    ]
    if holidays:
        columns += _holiday_columns(dates, holidays)
    return np.column_stack(columns)


def _holiday_columns(dates: pd.Series, code: str) -> list[np.ndarray]:
    n = len(dates)
    flag, before, after = (np.full(n, np.nan) for _ in range(3))
    known = dates.notna().to_numpy()
    if not known.any():
        return [flag, before, after]
    days = dates[known].to_numpy().astype("datetime64[D]")
    low, high = int(dates[known].dt.year.min()), int(dates[known].dt.year.max())
    table = holiday_days(code, range(low - 1, high + 2))
    nxt = np.searchsorted(table, days, side="left")  # first holiday >= day
    to_next = (table[np.minimum(nxt, len(table) - 1)] - days).astype(float)
    prev = np.searchsorted(table, days, side="right") - 1  # last holiday <= day
    since = (days - table[np.maximum(prev, 0)]).astype(float)
    flag[known] = (to_next == 0).astype(float)
    before[known] = np.minimum(to_next, HOLIDAY_HORIZON)
    after[known] = np.minimum(since, HOLIDAY_HORIZON)
    return [flag, before, after]
