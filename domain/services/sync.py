"""Executing a sync job: the marketplace's listings and orders into the account's copy.

Incremental: a listing whose `last_updated` did not move is not written (nor its price
automation asked again); orders are read from the newest stored one minus an overlap window.
Idempotent: every write is an upsert by the marketplace's id, so a second sync changes
nothing. Resumable: listings go in item-id order and each batch is saved with the job's phase
and cursor in one transaction, so a sync killed halfway carries on after its last batch.
Fenced: each batch re-reads the job under a lock and stops when a newer attempt took it over.
Buyers are pseudonymised at ingestion (LGPD): a keyed hash of their id, never the id.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from domain.errors import Conflict
from domain.marketplace import (
    MarketplaceAuthorizationLost,
    MarketplaceClient,
    MarketplaceError,
    MarketplaceNotFound,
    RemoteItem,
    RemoteOrder,
)
from domain.model.marketplace import (
    ConnectionStatus,
    Listing,
    MarketplaceConnection,
    MarketplaceProvider,
    Order,
    OrderItem,
)
from domain.model.shop_sync import (
    ActivityKind,
    MarketplaceActivity,
    SyncJob,
    SyncKind,
    SyncPhase,
)
from domain.ports import ActivityFeed, Clock, MarketplaceProviders, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
B = TypeVar("B")
LISTING_BATCH = 100
ORDER_BATCH = 1000
ORDERS_OVERLAP = timedelta(days=2)  # orders change (cancellations) after they are created
AUTOMATION_CHECKS_IN_FLIGHT = 8
LISTINGS_SHARE = 0.5  # of the progress bar


@dataclass(frozen=True, slots=True)
class ListingBatch:
    seen: int  # items the marketplace returned
    changed: list[RemoteItem]  # new or updated since stored
    existing: dict[str, Listing]
    automated: dict[str, bool]  # of the changed ones
    cursor: str | None
    progress: float


@dataclass(frozen=True, slots=True)
class OrderBatch:
    orders: list[RemoteOrder]
    cursor: str | None
    progress: float


class SyncFenced(Exception):
    """A newer attempt took the sync over (or it finished): this one stops writing."""


class BuyerPseudonyms:
    """Buyer ids -> stable pseudonyms: HMAC-SHA256 keyed by a secret, truncated. The same buyer
    gets the same pseudonym (repeat customers stay visible), and it cannot be reversed or
    recomputed without the key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def of(self, provider: MarketplaceProvider, buyer_id: str) -> str:
        message = f"{provider.value}:{buyer_id}".encode()
        return "B-" + hmac.new(self._key, message, hashlib.sha256).hexdigest()[:24]


