"""Fixtures for the engine tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl import Budget
from tests.unit.automl.factories import demand_table, mixed_table, regression_target


@pytest.fixture
def house_data() -> tuple[pd.DataFrame, pd.Series]:
    X = mixed_table()
    return X, regression_target(X)


@pytest.fixture
def churn_data() -> tuple[pd.DataFrame, pd.Series]:
    X = mixed_table(seed=1)
    score = X["size"].fillna(10) + 5 * X["premium"] - 2 * X["rooms"]
    y = pd.Series(np.where(score > score.median(), "churned", "stayed"), name="churn")
    return X, y


@pytest.fixture
def segment_data() -> tuple[pd.DataFrame, pd.Series]:
    X = mixed_table(seed=2)
    y = pd.Series(
        pd.cut(X["rooms"], [0, 2, 4, 6], labels=["small", "medium", "large"]).astype(str),
        name="segment",
    )
    return X, y


@pytest.fixture
def customers() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    centers = np.array([[0, 0], [6, 6], [0, 8]])
    labels = rng.integers(0, 3, 300)
    points = centers[labels] + rng.normal(0, 0.6, (300, 2))
    return pd.DataFrame(
        {
            "spend": points[:, 0],
            "visits": points[:, 1],
            "channel": np.where(labels == 1, "app", "web"),
        }
    )


@pytest.fixture
def demand() -> pd.DataFrame:
    return demand_table()


@pytest.fixture
def tiny_budget() -> Budget:
    return Budget(max_trials=6, timeout_seconds=None)
