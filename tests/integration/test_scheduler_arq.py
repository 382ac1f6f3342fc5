"""The scheduler as an ARQ cron job: two real workers on Redis tick against the simulator over
HTTP; a discount starting in seconds is applied once (the claims keep the second worker out)
and withdrawn at its end, with exactly the two audit entries."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from domain.model.campaigns import DiscountMarketplaceState
from domain.model.marketplace import PriceChangeOutcome, PriceChangeReason
from domain.pagination import PageRequest
from domain.ports import PriceChangeFilter
from server.bootstrap import Container, build
from server.config import Settings
from server.simulator import SimulatorConfig
from server.worker import create_worker
from tests.e2e.runs.conftest import REDIS_URL
from tests.support.scheduling import connected_seller, eligible_item, until
from tests.support.services import require_service
from tests.support.simulator import running_simulator

SIM = SimulatorConfig(seed=13, items=40, start=None, speed=1.0, tick_seconds=0.1)


@pytest.fixture(scope="module")
def simulator() -> Iterator[str]:
    with running_simulator(SIM) as url:
        yield url


@pytest_asyncio.fixture
async def arq_settings(settings: Settings, simulator: str) -> AsyncIterator[Settings]:
    probe = aioredis.Redis.from_url(REDIS_URL)
    try:
        await probe.ping()
        await probe.flushdb()  # this suite's own db number (TEST_REDIS_URL)
    except (OSError, aioredis.RedisError) as exc:
        require_service(False, f"Redis is not reachable at {REDIS_URL}: {exc}")
    finally:
        await probe.aclose()
    yield dataclasses.replace(
        settings, redis_url=REDIS_URL, simulator_url=simulator, scheduler_tick_seconds=1.0
    )


@pytest_asyncio.fixture
async def container(arq_settings: Settings) -> AsyncIterator[Container]:
    built = build(arq_settings)
    yield built
    await built.aclose()


async def test_two_arq_workers_apply_a_due_discount_once_and_withdraw_it(
    arq_settings: Settings, container: Container, simulator: str
) -> None:
    principal = await connected_seller(container, SIM.seed)
    item = await eligible_item(simulator, SIM.seed)
    now = datetime.now(UTC)
    discount = await container.campaigns.schedule_discount(
        principal,
        listing_id=item["id"],
        percent=20,
        starts_at=now + timedelta(seconds=2),
        ends_at=now + timedelta(seconds=6),
        campaign_id=None,
    )
    workers = [create_worker(arq_settings) for _ in range(2)]
    running = [asyncio.create_task(w.async_run()) for w in workers]

    async def state_is(wanted: DiscountMarketplaceState) -> bool:
        async with container.uow() as uow:
            found = await uow.discounts.get(principal.account_id, discount.id)
        return found is not None and found.marketplace_state is wanted

    try:
        await until(lambda: state_is(DiscountMarketplaceState.APPLIED), "APPLIED")
        async with httpx.AsyncClient(base_url=simulator) as sim:
            state = (await sim.get(f"/_sim/state/items/{item['id']}")).json()
        assert [p["type"] for p in state["promotions"]] == ["PRICE_DISCOUNT"]
        await until(lambda: state_is(DiscountMarketplaceState.WITHDRAWN), "WITHDRAWN")
    finally:
        for worker in workers:
            await worker.close()
        for task in running:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    async with container.uow() as uow:
        page = await uow.price_changes.page(
            principal.account_id, PageRequest.of(10, None), PriceChangeFilter()
        )
    entries = [(c.reason, c.outcome) for c in reversed(page.items)]
    assert entries == [
        (PriceChangeReason.DISCOUNT_APPLIED, PriceChangeOutcome.APPLIED),
        (PriceChangeReason.DISCOUNT_WITHDRAWN, PriceChangeOutcome.APPLIED),
    ]
    applied = page.items[-1]
    twenty_off = Decimal(str(item["price"])) * Decimal("0.8")
    assert applied.new_price == twenty_off.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
