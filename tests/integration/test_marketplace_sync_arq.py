"""Production mode: `syncMarketplace` puts a `marketplace.sync` job on ARQ, a worker (its own
container, as another process would have) runs it against the simulator, and the API's
`marketplaceActivity` feed (a Redis Stream per account) sees its progress. Both databases."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from domain.model.accounts import Principal
from domain.model.marketplace import MarketplaceProvider, SyncStatus
from domain.model.shop_sync import ActivityKind, MarketplaceActivity
from server.adapters.events.activity import RedisActivityFeed
from server.adapters.jobs.arq import ArqJobQueue
from server.bootstrap import Container, build
from server.config import Settings
from server.simulator import SimulatorConfig
from server.worker import create_worker
from tests.e2e.runs.conftest import REDIS_URL
from tests.support.services import require_service
from tests.support.simulator import START, running_simulator

SHOP_ITEMS = 80


@pytest.fixture(scope="module")
def simulator() -> Iterator[str]:
    with running_simulator(SimulatorConfig(seed=5, items=SHOP_ITEMS, start=START)) as url:
        yield url


@pytest.fixture
async def production(settings: Settings, simulator: str) -> AsyncIterator[Settings]:
    probe = aioredis.Redis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except (OSError, aioredis.RedisError) as exc:
        require_service(False, f"Redis is not reachable at {REDIS_URL}: {exc}")
    await probe.flushdb()
    await probe.aclose()
    yield dataclasses.replace(settings, redis_url=REDIS_URL, simulator_url=simulator)


async def _principal(container: Container) -> Principal:
    tag = uuid.uuid4().hex[:8]
    session = await container.accounts.sign_up(f"S{tag}", f"{tag}@example.com", "a long password")
    return container.accounts.authenticate(session.tokens.access_token)


async def test_a_sync_runs_on_an_arq_worker_and_its_progress_reaches_the_feed(
    production: Settings,
) -> None:
    api = build(production)
    try:
        assert isinstance(api.jobs, ArqJobQueue)
        assert api.marketplace is not None
        assert isinstance(api.marketplace.activity, RedisActivityFeed)
        principal = await _principal(api)
        service = api.marketplace.service
        connection = (await service.connect(principal, MarketplaceProvider.SIMULATOR)).connection

        seen: list[MarketplaceActivity] = []

        async def follow() -> None:
            assert api.marketplace is not None
            async for event in api.marketplace.activity.follow(principal.account_id):
                seen.append(event)
                if event.kind in (ActivityKind.SYNC_SUCCEEDED, ActivityKind.SYNC_FAILED):
                    return

        follower = asyncio.create_task(follow())
        await asyncio.sleep(0.2)  # the follower reads from "now"
        job = await service.start_sync(principal, connection.id)
        async with api.uow() as uow:
            queued = await uow.sync_jobs.get(principal.account_id, job.id)
        assert queued is not None and queued.status is SyncStatus.QUEUED  # nobody ran it yet

        worker = create_worker(production)
        worker.burst = True  # run what is queued, then stop
        try:
            await asyncio.wait_for(worker.async_run(), 120)
        finally:
            await worker.close()
        await asyncio.wait_for(follower, 30)

        async with api.uow() as uow:
            done = await uow.sync_jobs.get(principal.account_id, job.id)
        assert done is not None and done.status is SyncStatus.SUCCEEDED, done
        assert done.counts.listings_created == SHOP_ITEMS
        kinds = [event.kind for event in seen]
        assert ActivityKind.SYNC_PROGRESS in kinds and kinds[-1] is ActivityKind.SYNC_SUCCEEDED
        assert all(event.sync_id == job.id for event in seen)
        progress = [e.progress or 0.0 for e in seen]
        assert progress == sorted(progress) and progress[-1] == 1.0
    finally:
        with contextlib.suppress(Exception):
            await api.aclose()
