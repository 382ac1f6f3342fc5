"""Joining and leaving the simulator's invitations through the product (real client, real
HTTP, both databases): inside the bounds the listing joins and its price there is the deal
price; outside them the attempt is logged REJECTED with the reason and nothing is sent."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import httpx
import pytest
import pytest_asyncio

from domain.model.marketplace import PriceChangeOutcome, PriceChangeReason
from domain.pagination import PageRequest
from domain.services.promotions import JoinRequest
from server.bootstrap import Container, build
from server.config import Settings
from server.simulator import SimulatorConfig
from tests.support.scheduling import connected_seller
from tests.support.simulator import running_simulator

SIM = SimulatorConfig(seed=17, items=80, start=None, speed=1.0, tick_seconds=0.1)


@pytest.fixture(scope="module")
def simulator() -> Iterator[str]:
    with running_simulator(SIM) as url:
        yield url


@pytest_asyncio.fixture
async def container(settings: Settings, simulator: str) -> AsyncIterator[Container]:
    built = build(dataclasses.replace(settings, simulator_url=simulator))
    yield built
    await built.aclose()


async def test_join_inside_the_bounds_goes_live_and_outside_is_refused(
    container: Container, simulator: str
) -> None:
    principal = await connected_seller(container, SIM.seed)
    assert container.promotions is not None
    offers = await container.promotions.offers(principal, PageRequest.ranked(10, None), "DEAL")
    running = next(o for o in offers.items if o.invitation.status == "started")
    candidate = running.candidates[0]
    assert candidate.min_deal_price is not None and candidate.max_deal_price is not None
    below = candidate.min_deal_price - Decimal("0.01")

    refused = await container.promotions.join(
        principal, JoinRequest(running.invitation.id, candidate.item_id, below)
    )
    assert refused.outcome is PriceChangeOutcome.REJECTED
    assert "promotion.price.out_of_range" in (refused.message or "")

    deal = candidate.max_deal_price
    joined = await container.promotions.join(
        principal, JoinRequest(running.invitation.id, candidate.item_id, deal)
    )
    assert (joined.reason, joined.outcome) == (
        PriceChangeReason.PROMOTION_JOINED,
        PriceChangeOutcome.APPLIED,
    )
    async with httpx.AsyncClient(base_url=simulator) as sim:
        state = (await sim.get(f"/_sim/state/items/{candidate.item_id}")).json()
        assert Decimal(str(state["price"])) <= deal
        left = await container.promotions.leave(principal, running.invitation.id, candidate.item_id)
        assert left.outcome is PriceChangeOutcome.APPLIED
        state = (await sim.get(f"/_sim/state/items/{candidate.item_id}")).json()
        assert running.invitation.id not in [p["id"] for p in state["promotions"]]
