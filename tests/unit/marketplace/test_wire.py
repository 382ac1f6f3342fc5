"""Mercado Livre's JSON values -> Decimal money and aware UTC datetimes, and back."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.marketplace import MarketplaceUnavailable
from server.adapters.marketplace.wire import (
    moment,
    moment_out,
    money,
    money_out,
    optional_money,
)


def test_float_prices_become_exact_cents() -> None:
    assert money(129.9) == Decimal("129.90")
    assert money(100) == Decimal("100.00")
    assert money(0.1 + 0.2) == Decimal("0.30")
    assert money_out(Decimal("89.899")) == 89.9


def test_a_zero_or_null_original_price_is_no_price() -> None:
    assert optional_money(None) is None and optional_money(0) is None
    assert optional_money(149.9) == Decimal("149.90")


@pytest.mark.parametrize("value", [True, None, "abc", [1]])
def test_a_price_that_is_not_a_number_is_the_marketplaces_fault(value: object) -> None:
    with pytest.raises(MarketplaceUnavailable):
        money(value)


@pytest.mark.parametrize(
    "text",
    ["2026-11-25T10:00:00.000-03:00", "2026-11-25T13:00:00Z", "2026-11-25T10:00:00"],
)
def test_times_with_any_offset_or_none_are_aware_utc(text: str) -> None:
    assert moment(text) == datetime(2026, 11, 25, 13, tzinfo=UTC)
    assert moment(text).tzinfo is UTC


def test_times_go_out_the_way_mercado_livre_writes_them() -> None:
    assert moment_out(datetime(2026, 11, 25, 13, tzinfo=UTC)) == "2026-11-25T10:00:00.000-03:00"
