"""predict's row check: a datetime column takes ISO date strings and refuses anything else."""

from __future__ import annotations

import pytest

from domain.errors import InvalidInput
from domain.services.models import check_rows

SCHEMA = {"date": "datetime", "price": "numeric"}


@pytest.mark.parametrize("value", ["2026-01-01", "2031-12-31T10:00:00Z", None])
def test_dates_and_nulls_pass(value: object) -> None:
    assert check_rows([{"date": value, "price": 1}], SCHEMA, "regression")


@pytest.mark.parametrize("value", ["banana", "2026-13-01", 20260101, True])
def test_a_value_that_is_not_a_date_is_refused_naming_the_column(value: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_rows([{"date": value, "price": 1}], SCHEMA, "regression")
    assert "date (expects datetime, an ISO date such as 2026-01-31)" in str(refused.value)
    assert refused.value.field == "rows"
