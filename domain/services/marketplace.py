"""Connecting a seller's marketplace, starting syncs, webhooks, and the costs sellers give us.

Connecting runs the OAuth authorization-code flow with PKCE for every provider: for Mercado
Livre the seller's browser does the consent step and our callback finishes it; the simulator
approves at once, so the service follows its redirect itself and finishes at once. There is
no second path: both exchange a code for tokens through the same adapter.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import hashlib
import io
import logging
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from domain.errors import Conflict, InvalidInput, NotFound
from domain.marketplace import (
    CredentialStore,
    MarketplaceError,
    StoredCredentials,
    TokenGrant,
)
from domain.model.accounts import Principal
from domain.model.marketplace import (
    ConnectionStatus,
    Listing,
    MarketplaceConnection,
    MarketplaceProvider,
    SyncStatus,
)
from domain.model.shop_sync import (
    ActivityKind,
    MarketplaceActivity,
    OAuthState,
    SyncJob,
    SyncKind,
    WebhookReceipt,
)
from domain.ports import (
    ActivityFeed,
    Clock,
    MarketplaceProviders,
    SyncQueue,
    UnitOfWork,
    UnitOfWorkFactory,
)

log = logging.getLogger(__name__)
MAX_UNIT_COST = Decimal("10000000")
MAX_COST_ROWS = 20_000
MAX_COST_FILE_BYTES = 2 * 2**20
_ITEM_RESOURCE = re.compile(r"^/items/([A-Z]{3}\d+)")
_ORDER_RESOURCE = re.compile(r"^/orders/(\d+)")


@dataclass(frozen=True, slots=True)
class MarketplacePolicy:
    redirect_uri: str  # our OAuth callback, as registered with the marketplace
    state_ttl: timedelta = timedelta(minutes=10)
    sync_lease: timedelta = timedelta(seconds=60)  # a RUNNING sync this quiet was killed


@dataclass(frozen=True, slots=True)
class Connected:
    connection: MarketplaceConnection
    authorization_url: str | None = None  # MERCADO_LIVRE: where the seller consents


@dataclass(frozen=True, slots=True)
class CostRowError:
    row: int  # 1-based, counting the header as row 1
    listing_id: str | None
    message: str


@dataclass(frozen=True, slots=True)
class CostImport:
    updated: int
    errors: tuple[CostRowError, ...]  # not empty: nothing was written


@dataclass(frozen=True, slots=True)
class Notification:
    """A marketplace webhook, as received."""

    id: str
    topic: str
    resource: str
    user_id: str
    attempts: int = 1


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def parse_unit_cost(raw: object, field: str = "unit_cost") -> Decimal:
    """A unit cost: a number >= 0 with at most 2 decimals, below 10 million."""
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(f"The unit cost must be a number (got {raw!r}).", field=field) from exc
    if not value.is_finite() or value < 0 or value >= MAX_UNIT_COST:
        raise InvalidInput("The unit cost must be between 0 and 9,999,999.99.", field=field)
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput("The unit cost has at most 2 decimals (centavos).", field=field)
    return value.quantize(Decimal("0.01"))


class MarketplaceService:
    """Connections, sync starts, webhook receipt and listing costs (reads: views)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        providers: MarketplaceProviders,
        credentials: CredentialStore,
        syncs: SyncQueue,
        feed: ActivityFeed,
        policy: MarketplacePolicy,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._providers = providers
        self._credentials = credentials
        self._syncs = syncs
        self._feed = feed
        self._policy = policy

    # -- connecting -----------------------------------------------------------------------------
    async def connect(
        self, principal: Principal, provider: MarketplaceProvider, seed: int | None = None
    ) -> Connected:
        """SIMULATOR: connected at once. MERCADO_LIVRE: a PENDING connection and the URL the
        seller opens to consent; the callback (`finish_consent`) completes it."""
        principal.require_write()
        if seed is not None and provider is not MarketplaceProvider.SIMULATOR:
            raise InvalidInput("A seed picks a simulated shop: only for SIMULATOR.", field="seed")
        if seed is not None and not 0 <= seed < 2**31:
            raise InvalidInput("The seed must be between 0 and 2147483647.", field="seed")
        marketplace = self._providers.marketplace(provider)
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(24)
        url = marketplace.authorization_url(
            state=state, code_challenge=challenge, redirect_uri=self._policy.redirect_uri
        )
        if provider is MarketplaceProvider.MERCADO_LIVRE:
            return Connected(await self._pending(principal, state, verifier), url)
        seller = await self._providers.simulated_seller(seed) if seed is not None else None
        code = await self._providers.simulated_consent(url, seller)
        grant = await marketplace.exchange_code(
            code=code, code_verifier=verifier, redirect_uri=self._policy.redirect_uri
        )
        connection = await self._connected(principal.account_id, provider, grant, pending=None)
        return Connected(connection)

    async def _pending(
        self, principal: Principal, state: str, verifier: str
    ) -> MarketplaceConnection:
        now = self._clock.now()
        connection = MarketplaceConnection(
            account_id=principal.account_id,
            provider=MarketplaceProvider.MERCADO_LIVRE,
            status=ConnectionStatus.PENDING,
            created_at=now,
        )
        async with self._uow() as uow:
            await uow.marketplace_connections.add(connection)
            await uow.flush()
            await uow.oauth_states.add(
                OAuthState(
                    state=state,
                    account_id=principal.account_id,
                    connection_id=connection.id,
                    code_verifier=verifier,
                    redirect_uri=self._policy.redirect_uri,
                    expires_at=now + self._policy.state_ttl,
                )
            )
            await uow.commit()
        return connection

    async def finish_consent(self, code: str, state: str) -> MarketplaceConnection:
        """The OAuth callback: the state is single-use and expires; the code is exchanged with
        the verifier kept for it."""
        if not code or not state:
            raise InvalidInput("The callback needs `code` and `state`.", field="code")
        async with self._uow() as uow:
            pending = await uow.oauth_states.take(state)
            await uow.commit()
        if pending is None:
            raise NotFound("This authorization was finished already or never started.")
        if pending.expires_at <= self._clock.now():
            raise InvalidInput("This authorization expired; connect again.", field="state")
        marketplace = self._providers.marketplace(MarketplaceProvider.MERCADO_LIVRE)
        grant = await marketplace.exchange_code(
            code=code, code_verifier=pending.code_verifier, redirect_uri=pending.redirect_uri
        )
        return await self._connected(
            pending.account_id,
            MarketplaceProvider.MERCADO_LIVRE,
            grant,
            pending=pending.connection_id,
        )

    async def _connected(
        self,
        account_id: str,
        provider: MarketplaceProvider,
        grant: TokenGrant,
        pending: str | None,
    ) -> MarketplaceConnection:
        """Store the grant on the account's connection to that seller (reconnecting keeps its
        listings), or on a new one; then read the seller's profile with it."""
        async with self._uow() as uow:
            existing = next(
                (
                    c
                    for c in await uow.marketplace_connections.for_account(account_id)
                    if c.provider is provider and c.seller_id == grant.user_id
                ),
                None,
            )
            connection = existing or (
                await uow.marketplace_connections.get(account_id, pending) if pending else None
            )
            created = connection is None
            if connection is None:
                connection = MarketplaceConnection(
                    account_id=account_id,
                    provider=provider,
                    status=ConnectionStatus.PENDING,
                    created_at=self._clock.now(),
                )
                await uow.marketplace_connections.add(connection)
            if pending and existing is not None and existing.id != pending:
                await uow.marketplace_connections.delete(account_id, pending)
            await uow.commit()
        await self._credentials.save(
            StoredCredentials(
                connection_id=connection.id,
                access_token=grant.access_token,
                refresh_token=grant.refresh_token,
                expires_at=grant.expires_at,
            )
        )
        try:
            profile = await self._providers.marketplace(provider).client(connection.id).me()
        except MarketplaceError:
            if created:
                await self._forget(account_id, connection.id)
            raise
        connection.seller_id = profile.user_id
        connection.nickname = profile.nickname
        connection.site_id = profile.site_id
        connection.status = ConnectionStatus.CONNECTED
        async with self._uow() as uow:
            await uow.marketplace_connections.save(connection)
            await uow.commit()
        log.info(
            "marketplace.connected",
            extra={"account_id": account_id, "connection_id": connection.id},
        )
        return connection

    async def _forget(self, account_id: str, connection_id: str) -> None:
        async with self._uow() as uow:
            await uow.marketplace_connections.delete(account_id, connection_id)
            await uow.commit()

    # -- syncing --------------------------------------------------------------------------------
    async def start_sync(self, principal: Principal, connection_id: str) -> SyncJob:
        """A full sync of the connection; an unfinished one is resumed instead (or returned as
        it is when a worker is on it)."""
        principal.require_write()
        now = self._clock.now()
        async with self._uow() as uow:
            connection = await uow.marketplace_connections.get(principal.account_id, connection_id)
            if connection is None:
                raise NotFound.of("Marketplace connection", connection_id)
            if connection.status is not ConnectionStatus.CONNECTED:
                raise Conflict(
                    f"The connection is {connection.status.value}; connect it first.",
                    field="connection_id",
                )
            job = await uow.sync_jobs.unfinished(principal.account_id, connection_id)
            running = job is not None and job.status is SyncStatus.RUNNING
            if job is not None and running and not job.stale(now, self._policy.sync_lease):
                return job  # a worker is on it
            if job is None:
                job = SyncJob(
                    account_id=principal.account_id,
                    connection_id=connection_id,
                    kind=SyncKind.FULL,
                    status=SyncStatus.QUEUED,
                    created_at=now,
                    attempt=1,
                )
                await uow.sync_jobs.add(job)
            else:
                job.attempt += 1  # fences whoever held it; resumes from its saved cursor
                job.status = SyncStatus.QUEUED
                await uow.sync_jobs.save(job)
            await uow.commit()
        await self._syncs.enqueue_sync(job.id, job.attempt)
        return job

    async def resume_syncs(self, only_stale: bool = False) -> int:
        """Enqueue again, as a new attempt, the syncs left QUEUED or RUNNING: at an embedded
        start every one (this process ran them), or (`only_stale`, the workers' periodic
        sweep) the RUNNING ones whose worker has been silent past the lease (killed)."""
        now = self._clock.now()
        async with self._uow() as uow:
            jobs = [
                job
                for job in await uow.sync_jobs.resumable()
                if not only_stale or job.stale(now, self._policy.sync_lease)
            ]
            for job in jobs:
                job.attempt += 1  # fences the silent worker, should it wake up
                job.status = SyncStatus.QUEUED
                await uow.sync_jobs.save(job)
            await uow.commit()
        for job in jobs:
            log.info("sync.resumed", extra={"sync_id": job.id, "attempt": job.attempt})
            await self._syncs.enqueue_sync(job.id, job.attempt)
        return len(jobs)

    async def sweep_syncs_forever(self) -> None:
        """A worker's loop: resume killed syncs, every lease."""
        interval = self._policy.sync_lease.total_seconds()
        while True:
            try:
                await self.resume_syncs(only_stale=True)
            except Exception:
                log.exception("sync sweep failed; will retry")
            await asyncio.sleep(interval)

    # -- webhooks -------------------------------------------------------------------------------
    async def receive(self, notification: Notification) -> int:
        """Record a notification once and re-sync the resource it names for every connection
        to that seller; a replay changes nothing. Returns the syncs started."""
        now = self._clock.now()
        kind, resource = _target(notification)
        jobs: list[SyncJob] = []
        async with self._uow() as uow:
            fresh = await uow.webhook_receipts.add_once(
                WebhookReceipt(
                    id=notification.id,
                    topic=notification.topic,
                    resource=notification.resource,
                    user_id=notification.user_id,
                    received_at=now,
                    attempts=notification.attempts,
                )
            )
            if not fresh:
                return 0
            if kind is not None and resource is not None:
                jobs = await self._targeted(uow, notification.user_id, kind, resource)
            await uow.commit()
        for job in jobs:
            await self._syncs.enqueue_sync(job.id, job.attempt)
            await self._feed.publish(
                MarketplaceActivity(
                    account_id=job.account_id,
                    kind=ActivityKind.WEBHOOK_RECEIVED,
                    at=now,
                    message=f"{notification.topic}: {notification.resource}",
                    connection_id=job.connection_id,
                    sync_id=job.id,
                    listing_id=resource if kind is SyncKind.ITEM else None,
                )
            )
        return len(jobs)

    async def _targeted(
        self, uow: UnitOfWork, seller_id: str, kind: SyncKind, resource: str
    ) -> list[SyncJob]:
        jobs = []
        for provider in MarketplaceProvider:
            for connection in await uow.marketplace_connections.with_seller(provider, seller_id):
                job = SyncJob(
                    account_id=connection.account_id,
                    connection_id=connection.id,
                    kind=kind,
                    status=SyncStatus.QUEUED,
                    created_at=self._clock.now(),
                    resource=resource,
                    attempt=1,
                )
                await uow.sync_jobs.add(job)
                jobs.append(job)
        return jobs

    # -- costs ----------------------------------------------------------------------------------
    async def update_listing_cost(
        self, principal: Principal, listing_id: str, unit_cost: Decimal | None
    ) -> Listing:
        """Set (or clear, with None) what one unit of the listing costs the seller."""
        principal.require_write()
        cost = None if unit_cost is None else parse_unit_cost(unit_cost)
        async with self._uow() as uow:
            listing = await uow.listings.get(principal.account_id, listing_id.strip().upper())
            if listing is None:
                raise NotFound.of("Listing", listing_id)
            listing.unit_cost = cost
            await uow.listings.save(listing)
            await uow.commit()
        return listing

    async def import_listing_costs(
        self, principal: Principal, chunks: AsyncIterator[bytes]
    ) -> CostImport:
        """A CSV `listing_id,unit_cost`: every row valid, or nothing written and each bad row
        reported."""
        principal.require_write()
        rows, errors = await _cost_rows(chunks)
        async with self._uow() as uow:
            found = await uow.listings.get_many(principal.account_id, list(rows))
            for listing_id, row in rows.items():
                if listing_id not in found:
                    errors.append(CostRowError(row[0], listing_id, "No such listing."))
            if errors:
                return CostImport(0, tuple(sorted(errors, key=lambda e: e.row)))
            for listing_id, (_, cost) in rows.items():
                found[listing_id].unit_cost = cost
                await uow.listings.save(found[listing_id])
            await uow.commit()
        return CostImport(len(rows), ())