class ShopSync:
    """Runs sync jobs (`marketplace.sync`): jobs carry ids only and re-read everything."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        providers: MarketplaceProviders,
        pseudonyms: BuyerPseudonyms,
        feed: ActivityFeed,
        lease: timedelta = timedelta(seconds=60),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._providers = providers
        self._pseudonyms = pseudonyms
        self._feed = feed
        self._lease = lease

    async def execute(self, sync_id: str, attempt: int) -> SyncJob | None:
        """One attempt of one sync; None when it is stale, finished or held elsewhere."""
        claimed = await self._claim(sync_id, attempt)
        if claimed is None:
            return None
        job, connection = claimed
        try:
            client = self._providers.marketplace(connection.provider).client(connection.id)
            if job.kind is SyncKind.FULL:
                await self._full(job, connection, client)
            else:
                await self._one(job, connection, client)
            return await self._finish(job, None)
        except SyncFenced:
            log.info("sync.fenced", extra={"sync_id": sync_id, "attempt": attempt})
            return None
        except MarketplaceAuthorizationLost as exc:
            await self._revoke(connection)  # the seller has to connect again
            return await self._finish(job, exc.message)
        except MarketplaceError as exc:
            log.warning("sync.failed", extra={"sync_id": sync_id, "error": str(exc)})
            return await self._finish(job, exc.message)
        except Exception as exc:
            log.exception("sync.crashed", extra={"sync_id": sync_id})
            await self._finish(job, "The sync stopped on an unexpected error; start it again.")
            raise exc

    async def _claim(
        self, sync_id: str, attempt: int
    ) -> tuple[SyncJob, MarketplaceConnection] | None:
        async with self._uow() as uow:
            job = await uow.sync_jobs.get_for_update(sync_id)
            if job is None:
                return None
            try:
                job.claim(attempt, self._clock.now(), self._lease)
            except Conflict as refused:
                log.info("sync.not_claimed", extra={"sync_id": sync_id, "why": refused.message})
                return None
            connection = await uow.marketplace_connections.get(job.account_id, job.connection_id)
            if connection is None:
                return None
            await uow.sync_jobs.save(job)
            await uow.commit()
        return job, connection

    async def _revoke(self, connection: MarketplaceConnection) -> None:
        async with self._uow() as uow:
            stored = await uow.marketplace_connections.get(connection.account_id, connection.id)
            if stored is not None:
                stored.status = ConnectionStatus.REVOKED
                await uow.marketplace_connections.save(stored)
                await uow.commit()
        log.warning("marketplace.revoked", extra={"connection_id": connection.id})

    async def _fenced(self, uow: UnitOfWork, job: SyncJob) -> SyncJob:
        """The job as stored, locked; SyncFenced when another attempt holds it now."""
        stored = await uow.sync_jobs.get_for_update(job.id)
        if stored is None or stored.finished or stored.attempt != job.attempt:
            raise SyncFenced(job.id)
        return stored

    async def _finish(self, job: SyncJob, error: str | None) -> SyncJob | None:
        now = self._clock.now()
        async with self._uow() as uow:
            try:
                stored = await self._fenced(uow, job)
            except SyncFenced:
                return None
            if error is None:
                stored.succeed(now)
            else:
                stored.fail(error, now)
            stored.counts = job.counts
            await uow.sync_jobs.save(stored)
            if error is None and stored.kind is SyncKind.FULL:
                connection = await uow.marketplace_connections.get(
                    stored.account_id, stored.connection_id
                )
                if connection is not None:
                    connection.last_sync_at = now
                    await uow.marketplace_connections.save(connection)
            await uow.commit()
        await self._publish(stored, error)
        return stored

    async def _publish(self, job: SyncJob, error: str | None = None) -> None:
        if job.finished:
            kind = ActivityKind.SYNC_FAILED if error else ActivityKind.SYNC_SUCCEEDED
        else:
            kind = ActivityKind.SYNC_PROGRESS
        counts = job.counts
        message = error or (
            f"{job.phase.value.lower()}: {counts.listings_created + counts.listings_updated} "
            f"listings and {counts.orders_created + counts.orders_updated} orders written"
        )
        try:
            await self._feed.publish(
                MarketplaceActivity(
                    account_id=job.account_id,
                    kind=kind,
                    at=self._clock.now(),
                    message=message,
                    connection_id=job.connection_id,
                    sync_id=job.id,
                    progress=job.progress,
                    data={"phase": job.phase.value, **counts.as_dict()},
                )
            )
        except Exception:  # the feed is a hint: a lost event must not stop the sync
            log.warning("sync.activity_not_published", extra={"sync_id": job.id}, exc_info=True)

    # -- a full sync ----------------------------------------------------------------------------
    async def _full(
        self, job: SyncJob, connection: MarketplaceConnection, client: MarketplaceClient
    ) -> None:
        # Reading the next batch from the marketplace overlaps writing the last one: the sync
        # takes about the longer of the two, not their sum.
        if job.phase is SyncPhase.LISTINGS:
            await _pipelined(
                self._listing_batches(job, connection, client),
                lambda batch: self._save_listings(job, connection, batch),
            )
            await self._save_phase(job, SyncPhase.ORDERS, None, LISTINGS_SHARE)
        if job.phase is SyncPhase.ORDERS:
            await _pipelined(
                self._order_batches(job, connection, client),
                lambda batch: self._save_orders(job, connection, batch),
            )

    async def _listing_batches(
        self, job: SyncJob, connection: MarketplaceConnection, client: MarketplaceClient
    ) -> AsyncIterator[ListingBatch]:
        ids = sorted({item_id async for item_id in client.item_ids()})
        todo = [i for i in ids if job.cursor is None or i > job.cursor]
        done = len(ids) - len(todo)
        # Listing a big shop's ids takes a while at 5 requests/s: beat before the batches.
        await self._save_phase(job, SyncPhase.LISTINGS, job.cursor, job.progress)
        for start in range(0, len(todo), LISTING_BATCH):
            chunk = todo[start : start + LISTING_BATCH]
            done += len(chunk)
            progress = LISTINGS_SHARE * done / max(1, len(ids))
            yield await self._listing_batch(job, connection, client, chunk, chunk[-1], progress)

    async def _listing_batch(
        self,
        job: SyncJob,
        connection: MarketplaceConnection,
        client: MarketplaceClient,
        ids: Sequence[str],
        cursor: str | None,
        progress: float,
    ) -> ListingBatch:
        """The items, which of them changed since stored, and the changed ones' automation."""
        # Items are public on the marketplace: only the connected seller's are the shop's.
        remote = [
            item
            for item in await client.items(ids)
            if item.seller_id is None or item.seller_id == connection.seller_id
        ]
        async with self._uow() as uow:
            existing = await uow.listings.get_many(job.account_id, [item.id for item in remote])
        changed = [
            item
            for item in remote
            if item.id not in existing or existing[item.id].updated_at != item.last_updated
        ]
        automated = await _automation(client, [item.id for item in changed])
        return ListingBatch(len(remote), changed, existing, automated, cursor, progress)

    async def _order_batches(
        self, job: SyncJob, connection: MarketplaceConnection, client: MarketplaceClient
    ) -> AsyncIterator[OrderBatch]:
        async with self._uow() as uow:
            latest = await uow.orders.latest_created_at(job.account_id, connection.id)
        since = latest - ORDERS_OVERLAP if latest else None
        now = self._clock.now()
        batch: list[RemoteOrder] = []
        async for order in client.orders(since=since):
            batch.append(order)
            if len(batch) >= ORDER_BATCH:
                yield _order_batch(batch, since, now)
                batch = []
        if batch:
            yield _order_batch(batch, since, now)

    # -- one resource (webhooks) ----------------------------------------------------------------
    async def _one(
        self, job: SyncJob, connection: MarketplaceConnection, client: MarketplaceClient
    ) -> None:
        assert job.resource is not None
        if job.kind is SyncKind.ITEM:
            batch = await self._listing_batch(job, connection, client, [job.resource], None, 1.0)
            await self._save_listings(job, connection, batch)
            return
        try:
            order = await client.order(job.resource)
        except MarketplaceNotFound:
            return  # not (or no longer) this seller's: nothing to re-read
        await self._save_orders(job, connection, OrderBatch([order], None, 1.0))

    # -- writing batches ------------------------------------------------------------------------
    async def _save_listings(
        self, job: SyncJob, connection: MarketplaceConnection, batch: ListingBatch
    ) -> None:
        now = self._clock.now()
        listings = [
            _listing(connection, item, batch.automated[item.id], now, batch.existing.get(item.id))
            for item in batch.changed
        ]
        async with self._uow() as uow:
            stored = await self._fenced(uow, job)
            await uow.listings.save_synced(listings)
            created = sum(1 for item in batch.changed if item.id not in batch.existing)
            job.counts.listings_created += created
            job.counts.listings_updated += len(batch.changed) - created
            job.counts.listings_unchanged += batch.seen - len(batch.changed)
            await self._advance(uow, stored, job, job.phase, batch.cursor, batch.progress)
            await uow.commit()
        await self._publish(job)

    async def _save_orders(
        self, job: SyncJob, connection: MarketplaceConnection, batch: OrderBatch
    ) -> None:
        unique = list({order.id: order for order in batch.orders}.values())
        async with self._uow() as uow:
            stored = await self._fenced(uow, job)
            stamps = await uow.orders.stamps(job.account_id, [order.id for order in unique])
            fresh: list[Order] = []
            for remote_order in unique:
                order = self._order(connection, remote_order)
                if order.id not in stamps:
                    fresh.append(order)
                elif stamps[order.id] != order.updated_at:
                    await uow.orders.save(order)
                    job.counts.orders_updated += 1
                else:
                    job.counts.orders_unchanged += 1
            job.counts.orders_created += await uow.orders.add_many(fresh)
            await self._advance(uow, stored, job, job.phase, batch.cursor, batch.progress)
            await uow.commit()
        await self._publish(job)

    async def _save_phase(
        self, job: SyncJob, phase: SyncPhase, cursor: str | None, progress: float
    ) -> None:
        async with self._uow() as uow:
            stored = await self._fenced(uow, job)
            await self._advance(uow, stored, job, phase, cursor, progress)
            await uow.commit()

    async def _advance(
        self,
        uow: UnitOfWork,
        stored: SyncJob,
        job: SyncJob,
        phase: SyncPhase,
        cursor: str | None,
        progress: float,
    ) -> None:
        if job.kind is SyncKind.FULL:
            job.advance(phase, cursor, progress, self._clock.now())
        else:
            job.heartbeat_at = self._clock.now()
        stored.phase, stored.cursor, stored.progress = job.phase, job.cursor, job.progress
        stored.heartbeat_at, stored.counts = job.heartbeat_at, job.counts
        await uow.sync_jobs.save(stored)

    def _order(self, connection: MarketplaceConnection, order: RemoteOrder) -> Order:
        return Order(
            account_id=connection.account_id,
            connection_id=connection.id,
            id=order.id,
            status=order.status,
            created_at=order.created_at,
            total_amount=order.total_amount,
            currency=order.currency,
            buyer=self._pseudonyms.of(connection.provider, order.buyer_id),
            items=tuple(
                OrderItem(
                    listing_id=line.item_id,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    full_unit_price=line.full_unit_price,
                )
                for line in order.lines
            ),
            updated_at=order.last_updated,
        )


