"""The engine's training tests use the same seeded data as its fast unit tests."""

from __future__ import annotations

from tests.unit.automl.conftest import (  # noqa: F401 (fixtures, found by name)
    churn_data,
    customers,
    demand,
    house_data,
    segment_data,
    tiny_budget,
)
