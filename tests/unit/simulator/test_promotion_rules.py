"""Promotion rules on a shop, without HTTP."""

from __future__ import annotations

from server.simulator import SimulatorConfig
from server.simulator.promotions import advance, join_invitation, sell_out
from server.simulator.simulator import Simulator

START = "2026-11-25T10:00:00.000-03:00"


def test_a_lightning_deal_ends_when_its_stock_is_sold() -> None:
    sim = Simulator(SimulatorConfig(seed=3, items=120, start=START, speed=0.0))
    shop = sim.default_shop
    lightning = next(i for i in shop.invitations.values() if i.type == "LIGHTNING")
    index, candidate = next(iter(lightning.candidates.items()))
    body = {
        "promotion_id": lightning.id,
        "promotion_type": "LIGHTNING",
        "deal_price": candidate.max_price,
        "stock": 5,
    }
    join_invitation(shop, index, body, shop.start)
    advance(shop, lightning.start)
    assert shop.price(index) == candidate.max_price
    assert sell_out(shop, {index: 3}, lightning.start + 60) == []
    events = sell_out(shop, {index: 4}, lightning.start + 120)
    assert ("items", f"/items/{shop.item_id(index)}") in events
    assert shop.price(index) == float(shop.list_price[index])
    assert shop.promotions == []
