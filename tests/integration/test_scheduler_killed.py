"""A scheduler process killed between the marketplace's acceptance and its own record (a real
process ending with os._exit, over real HTTP to the simulator, both databases): the next
attempt finds the claim it left, reads the item's promotions and adopts the live discount
instead of applying it twice; canceling then takes it off, so nothing keeps running."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from domain.model.campaigns import DiscountMarketplaceState
from domain.model.marketplace import PriceChangeOutcome
from domain.pagination import PageRequest
from domain.ports import PriceChangeFilter
from domain.services.scheduler import ATTEMPT_BUDGET, DiscountScheduler, SchedulerPolicy
from domain.services.shops import StoredShops
from server.bootstrap import Container, build
from server.config import Settings
from server.simulator import SimulatorConfig
from tests.conftest import server_env
from tests.support.scheduler_victim import KILLED
from tests.support.scheduling import connected_seller, eligible_item
from tests.support.services import free_port
from tests.support.simulator import running_simulator

ROOT = Path(__file__).resolve().parents[2]
SIM = SimulatorConfig(seed=19, items=40, start=None, speed=1.0, tick_seconds=0.1)
LEASE = SchedulerPolicy().claim_for + ATTEMPT_BUDGET


class LaterClock:
    """The real clock, `ahead` later: the dead process's claim has run out."""

    def __init__(self, ahead: timedelta) -> None:
        self.ahead = ahead

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@pytest.fixture(scope="module")
def simulator() -> Iterator[str]:
    with running_simulator(SIM) as url:
        yield url


@pytest_asyncio.fixture
async def container(settings: Settings, simulator: str) -> AsyncIterator[Container]:
    built = build(dataclasses.replace(settings, simulator_url=simulator))
    yield built
    await built.aclose()


async def test_a_killed_scheduler_is_reconciled_without_a_second_application(
    settings: Settings, container: Container, simulator: str
) -> None:
    principal = await connected_seller(container, SIM.seed)
    item = await eligible_item(simulator, SIM.seed)
    now = datetime.now(UTC)
    discount = await container.campaigns.schedule_discount(
        principal,
        listing_id=item["id"],
        percent=15,
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        campaign_id=None,
    )
    env = {
        **server_env(settings, free_port()),
        "SIMULATOR_URL": simulator,
        "VICTIM_DISCOUNT": discount.id,
    }
    victim = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.support.scheduler_victim"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert victim.returncode == KILLED, victim.stderr.decode()[-3000:]

    async def discounts_on_simulator() -> list[dict[str, object]]:
        async with httpx.AsyncClient(base_url=simulator) as sim:
            state = (await sim.get(f"/_sim/state/items/{item['id']}")).json()
        return [p for p in state["promotions"] if p["type"] == "PRICE_DISCOUNT"]

    assert len(await discounts_on_simulator()) == 1
    async with container.uow() as uow:
        left = await uow.discounts.get(principal.account_id, discount.id)
    assert left is not None and left.marketplace_state is DiscountMarketplaceState.PENDING

    later = LaterClock(LEASE + timedelta(seconds=1))
    assert container.marketplace is not None
    shops = StoredShops(container.uow, container.marketplace.providers)
    await _tick_for(container, DiscountScheduler(container.uow, later, shops), discount.id, later)
    async with container.uow() as uow:
        adopted = await uow.discounts.get(principal.account_id, discount.id)
        log = await uow.price_changes.page(
            principal.account_id, PageRequest.of(10, None), PriceChangeFilter()
        )
    assert adopted is not None and adopted.marketplace_state is DiscountMarketplaceState.APPLIED
    [entry] = log.items
    assert entry.outcome is PriceChangeOutcome.APPLIED and "interrupted" in (entry.message or "")
    assert len(await discounts_on_simulator()) == 1  # not applied a second time

    await container.campaigns.cancel_discount(principal, discount.id)
    await _tick_for(container, DiscountScheduler(container.uow, later, shops), discount.id, later)
    assert await discounts_on_simulator() == []


async def _tick_for(
    container: Container, scheduler: DiscountScheduler, discount_id: str, clock: LaterClock
) -> None:
    """One tick for this test's discount only (the session's database is shared)."""
    async with container.uow() as uow:
        due = await uow.discounts.due(clock.now(), 10_000)
    await scheduler.handle([d for d in due if d.discount.id == discount_id])