def _target(notification: Notification) -> tuple[SyncKind | None, str | None]:
    """What a notification asks to re-read: an item or an order (promotions: their item)."""
    item = _ITEM_RESOURCE.match(notification.resource)
    if item and notification.topic in ("items", "promotions"):
        return SyncKind.ITEM, item.group(1)
    order = _ORDER_RESOURCE.match(notification.resource)
    if order and notification.topic.startswith("orders"):
        return SyncKind.ORDER, order.group(1)
    found = re.search(r"([A-Z]{3}\d{6,})", notification.resource)
    if found and notification.topic == "promotions":
        return SyncKind.ITEM, found.group(1)
    return None, None


async def _cost_rows(
    chunks: AsyncIterator[bytes],
) -> tuple[dict[str, tuple[int, Decimal]], list[CostRowError]]:
    data = bytearray()
    async for chunk in chunks:
        data += chunk
        if len(data) > MAX_COST_FILE_BYTES:
            raise InvalidInput("The cost file is over 2 MB.", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("The cost file must be UTF-8 text.", field="file") from exc
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if header[:2] != ["listing_id", "unit_cost"]:
        raise InvalidInput("The first row must be the header `listing_id,unit_cost`.", field="file")
    rows: dict[str, tuple[int, Decimal]] = {}
    errors: list[CostRowError] = []
    for number, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(rows) + len(errors) >= MAX_COST_ROWS:
            raise InvalidInput(f"The cost file has over {MAX_COST_ROWS} rows.", field="file")
        listing_id = record[0].strip().upper() if record else ""
        if len(record) < 2 or not listing_id:
            errors.append(
                CostRowError(number, listing_id or None, "Expected listing_id,unit_cost.")
            )
            continue
        if listing_id in rows:
            errors.append(CostRowError(number, listing_id, "This listing is on an earlier row."))
            continue
        try:
            rows[listing_id] = (number, parse_unit_cost(record[1]))
        except InvalidInput as exc:
            errors.append(CostRowError(number, listing_id, exc.message))
    if not rows and not errors:
        raise InvalidInput("The cost file has no rows.", field="file")
    return rows, errors
