"""Small, realistic training tables for run tests (generated, seeded)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd


def demand_csv(rows: int = 240, seed: int = 0) -> bytes:
    """Units sold from price, category and a promotion flag (regression)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "price": rng.uniform(10, 100, rows).round(2),
            "category": rng.choice(["phones", "audio", "games"], rows),
            "promo": rng.choice([True, False], rows),
        }
    )
    frame["units_sold"] = (
        (200 - 1.5 * frame.price + 20 * frame.promo + rng.normal(0, 5, rows)).round().astype(int)
    )
    return _csv(frame)


def blended_demand_csv(rows: int = 240, seed: int = 3) -> bytes:
    """Units sold with a linear price effect and step effects of stock and category: a linear
    model and a forest each catch part of it, so (seeded) a blend of them wins the search."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "price": rng.uniform(10, 100, rows).round(2),
            "stock": rng.uniform(0, 50, rows).round(1),
            "category": rng.choice(["phones", "audio", "games"], rows),
        }
    )
    frame["units_sold"] = (
        200
        - 1.5 * frame.price
        + 30 * (frame.stock > 25)
        + 15 * (frame.category == "audio")
        + rng.normal(0, 8, rows)
    ).round(1)
    return _csv(frame)


def churn_csv(rows: int = 240, seed: int = 1) -> bytes:
    """Whether a buyer churns (classification with text labels)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"orders": rng.integers(1, 30, rows), "plan": rng.choice(["basic", "pro"], rows)}
    )
    frame["churned"] = np.where(frame.orders + rng.normal(0, 3, rows) < 12, "yes", "no")
    return _csv(frame)


def empty_feature_csv(rows: int = 60) -> bytes:
    """A table whose only feature is entirely empty: training must fail, clearly."""
    return _csv(pd.DataFrame({"note": [None] * rows, "units": np.arange(rows)}))


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()
