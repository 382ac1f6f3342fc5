"""Seeded data factories for the engine tests (small: a few hundred rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def mixed_table(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Numeric, text categorical, boolean and datetime columns, with missing values."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "size": rng.normal(10, 3, n),
            "rooms": rng.integers(1, 6, n),
            "city": rng.choice(["sao paulo", "rio", "curitiba", "recife"], n),
            "premium": rng.random(n) < 0.3,
            "listed_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
        }
    )
    frame.loc[rng.random(n) < 0.1, "size"] = np.nan
    frame.loc[rng.random(n) < 0.1, "city"] = None
    return frame


def regression_target(frame: pd.DataFrame, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    city_effect = frame["city"].map({"sao paulo": 30, "rio": 20, "curitiba": 5}).fillna(0)
    value = (
        3 * frame["size"].fillna(10)
        + 8 * frame["rooms"]
        + city_effect
        + 15 * frame["premium"]
        + frame["listed_at"].dt.month
        + rng.normal(0, 3, len(frame))
    )
    return pd.Series(value, name="price")


def demand_table(n_series: int = 4, periods: int = 90, seed: int = 0) -> pd.DataFrame:
    """Daily sales per item with weekly seasonality, price and a promotion flag."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_series):
        base = 10 + 15 * s
        for date in pd.date_range("2024-01-01", periods=periods, freq="D"):
            promo = bool(rng.random() < 0.15)
            price = 20 + s - 3 * promo + rng.normal(0, 0.3)
            sales = base * (1.4 if date.day_of_week >= 5 else 1.0) * (1.5 if promo else 1.0)
            rows.append((f"item-{s}", date, price, promo, sales + rng.normal(0, 1)))
    return pd.DataFrame(rows, columns=["item_id", "date", "price", "promotion", "units"])
