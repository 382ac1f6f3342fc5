"""The store slice against the simulator over real HTTP, on SQLite and PostgreSQL: connecting
(the OAuth code flow with PKCE), a full sync of 1,000+ listings and a year of orders, a second
sync that changes nothing, a sync killed halfway that resumes without duplicates, webhooks
recorded once, tokens encrypted at rest, and tenancy."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from domain.errors import NotFound
from domain.model.accounts import Principal
from domain.model.marketplace import ConnectionStatus, MarketplaceProvider, SyncStatus
from domain.model.shop_sync import SyncJob, SyncPhase
from domain.pagination import PageRequest
from domain.ports import ListingFilter, OrderFilter
from domain.services.marketplace import Notification
from server.adapters.db.marketplace_tables import (
    ListingRow,
    MarketplaceCredentialRow,
    OrderItemRow,
    OrderRow,
    SyncJobRow,
)
from server.adapters.jobs.syncs import InProcessSyncQueue
from server.app import create_app
from server.bootstrap import Container, build
from server.config import Settings
from server.simulator import SimulatorConfig
from tests.support.simulator import START, running_simulator

SHOP_ITEMS = 1010  # past the 1,000 of offset paging: the scan is exercised


class ShiftedClock:
    """The system clock, movable forward (a killed sync's lease runs out without waiting)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture(scope="module")
def simulator() -> Iterator[str]:
    with running_simulator(SimulatorConfig(seed=7, items=SHOP_ITEMS, start=START)) as url:
        yield url


@pytest_asyncio.fixture(scope="module")
async def shop(settings: Settings, simulator: str) -> AsyncIterator[tuple[Container, ShiftedClock]]:
    clock = ShiftedClock()
    built = build(dataclasses.replace(settings, simulator_url=simulator), clock=clock)
    yield built, clock
    await built.aclose()


async def _principal(container: Container) -> Principal:
    tag = uuid.uuid4().hex[:8]
    session = await container.accounts.sign_up(f"S{tag}", f"{tag}@example.com", "a long password")
    return container.accounts.authenticate(session.tokens.access_token)


async def _wait(container: Container, job: SyncJob, limit_seconds: float = 240) -> SyncJob:
    """Poll the stored job until it finishes (the sync runs as an in-process task)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_seconds
    while True:
        async with container.uow() as uow:
            stored = await uow.sync_jobs.get(job.account_id, job.id)
        assert stored is not None
        if stored.finished:
            return stored
        assert loop.time() < deadline, f"sync still {stored.status} at {stored.phase}"
        await asyncio.sleep(0.05)


async def _count(container: Container, row: Any, account_id: str) -> int:
    table = row.__table__
    async with container.engine.connect() as connection:
        query = select(func.count()).select_from(table).where(table.c.account_id == account_id)
        return int(await connection.scalar(query) or 0)


async def test_connecting_the_simulator_runs_the_oauth_flow_and_stores_tokens_encrypted(
    shop: tuple[Container, ShiftedClock],
) -> None:
    container, _ = shop
    assert container.marketplace is not None
    principal = await _principal(container)
    connected = await container.marketplace.service.connect(
        principal, MarketplaceProvider.SIMULATOR
    )
    connection = connected.connection
    assert connection.status is ConnectionStatus.CONNECTED
    assert connection.seller_id and connection.nickname
    assert connected.authorization_url is None
    async with container.engine.connect() as db:
        row = (
            await db.execute(
                select(MarketplaceCredentialRow).where(
                    MarketplaceCredentialRow.connection_id == connection.id
                )
            )
        ).one()
    assert not row.access_token.startswith("APP_USR") and "APP_USR" not in row.refresh_token
    # Connecting the same seller again keeps the one connection (and its listings).
    again = await container.marketplace.service.connect(principal, MarketplaceProvider.SIMULATOR)
    assert again.connection.id == connection.id


async def test_a_full_sync_copies_listings_and_orders_and_a_second_changes_nothing(
    shop: tuple[Container, ShiftedClock],
) -> None:
    container, _ = shop
    assert container.marketplace is not None
    service = container.marketplace.service
    principal = await _principal(container)
    connection = (await service.connect(principal, MarketplaceProvider.SIMULATOR)).connection

    first = await _wait(container, await service.start_sync(principal, connection.id))
    assert first.status is SyncStatus.SUCCEEDED, first.error
    assert first.counts.listings_created == SHOP_ITEMS
    assert first.counts.orders_created > 1000  # a year of orders
    assert await _count(container, ListingRow, principal.account_id) == SHOP_ITEMS
    orders = await _count(container, OrderRow, principal.account_id)
    assert orders == first.counts.orders_created
    items = await _count(container, OrderItemRow, principal.account_id)

    second = await _wait(container, await service.start_sync(principal, connection.id))
    assert second.status is SyncStatus.SUCCEEDED
    assert second.counts.changed == 0, second.counts
    assert second.counts.listings_unchanged == SHOP_ITEMS
    assert await _count(container, OrderRow, principal.account_id) == orders
    assert await _count(container, OrderItemRow, principal.account_id) == items

    views = container.views(principal)
    automated = await container_listings(container, principal, ListingFilter(price_automated=True))
    assert 0 < automated < SHOP_ITEMS  # some items are under price automation
    async with container.uow() as uow:
        page = await uow.orders.page(principal.account_id, PageRequest(first=5), OrderFilter())
        synced = await uow.marketplace_connections.get(principal.account_id, connection.id)
    assert synced is not None and synced.last_sync_at is not None
    assert all(o.buyer.startswith("B-") and o.items for o in page.items)
    assert views is not None


async def container_listings(
    container: Container, principal: Principal, where: ListingFilter
) -> int:
    async with container.uow() as uow:
        page = await uow.listings.page(principal.account_id, PageRequest(first=1), where)
    return page.total_count


async def test_a_sync_killed_halfway_resumes_without_duplicates(
    shop: tuple[Container, ShiftedClock],
) -> None:
    container, clock = shop
    assert container.marketplace is not None
    queue = container.marketplace.queue
    assert isinstance(queue, InProcessSyncQueue)
    service = container.marketplace.service
    principal = await _principal(container)
    connection = (await service.connect(principal, MarketplaceProvider.SIMULATOR)).connection
    job = await service.start_sync(principal, connection.id)

    # Kill it once a few batches of listings are saved (the task is cancelled mid-flight).
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while True:
        async with container.uow() as uow:
            stored = await uow.sync_jobs.get(principal.account_id, job.id)
        assert stored is not None and not stored.finished
        if stored.cursor is not None and stored.counts.listings_created >= 300:
            break
        assert loop.time() < deadline
        await asyncio.sleep(0.02)
    for task in queue.tasks:
        if job.id in task.get_name():
            task.cancel()
    await asyncio.sleep(0.1)
    async with container.uow() as uow:
        killed = await uow.sync_jobs.get(principal.account_id, job.id)
    assert killed is not None and killed.status is SyncStatus.RUNNING
    assert killed.phase is SyncPhase.LISTINGS and killed.cursor is not None
    saved = await _count(container, ListingRow, principal.account_id)
    assert 0 < saved < SHOP_ITEMS

    # While its lease runs, asking again returns the same sync; once it ran out, it resumes.
    assert (await service.start_sync(principal, connection.id)).attempt == killed.attempt
    clock.offset += timedelta(minutes=5)
    resumed = await service.start_sync(principal, connection.id)
    assert resumed.id == job.id and resumed.attempt == killed.attempt + 1
    done = await _wait(container, resumed)
    assert done.status is SyncStatus.SUCCEEDED, done.error
    assert done.counts.listings_created == SHOP_ITEMS  # counted once across both attempts
    assert await _count(container, ListingRow, principal.account_id) == SHOP_ITEMS
    assert await _count(container, OrderRow, principal.account_id) == done.counts.orders_created


async def test_a_replayed_webhook_changes_nothing(
    shop: tuple[Container, ShiftedClock], settings: Settings
) -> None:
    container, _ = shop
    assert container.marketplace is not None
    service = container.marketplace.service
    principal = await _principal(container)
    connection = (await service.connect(principal, MarketplaceProvider.SIMULATOR)).connection
    app = create_app(container.settings, container)
    notification = {
        "_id": uuid.uuid4().hex,
        "resource": "/items/MLB0000000001",
        "user_id": int(connection.seller_id),
        "topic": "items",
        "application_id": 111,
        "attempts": 1,
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        first = await client.post("/webhooks/mercadolivre", json=notification)
        jobs_after_first = await _count(container, SyncJobRow, principal.account_id)
        replay = await client.post("/webhooks/mercadolivre", json={**notification, "attempts": 2})
        bad = await client.post("/webhooks/mercadolivre", content=b"not json")
    assert first.status_code == 200 and replay.status_code == 200
    assert bad.status_code == 400
    assert jobs_after_first >= 1
    assert await _count(container, SyncJobRow, principal.account_id) == jobs_after_first


async def test_one_account_never_sees_another_accounts_shop(
    shop: tuple[Container, ShiftedClock],
) -> None:
    container, _ = shop
    assert container.marketplace is not None
    service = container.marketplace.service
    owner, stranger = await _principal(container), await _principal(container)
    connection = (await service.connect(owner, MarketplaceProvider.SIMULATOR)).connection
    await _wait(container, await service.start_sync(owner, connection.id))
    async with container.uow() as uow:
        listing = (
            await uow.listings.page(owner.account_id, PageRequest(first=1), ListingFilter())
        ).items[0]
        assert await uow.marketplace_connections.for_account(stranger.account_id) == []
        assert await uow.listings.get(stranger.account_id, listing.id) is None
        empty = await uow.orders.page(stranger.account_id, PageRequest(first=5), OrderFilter())
        assert empty.total_count == 0
    with pytest.raises(NotFound):
        await service.update_listing_cost(stranger, listing.id, Decimal("10"))
    with pytest.raises(NotFound):
        await service.start_sync(stranger, connection.id)
    updated = await service.update_listing_cost(owner, listing.id, Decimal("12.50"))
    assert updated.unit_cost == Decimal("12.50")


async def test_a_webhook_re_reads_its_listing_and_the_feed_tells_the_account(
    shop: tuple[Container, ShiftedClock], simulator: str
) -> None:
    container, _ = shop
    parts = container.marketplace
    assert parts is not None
    service = parts.service
    principal = await _principal(container)
    connection = (await service.connect(principal, MarketplaceProvider.SIMULATOR)).connection
    await _wait(container, await service.start_sync(principal, connection.id))
    async with container.uow() as uow:
        candidates = await uow.listings.page(
            principal.account_id,
            PageRequest(first=100),
            ListingFilter(status="active", price_automated=False),
        )
    listing = next(
        item
        for item in candidates.items
        if item.condition == "new" and item.listing_type != "free" and item.original_price is None
    )
    deal = (listing.price * Decimal("0.85")).quantize(Decimal("0.01"))
    client = parts.providers.marketplace(MarketplaceProvider.SIMULATOR).client(connection.id)
    async with httpx.AsyncClient() as http:  # the simulated marketplace's own time
        now = datetime.fromisoformat((await http.get(f"{simulator}/_sim/clock")).json()["now"])
    await client.apply_price_discount(
        listing.id,
        deal_price=deal,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=3),
    )

    events: list[Any] = []

    async def follow() -> None:
        async for event in parts.activity.follow(principal.account_id):
            events.append(event)
            if event.kind.value == "SYNC_SUCCEEDED":
                return

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0)
    notification = Notification(
        id=uuid.uuid4().hex,
        topic="items",
        resource=f"/items/{listing.id}",
        user_id=connection.seller_id,
    )
    assert await service.receive(notification) >= 1
    assert await service.receive(notification) == 0  # a replay starts nothing
    await asyncio.wait_for(follower, 60)
    async with container.uow() as uow:
        fresh = await uow.listings.get(principal.account_id, listing.id)
    assert fresh is not None
    assert fresh.price == deal and fresh.original_price == listing.price
    kinds = [event.kind.value for event in events]
    assert kinds[0] == "WEBHOOK_RECEIVED" and kinds[-1] == "SYNC_SUCCEEDED"
    assert events[0].listing_id == listing.id
    await client.remove_price_discount(listing.id)


async def test_a_webhook_naming_another_sellers_item_adds_nothing(
    shop: tuple[Container, ShiftedClock], simulator: str
) -> None:
    container, _ = shop
    parts = container.marketplace
    assert parts is not None
    principal = await _principal(container)
    connection = (await parts.service.connect(principal, MarketplaceProvider.SIMULATOR)).connection
    async with httpx.AsyncClient(base_url=simulator) as http:  # items are public on ML
        other = (await http.post("/_sim/sellers", json={"seed": 4242, "items": 5})).json()
        search = await http.get(
            f"/users/{other['user_id']}/items/search",
            headers={"Authorization": f"Bearer {other['access_token']}"},
        )
    foreign = search.json()["results"][0]

    finished = asyncio.Event()

    async def follow() -> None:
        async for event in parts.activity.follow(principal.account_id):
            if event.kind.value in ("SYNC_SUCCEEDED", "SYNC_FAILED"):
                finished.set()
                return

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0)
    notification = Notification(
        uuid.uuid4().hex, "items", f"/items/{foreign}", connection.seller_id
    )
    assert await parts.service.receive(notification) >= 1  # every account on that seller
    await asyncio.wait_for(finished.wait(), 60)
    await follower
    async with container.uow() as uow:
        assert await uow.listings.get(principal.account_id, foreign) is None
