"""The ground truth the simulator reports is what its orders follow."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from server.simulator import SimulatorConfig
from server.simulator.demand import ORDER_UNITS, ORDER_UNITS_P, seasonal
from server.simulator.simulator import Simulator
from server.simulator.timefmt import DAY, brt_date, to_iso

START = "2026-11-25T10:00:00.000-03:00"
DAYS = 60


def test_units_sold_match_the_truth_at_each_price() -> None:
    sim = Simulator(SimulatorConfig(seed=5, items=300, start=START, speed=0.0))
    shop = sim.default_shop
    shop.stock[:] = 10**9  # no stock-outs: the truth is demand, not sales
    cheaper = np.arange(shop.size) % 2 == 0
    shop.list_price[cheaper] = (shop.list_price[cheaper] * 0.8).round(2)
    begin = shop.day0 + DAY
    sim.clock.advance(begin + DAYS * DAY - sim.clock.now() + 1)
    sim.catch_up()

    sold = np.zeros(shop.size)
    for order in shop.orders_between(begin, begin + DAYS * DAY):
        sold[order.listing] += order.units
    first = brt_date(begin)
    expected = np.zeros(shop.size)
    for day in range(DAYS):
        when = first + timedelta(days=day)
        expected += shop.demand.expected_units(when, shop.list_price, shop.uplift)
    selling = shop.selling()
    for group in (cheaper & selling, ~cheaper & selling):
        total, truth = sold[group].sum(), expected[group].sum()
        mean_units = (ORDER_UNITS * ORDER_UNITS_P).sum()
        spread = np.sqrt(truth / mean_units * (ORDER_UNITS**2 * ORDER_UNITS_P).sum())
        assert abs(total - truth) < 4 * spread, (total, truth, spread)
    assert sold[~selling].sum() == 0

    top = int(np.argmax(expected * selling))
    daily = [
        sim.truth(shop.item_id(top), None, (first + timedelta(days=d)).isoformat(), None)
        for d in range(DAYS)
    ]
    assert np.isclose(sum(row["expected_units"] for row in daily), expected[top])
    assert daily[0]["price"] == round(float(shop.list_price[top]), 2)


def test_truth_falls_with_price_by_the_elasticity() -> None:
    sim = Simulator(SimulatorConfig(seed=6, items=50, start=START, speed=0.0))
    shop = sim.default_shop
    item = shop.item_id(0)
    when = to_iso(shop.start)
    low = sim.truth(item, 100.0, when, None)
    high = sim.truth(item, 110.0, when, None)
    ratio = high["expected_units"] / low["expected_units"]
    assert np.isclose(ratio, 1.1 ** low["elasticity"])
    promoted = sim.truth(item, 100.0, when, "DEAL")
    assert promoted["expected_units"] > low["expected_units"]


def test_black_friday_and_christmas_sell_more_than_january() -> None:
    black_friday = seasonal(date(2026, 11, 27))  # the day after the 4th Thursday of November
    christmas_eve_week = seasonal(date(2026, 12, 20))
    ordinary = seasonal(date(2026, 10, 20))
    january = seasonal(date(2027, 1, 14))
    assert np.all(black_friday > 2.0) and np.all(january < 1.0)
    assert np.all(christmas_eve_week > 1.3) and np.all(ordinary == 1.0)
