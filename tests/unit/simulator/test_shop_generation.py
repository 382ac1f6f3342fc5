"""The generated shop: deterministic per seed, realistic in shape."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from server.simulator.render import item_json, order_json
from server.simulator.shop import Shop, generate_shop
from server.simulator.timefmt import parse_iso

START = parse_iso("2026-11-25T10:00:00-03:00")


@pytest.fixture(scope="module")
def shop() -> Shop:
    return generate_shop(42, 1200, START)


def snapshot(shop: Shop) -> str:
    items = [item_json(shop, index) for index in range(shop.size)]
    orders = [order_json(shop, order) for order in shop.orders]
    return json.dumps([items, orders])


def test_same_seed_gives_the_same_shop_byte_for_byte(shop: Shop) -> None:
    assert snapshot(generate_shop(42, 1200, START)) == snapshot(shop)


def test_another_seed_gives_another_shop(shop: Shop) -> None:
    other = generate_shop(43, 1200, START)
    assert other.user_id != shop.user_id
    assert other.catalog.titles != shop.catalog.titles


def test_the_shop_looks_like_a_real_one(shop: Shop) -> None:
    catalog = shop.catalog
    assert len(set(catalog.category.tolist())) == 8
    assert any(title.startswith("Fone de Ouvido Bluetooth JBL Tune") for title in catalog.titles)
    assert 0.02 < catalog.used.mean() < 0.15
    assert 0.02 < catalog.automated.mean() < 0.09
    statuses = Counter(shop.status)
    assert statuses["active"] > 0.8 * shop.size and statuses["paused"] and statuses["closed"]
    assert "free" in catalog.listing_type
    assert np.all(catalog.cost < catalog.price)
    assert shop.reputation == "5_green"


def test_a_year_of_orders_in_time_order(shop: Shop) -> None:
    assert 20_000 <= len(shop.orders) <= 40_000
    times = [order.created for order in shop.orders]
    assert times == sorted(times)
    assert times[-1] < START and times[0] > START - 366 * 86_400
    ids = [order.id for order in shop.orders]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    units = Counter(order.units for order in shop.orders)
    assert units[1] > 0.75 * len(shop.orders) and units[2] and units[3]
    cancelled = sum(order.cancelled for order in shop.orders) / len(shop.orders)
    assert 0.015 < cancelled < 0.05
    buyers = Counter(order.buyer for order in shop.orders)
    assert buyers.most_common(1)[0][1] > 5  # repeat customers


def test_live_slots_are_deterministic_per_seed_and_slot(shop: Shop) -> None:
    first = generate_shop(7, 200, START)
    second = generate_shop(7, 200, START)
    for slot in range(96):
        first.run_slot(slot)
    for slot in range(96):
        second.run_slot(slot)
    assert [order_json(first, o) for o in first.orders] == [
        order_json(second, o) for o in second.orders
    ]
