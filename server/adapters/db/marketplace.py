"""The shop in SQL: connections, listings, orders (with their items), syncs, webhook receipts
and OAuth states. Every read and write is scoped by account, except the two lookups the
marketplace drives (a webhook names a seller; a job carries a sync id)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, delete, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from domain.model.campaigns import DiscountStatus
from domain.model.marketplace import (
    ConnectionStatus,
    Listing,
    MarketplaceConnection,
    MarketplaceProvider,
    Order,
    OrderItem,
    SyncStatus,
)
from domain.model.shop_sync import (
    OAuthState,
    SyncCounts,
    SyncJob,
    SyncKind,
    SyncPhase,
    WebhookReceipt,
)
from domain.pagination import Page, PageRequest
from domain.ports import ListingFilter, OrderFilter
from server.adapters.db.base import FieldMapper, SqlRepository
from server.adapters.db.campaigns import _status_condition
from server.adapters.db.marketplace_tables import (
    ListingRow,
    MarketplaceConnectionRow,
    OAuthStateRow,
    OrderItemRow,
    OrderRow,
    SyncJobRow,
    WebhookReceiptRow,
)
from server.adapters.db.tables import DiscountRow

LIVE_SYNC = (SyncStatus.QUEUED.value, SyncStatus.RUNNING.value)

# The Core tables, for bulk inserts without the ORM's per-row bookkeeping.
ORDERS = cast(Table, OrderRow.__table__)
ORDER_ITEMS = cast(Table, OrderItemRow.__table__)


class SqlMarketplaceConnectionRepository(
    SqlRepository[MarketplaceConnection, MarketplaceConnectionRow]
):
    row = MarketplaceConnectionRow

    def to_entity(self, row: MarketplaceConnectionRow) -> MarketplaceConnection:
        return MarketplaceConnection(
            account_id=row.account_id,
            provider=MarketplaceProvider(row.provider),
            status=ConnectionStatus(row.status),
            created_at=row.created_at,
            seller_id=row.seller_id,
            nickname=row.nickname,
            site_id=row.site_id,
            last_sync_at=row.last_sync_at,
            id=row.id,
        )

    def to_values(self, entity: MarketplaceConnection) -> dict[str, Any]:
        return {
            "id": entity.id,
            "account_id": entity.account_id,
            "provider": entity.provider.value,
            "status": entity.status.value,
            "seller_id": entity.seller_id,
            "nickname": entity.nickname,
            "site_id": entity.site_id,
            "last_sync_at": entity.last_sync_at,
            "created_at": entity.created_at,
        }

    async def for_account(self, account_id: str) -> list[MarketplaceConnection]:
        rows = await self.session.execute(
            select(*self.columns())
            .where(MarketplaceConnectionRow.account_id == account_id)
            .order_by(MarketplaceConnectionRow.created_at, MarketplaceConnectionRow.id)
        )
        return [self.to_entity(cast(Any, row)) for row in rows]

    async def with_seller(
        self, provider: MarketplaceProvider, seller_id: str
    ) -> list[MarketplaceConnection]:
        rows = await self.session.execute(
            select(*self.columns()).where(
                MarketplaceConnectionRow.provider == provider.value,
                MarketplaceConnectionRow.seller_id == seller_id,
                MarketplaceConnectionRow.status == ConnectionStatus.CONNECTED.value,
            )
        )
        return [self.to_entity(cast(Any, row)) for row in rows]


_LISTINGS: FieldMapper[Listing, ListingRow] = FieldMapper(Listing, ListingRow)


def live_discount_exists(now: datetime) -> ColumnElement[bool]:
    """SQL: the listing has a discount live at `now` (the campaigns slice's rule)."""
    return exists().where(
        DiscountRow.account_id == ListingRow.account_id,
        DiscountRow.listing_id == ListingRow.id,
        _status_condition(DiscountStatus.ACTIVE, now),
    )


class SqlListingRepository(SqlRepository[Listing, ListingRow]):
    row = ListingRow
    sort_field = "updated_at"

    def to_entity(self, row: ListingRow) -> Listing:
        return _LISTINGS.to_entity(row)

    def to_values(self, entity: Listing) -> dict[str, Any]:
        return _LISTINGS.to_values(entity)

    async def page(
        self, account_id: str, request: PageRequest, where: ListingFilter
    ) -> Page[Listing]:
        conditions: list[ColumnElement[bool]] = []
        if where.connection_id is not None:
            conditions.append(ListingRow.connection_id == where.connection_id)
        if where.status is not None:
            conditions.append(ListingRow.status == where.status.strip().lower())
        if where.category is not None:
            conditions.append(ListingRow.category == where.category.strip().upper())
        if where.title_contains:
            conditions.append(
                func.lower(ListingRow.title).contains(where.title_contains.lower(), autoescape=True)
            )
        if where.price_automated is not None:
            conditions.append(ListingRow.price_automated.is_(where.price_automated))
        if where.has_live_discount is not None:
            if where.as_of is None:
                raise ValueError("a live-discount filter needs the instant it is judged at")
            live = live_discount_exists(where.as_of)
            conditions.append(live if where.has_live_discount else ~live)
        return await self._page(account_id, request, *conditions)

    async def stamps(self, account_id: str, ids: Sequence[str]) -> dict[str, datetime]:
        if not ids:
            return {}
        rows = await self.session.execute(
            select(ListingRow.id, ListingRow.updated_at).where(
                ListingRow.account_id == account_id, ListingRow.id.in_(set(ids))
            )
        )
        return {row.id: row.updated_at for row in rows}

    async def save_synced(self, listings: Sequence[Listing]) -> None:
        """Insert or update the marketplace's side of each listing in one statement (a sync
        and a webhook's re-read may write the same listing at once); `unit_cost` is ours and
        is never overwritten."""
        if not listings:
            return
        make = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = make(ListingRow)
        keys = {"account_id", "id", "unit_cost"}
        statement = statement.on_conflict_do_update(
            index_elements=["account_id", "id"],
            set_={c.key: statement.excluded[c.key] for c in self.columns() if c.key not in keys},
        )
        await self.session.execute(statement, [self.to_values(listing) for listing in listings])


class SqlOrderRepository(SqlRepository[Order, OrderRow]):
    """Orders with their items: an order row plus one row per item, read in one more query
    per page (never per order)."""

    row = OrderRow

    def to_entity(self, row: OrderRow) -> Order:
        return Order(
            account_id=row.account_id,
            connection_id=row.connection_id,
            id=row.id,
            status=row.status,
            created_at=row.created_at,
            total_amount=row.total_amount,
            currency=row.currency,
            buyer=row.buyer,
            items=(),
            updated_at=row.updated_at,
        )

    def to_values(self, entity: Order) -> dict[str, Any]:
        return {
            "account_id": entity.account_id,
            "connection_id": entity.connection_id,
            "id": entity.id,
            "status": entity.status,
            "created_at": entity.created_at,
            "total_amount": entity.total_amount,
            "currency": entity.currency,
            "buyer": entity.buyer,
            "updated_at": entity.updated_at,
        }

    def _item_values(self, order: Order) -> list[dict[str, Any]]:
        return [
            {
                "account_id": order.account_id,
                "order_id": order.id,
                "position": position,
                "listing_id": item.listing_id,
                "quantity": item.quantity,
                "unit_price": item.unit_price,
                "full_unit_price": item.full_unit_price,
            }
            for position, item in enumerate(order.items)
        ]

    async def add(self, entity: Order) -> None:
        await self.add_many([entity])

    async def add_many(self, orders: Sequence[Order]) -> int:
        """Insert the orders not stored yet, and their items, in two statements; an order
        written meanwhile by another sync is left as it is. Returns how many were new."""
        if not orders:
            return 0
        make = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        inserted = await self.session.execute(
            make(ORDERS).on_conflict_do_nothing().returning(OrderRow.id),
            [self.to_values(o) for o in orders],
        )
        fresh = set(inserted.scalars().all())
        items = [v for order in orders if order.id in fresh for v in self._item_values(order)]
        if items:
            await self.session.execute(insert(ORDER_ITEMS), items)
        return len(fresh)

    async def save(self, entity: Order) -> None:
        await super().save(entity)
        await self.session.execute(
            delete(OrderItemRow).where(
                OrderItemRow.account_id == entity.account_id, OrderItemRow.order_id == entity.id
            )
        )
        items = self._item_values(entity)
        if items:
            await self.session.execute(insert(OrderItemRow), items)

    async def delete(self, account_id: str, entity_id: str) -> None:
        await self.session.execute(
            delete(OrderItemRow).where(
                OrderItemRow.account_id == account_id, OrderItemRow.order_id == entity_id
            )
        )
        await super().delete(account_id, entity_id)

    async def _with_items(self, account_id: str, orders: Sequence[Order]) -> list[Order]:
        if not orders:
            return []
        rows = await self.session.execute(
            select(*OrderItemRow.__table__.columns)
            .where(
                OrderItemRow.account_id == account_id,
                OrderItemRow.order_id.in_({o.id for o in orders}),
            )
            .order_by(OrderItemRow.order_id, OrderItemRow.position)
        )
        items: dict[str, list[OrderItem]] = {}
        for row in rows:
            items.setdefault(row.order_id, []).append(
                OrderItem(
                    listing_id=row.listing_id,
                    quantity=row.quantity,
                    unit_price=row.unit_price,
                    full_unit_price=row.full_unit_price,
                )
            )
        for order in orders:
            order.items = tuple(items.get(order.id, ()))
        return list(orders)

    async def get_many(self, account_id: str, ids: Sequence[str]) -> dict[str, Order]:
        found = await super().get_many(account_id, ids)
        await self._with_items(account_id, list(found.values()))
        return found

    async def page(self, account_id: str, request: PageRequest, where: OrderFilter) -> Page[Order]:
        conditions: list[ColumnElement[bool]] = []
        if where.connection_id is not None:
            conditions.append(OrderRow.connection_id == where.connection_id)
        if where.status is not None:
            conditions.append(OrderRow.status == where.status.strip().lower())
        if where.since is not None:
            conditions.append(OrderRow.created_at >= where.since)
        if where.until is not None:
            conditions.append(OrderRow.created_at < where.until)
        if where.listing_id is not None:
            conditions.append(
                exists().where(
                    OrderItemRow.account_id == OrderRow.account_id,
                    OrderItemRow.order_id == OrderRow.id,
                    OrderItemRow.listing_id == where.listing_id.strip().upper(),
                )
            )
        page = await self._page(account_id, request, *conditions)
        await self._with_items(account_id, page.items)
        return page

    async def pages_by_listing(
        self, account_id: str, listing_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[Order]]:
        """A page of orders per listing in three statements, whatever the number of listings."""
        if not listing_ids:
            return {}
        keys = set(listing_ids)
        links = (
            select(OrderItemRow.order_id, OrderItemRow.listing_id)
            .where(OrderItemRow.account_id == account_id, OrderItemRow.listing_id.in_(keys))
            .distinct()
            .subquery()
        )
        joined = and_(OrderRow.account_id == account_id, OrderRow.id == links.c.order_id)
        counts: dict[str, int] = dict(
            (
                await self.session.execute(
                    select(links.c.listing_id, func.count())
                    .select_from(links)
                    .group_by(links.c.listing_id)
                )
            ).all()
        )
        grouped: dict[str, list[Order]] = {key: [] for key in listing_ids}
        if request.first > 0:
            position = (
                func.row_number()
                .over(
                    partition_by=links.c.listing_id,
                    order_by=(OrderRow.created_at.desc(), OrderRow.id.desc()),
                )
                .label("position")
            )
            ranked = (
                select(*self.columns(), links.c.listing_id.label("group_key"), position)
                .join(links, joined)
                .where(*self._after(request.after))
                .subquery()
            )
            query = (
                select(*(ranked.c[c.key] for c in self.columns()), ranked.c.group_key)
                .where(ranked.c.position <= request.first + 1)
                .order_by(ranked.c.group_key, ranked.c.position)
            )
            for row in await self.session.execute(query):
                grouped[row.group_key].append(self.to_entity(cast(Any, row)))
        every = [order for orders in grouped.values() for order in orders]
        await self._with_items_shared(account_id, every)
        return {key: self._make_page(grouped[key], request, counts.get(key, 0)) for key in keys}

    async def _with_items_shared(self, account_id: str, orders: list[Order]) -> None:
        # One order may sit in several listings' pages as separate objects: fill them all.
        by_id: dict[str, list[Order]] = {}
        for order in orders:
            by_id.setdefault(order.id, []).append(order)
        firsts = [same[0] for same in by_id.values()]
        await self._with_items(account_id, firsts)
        for same in by_id.values():
            for other in same[1:]:
                other.items = same[0].items

    async def stamps(self, account_id: str, ids: Sequence[str]) -> dict[str, datetime]:
        if not ids:
            return {}
        rows = await self.session.execute(
            select(OrderRow.id, OrderRow.updated_at).where(
                OrderRow.account_id == account_id, OrderRow.id.in_(set(ids))
            )
        )
        return {row.id: row.updated_at for row in rows}

    async def latest_created_at(self, account_id: str, connection_id: str) -> datetime | None:
        return await self.session.scalar(
            select(func.max(OrderRow.created_at)).where(
                OrderRow.account_id == account_id, OrderRow.connection_id == connection_id
            )
        )


class SqlSyncJobRepository(SqlRepository[SyncJob, SyncJobRow]):
    row = SyncJobRow

    def to_entity(self, row: SyncJobRow) -> SyncJob:
        return SyncJob(
            account_id=row.account_id,
            connection_id=row.connection_id,
            kind=SyncKind(row.kind),
            status=SyncStatus(row.status),
            created_at=row.created_at,
            phase=SyncPhase(row.phase),
            cursor=row.cursor,
            progress=row.progress,
            counts=SyncCounts.of(row.counts),
            resource=row.resource,
            attempt=row.attempt,
            heartbeat_at=row.heartbeat_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            error=row.error,
            id=row.id,
        )

    def to_values(self, entity: SyncJob) -> dict[str, Any]:
        return {
            "id": entity.id,
            "account_id": entity.account_id,
            "connection_id": entity.connection_id,
            "kind": entity.kind.value,
            "status": entity.status.value,
            "phase": entity.phase.value,
            "cursor": entity.cursor,
            "progress": entity.progress,
            "counts": entity.counts.as_dict(),
            "resource": entity.resource,
            "attempt": entity.attempt,
            "heartbeat_at": entity.heartbeat_at,
            "started_at": entity.started_at,
            "finished_at": entity.finished_at,
            "error": entity.error,
            "created_at": entity.created_at,
        }

    async def unfinished(self, account_id: str, connection_id: str) -> SyncJob | None:
        row = (
            await self.session.execute(
                select(*self.columns())
                .where(
                    SyncJobRow.account_id == account_id,
                    SyncJobRow.connection_id == connection_id,
                    SyncJobRow.kind == SyncKind.FULL.value,
                    SyncJobRow.status.in_(LIVE_SYNC),
                )
                .order_by(SyncJobRow.created_at.desc())
                .limit(1)
            )
        ).first()
        return self.to_entity(cast(Any, row)) if row else None

    async def get_for_update(self, sync_id: str) -> SyncJob | None:
        if self.session.get_bind().dialect.name == "sqlite":
            # SQLite ignores FOR UPDATE: a no-op write takes the one writer lock first.
            await self.session.execute(
                update(SyncJobRow).where(SyncJobRow.id == sync_id).values(id=SyncJobRow.id)
            )
            query = select(*self.columns()).where(SyncJobRow.id == sync_id)
        else:
            query = select(*self.columns()).where(SyncJobRow.id == sync_id).with_for_update()
        row = (await self.session.execute(query)).first()
        return self.to_entity(cast(Any, row)) if row else None

    async def resumable(self) -> list[SyncJob]:
        rows = await self.session.execute(
            select(*self.columns()).where(SyncJobRow.status.in_(LIVE_SYNC))
        )
        return [self.to_entity(cast(Any, row)) for row in rows]


class SqlWebhookReceiptRepository:
    def __init__(self, session: Any) -> None:
        self.session = session

    async def add_once(self, receipt: WebhookReceipt) -> bool:
        values = {
            "id": receipt.id,
            "topic": receipt.topic,
            "resource": receipt.resource,
            "user_id": receipt.user_id,
            "attempts": receipt.attempts,
            "received_at": receipt.received_at,
        }
        dialect = self.session.get_bind().dialect.name
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = make(WebhookReceiptRow).values(**values).on_conflict_do_nothing()
        result = await self.session.execute(statement)
        return bool(result.rowcount)


class SqlOAuthStateRepository:
    def __init__(self, session: Any) -> None:
        self.session = session

    async def add(self, state: OAuthState) -> None:
        await self.session.execute(
            insert(OAuthStateRow).values(
                state=state.state,
                account_id=state.account_id,
                connection_id=state.connection_id,
                code_verifier=state.code_verifier,
                redirect_uri=state.redirect_uri,
                expires_at=state.expires_at,
            )
        )

    async def take(self, state: str) -> OAuthState | None:
        row = (
            await self.session.execute(select(OAuthStateRow).where(OAuthStateRow.state == state))
        ).scalar_one_or_none()
        if row is None:
            return None
        # Single use: only the request whose delete removes the row gets the state.
        result = await self.session.execute(
            delete(OAuthStateRow).where(OAuthStateRow.state == state)
        )
        if not result.rowcount:
            return None
        return OAuthState(
            state=row.state,
            account_id=row.account_id,
            connection_id=row.connection_id,
            code_verifier=row.code_verifier,
            redirect_uri=row.redirect_uri,
            expires_at=row.expires_at,
        )


__all__ = [
    "SqlListingRepository",
    "SqlMarketplaceConnectionRepository",
    "SqlOAuthStateRepository",
    "SqlOrderRepository",
    "SqlSyncJobRepository",
    "SqlWebhookReceiptRepository",
    "live_discount_exists",
]
