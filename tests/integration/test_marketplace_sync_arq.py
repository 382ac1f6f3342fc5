"""Production mode: `syncMarketplace` puts a `marketplace.sync` job on ARQ, a worker (its own
container, as another process would have) runs it against the simulator, and the API's
`marketplaceActivity` feed (a Redis Stream per account) sees its progress. Both databases."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from domain.model.accounts import Principal
from domain.model.marketplace import MarketplaceProvider, SyncStatus
from domain.model.shop_sync import ActivityKind, MarketplaceActivity
from domain.pagination import PageRequest
from domain.ports import ListingFilter, OrderFilter
from server.adapters.db.credentials import SqlCredentialStore, TokenCipher
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
ROOT = Path(__file__).resolve().parents[2]


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


KILL_SHOP_ITEMS = 300


@pytest.fixture(scope="module")
def slow_simulator() -> Iterator[str]:
    # A frozen clock (no new orders while we count) and a little latency (a sync takes seconds).
    config = SimulatorConfig(seed=6, items=KILL_SHOP_ITEMS, start=START, speed=0, latency_ms=15)
    with running_simulator(config) as url:
        yield url


def _worker_process(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": settings.secret_key,
        "DATA_DIR": str(settings.data_dir),
        "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
        "SIMULATOR_URL": settings.simulator_url,
        "SYNC_LEASE_SECONDS": str(settings.sync_lease_seconds),
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "server.cli", "worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def test_a_sync_whose_worker_process_was_killed_is_resumed_by_another_worker(
    settings: Settings, slow_simulator: str, tmp_path: Path
) -> None:
    probe = aioredis.Redis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except (OSError, aioredis.RedisError) as exc:
        require_service(False, f"Redis is not reachable at {REDIS_URL}: {exc}")
    await probe.flushdb()
    await probe.aclose()
    production = dataclasses.replace(
        settings, redis_url=REDIS_URL, simulator_url=slow_simulator, sync_lease_seconds=2.0
    )
    api = build(production)
    worker = _worker_process(production, tmp_path / "worker.log")
    try:
        assert api.marketplace is not None
        principal = await _principal(api)
        service = api.marketplace.service
        connection = (await service.connect(principal, MarketplaceProvider.SIMULATOR)).connection
        job = await service.start_sync(principal, connection.id)

        # Kill -9 the worker once it has saved some listings (mid-sync, mid-transaction maybe).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 180
        while True:
            async with api.uow() as uow:
                stored = await uow.sync_jobs.get(principal.account_id, job.id)
            assert stored is not None and not stored.finished, stored
            if stored.counts.listings_created >= 100:
                break
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            assert loop.time() < deadline, "the worker did not start the sync"
            await asyncio.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        async with api.uow() as uow:
            killed = await uow.sync_jobs.get(principal.account_id, job.id)
        assert killed is not None and killed.status is SyncStatus.RUNNING
        assert 0 < killed.counts.listings_created < KILL_SHOP_ITEMS

        await asyncio.sleep(2.5)  # its lease runs out
        # Another worker's sweep finds the silent sync and resumes it as a new attempt (the
        # killed one's job stays in ARQ's queue until its timeout: not burst mode, which would
        # wait for it).
        rescuer = create_worker(production)
        rescuing = asyncio.create_task(rescuer.async_run())
        try:
            while True:
                async with api.uow() as uow:
                    current = await uow.sync_jobs.get(principal.account_id, job.id)
                assert current is not None
                if current.finished:
                    break
                assert not rescuing.done(), rescuing
                assert loop.time() < deadline + 180, current
                await asyncio.sleep(0.05)
        finally:
            rescuing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await rescuing
            await rescuer.close()

        async with api.uow() as uow:
            done = await uow.sync_jobs.get(principal.account_id, job.id)
            listings = await uow.listings.page(
                principal.account_id, PageRequest(first=0), ListingFilter()
            )
            orders = await uow.orders.page(
                principal.account_id, PageRequest(first=0), OrderFilter()
            )
        assert done is not None and done.status is SyncStatus.SUCCEEDED, done
        # A newer attempt (a loaded machine may make even the rescuer look silent for a lease:
        # it is then fenced and resumed again, still writing every row once).
        assert done.attempt > killed.attempt
        assert done.counts.listings_created == KILL_SHOP_ITEMS == listings.total_count
        assert orders.total_count == done.counts.orders_created
        # Every order the marketplace has, once: its own count equals ours.
        store = SqlCredentialStore(api.engine, TokenCipher(production.signing_key()))
        credentials = await store.load(connection.id)
        assert credentials is not None
        async with httpx.AsyncClient(base_url=slow_simulator) as http:
            page = await http.get(
                "/orders/search",
                params={"seller": connection.seller_id, "limit": 1},
                headers={"Authorization": f"Bearer {credentials.access_token}"},
            )
        assert page.json()["paging"]["total"] == orders.total_count
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
        with contextlib.suppress(Exception):
            await api.aclose()