def _listing(
    connection: MarketplaceConnection,
    item: RemoteItem,
    automated: bool,
    now: datetime,
    old: Listing | None,
) -> Listing:
    return Listing(
        account_id=connection.account_id,
        connection_id=connection.id,
        id=item.id,
        title=item.title,
        category=item.category_id,
        price=item.price,
        original_price=item.original_price,
        currency=item.currency,
        available_quantity=item.available_quantity,
        sold_quantity=item.sold_quantity,
        status=item.status,
        condition=item.condition,
        listing_type=item.listing_type,
        price_automated=automated,
        updated_at=item.last_updated,
        synced_at=now,
        unit_cost=old.unit_cost if old else None,  # ours: a sync never touches it
    )


async def _automation(client: MarketplaceClient, ids: Sequence[str]) -> dict[str, bool]:
    """Each listing's price automation, a few requests in flight."""
    gate = asyncio.Semaphore(AUTOMATION_CHECKS_IN_FLIGHT)

    async def check(item_id: str) -> bool:
        async with gate:
            return await client.price_automated(item_id)

    answers = await asyncio.gather(*(check(i) for i in ids))
    return dict(zip(ids, answers, strict=True))


def _order_batch(orders: list[RemoteOrder], since: datetime | None, now: datetime) -> OrderBatch:
    last = orders[-1].created_at
    progress = LISTINGS_SHARE + (1 - LISTINGS_SHARE) * _fraction(since, last, now)
    return OrderBatch(orders, last.isoformat(), progress)


async def _pipelined(batches: AsyncIterator[B], write: Callable[[B], Awaitable[None]]) -> None:
    """Write each batch in order while the next is read; an error on either side stops both
    (a batch is written whole or not at all, so a stop leaves a resumable state)."""
    queue: asyncio.Queue[B | None] = asyncio.Queue(maxsize=1)

    async def writer() -> None:
        while (batch := await queue.get()) is not None:
            await write(batch)

    writing = asyncio.create_task(writer())

    async def hand_over(batch: B | None) -> None:
        putting = asyncio.ensure_future(queue.put(batch))
        await asyncio.wait({putting, writing}, return_when=asyncio.FIRST_COMPLETED)
        if not putting.done():
            putting.cancel()
            writing.result()  # the writer failed: its error stops the sync
            raise SyncFenced("the writer stopped")

    try:
        async for batch in batches:
            await hand_over(batch)
        await hand_over(None)
        await writing
    finally:
        if not writing.done():
            writing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writing


def _fraction(since: datetime | None, at: datetime, now: datetime) -> float:
    start = since or (now - timedelta(days=365))
    span = (now - start).total_seconds()
    return 0.0 if span <= 0 else max(0.0, min(1.0, (at - start).total_seconds() / span))
