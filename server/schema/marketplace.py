"""The marketplace store in GraphQL: connections, syncs, listings, orders, costs, activity.

Names follow API-CONTRACT.md ("Marketplace"). Reads go through the caller's shop views and
DataLoaders (server/schema/marketplace_loaders.py); mutations call one service each.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

from domain.model.common import require_aware
from domain.model.marketplace import (
    Listing,
    MarketplaceConnection,
    MarketplaceProvider,
    Order,
    SyncStatus,
)
from domain.model.shop_sync import ActivityKind, MarketplaceActivity, SyncJob, SyncKind, SyncPhase
from domain.pagination import PageRequest
from domain.ports import ListingFilter, OrderFilter
from domain.services.marketplace import MarketplaceService
from server.schema.campaigns import DiscountType
from server.schema.context import Info
from server.schema.datasets import _chunks
from server.schema.pagination import Connection, connection
from server.schema.promotions import PriceChangeType

MarketplaceProviderEnum = strawberry.enum(MarketplaceProvider, name="MarketplaceProvider")
SyncStatusEnum = strawberry.enum(SyncStatus, name="MarketplaceSyncStatus")
SyncKindEnum = strawberry.enum(SyncKind, name="MarketplaceSyncKind")
SyncPhaseEnum = strawberry.enum(SyncPhase, name="MarketplaceSyncPhase")
ActivityKindEnum = strawberry.enum(ActivityKind, name="MarketplaceEventKind")


def _service(info: Info) -> MarketplaceService:
    parts = info.context.container.marketplace
    assert parts is not None, "the container was built without the marketplace slice"
    return parts.service


@strawberry.type(name="MarketplaceConnection", description="The account's link to one seller.")
class MarketplaceConnectionType:
    id: strawberry.ID
    provider: MarketplaceProviderEnum  # type: ignore[valid-type]
    seller_id: str = strawberry.field(description="The marketplace's user id; empty while PENDING.")
    nickname: str | None
    site_id: str
    status: str = strawberry.field(description="PENDING, CONNECTED or REVOKED.")
    last_sync_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, c: MarketplaceConnection) -> MarketplaceConnectionType:
        return cls(
            id=strawberry.ID(c.id),
            provider=c.provider,
            seller_id=c.seller_id,
            nickname=c.nickname,
            site_id=c.site_id,
            status=c.status.value,
            last_sync_at=c.last_sync_at,
            created_at=c.created_at,
        )


@strawberry.type(name="MarketplaceSyncCounts")
class SyncCountsType:
    listings_created: int
    listings_updated: int
    listings_unchanged: int
    orders_created: int
    orders_updated: int
    orders_unchanged: int


@strawberry.type(
    name="MarketplaceSync",
    description="A sync of a connection's listings and orders (FULL), or of one resource a "
    "webhook named (ITEM, ORDER). Resumable: a stopped sync carries on from its last batch.",
)
class MarketplaceSyncType:
    id: strawberry.ID
    connection_id: strawberry.ID
    kind: SyncKindEnum  # type: ignore[valid-type]
    status: SyncStatusEnum  # type: ignore[valid-type]
    phase: SyncPhaseEnum  # type: ignore[valid-type]
    progress: float = strawberry.field(description="From 0 to 1.")
    counts: SyncCountsType
    resource: str | None
    attempt: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: SyncJob) -> MarketplaceSyncType:
        return cls(
            id=strawberry.ID(job.id),
            connection_id=strawberry.ID(job.connection_id),
            kind=job.kind,
            status=job.status,
            phase=job.phase,
            progress=job.progress,
            counts=SyncCountsType(**job.counts.as_dict()),
            resource=job.resource,
            attempt=job.attempt,
            error=job.error,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


@strawberry.type(name="OrderItem")
class OrderItemType:
    listing_id: strawberry.ID
    quantity: int
    unit_price: Decimal
    full_unit_price: Decimal | None


@strawberry.type(name="Order", description="An order of the seller's, as the marketplace has it.")
class OrderType:
    id: strawberry.ID
    connection_id: strawberry.ID
    status: str
    created_at: datetime
    total_amount: Decimal
    currency: str
    buyer: str = strawberry.field(description="A pseudonym (keyed hash), never the buyer's id.")
    items: list[OrderItemType]

    @classmethod
    def of(cls, order: Order) -> OrderType:
        return cls(
            id=strawberry.ID(order.id),
            connection_id=strawberry.ID(order.connection_id),
            status=order.status,
            created_at=order.created_at,
            total_amount=order.total_amount,
            currency=order.currency,
            buyer=order.buyer,
            items=[
                OrderItemType(
                    listing_id=strawberry.ID(i.listing_id),
                    quantity=i.quantity,
                    unit_price=i.unit_price,
                    full_unit_price=i.full_unit_price,
                )
                for i in order.items
            ],
        )


@strawberry.type(name="Listing", description="An item the seller lists on the marketplace.")
class ListingType:
    id: strawberry.ID = strawberry.field(description="The marketplace's item id (MLB...).")
    connection_id: strawberry.ID
    title: str
    category: str
    price: Decimal = strawberry.field(description="The price buyers pay now (a deal's price).")
    original_price: Decimal | None = strawberry.field(
        description="The price before a live promotion; null without one."
    )
    unit_cost: Decimal | None = strawberry.field(
        description="What one unit costs the seller (set by updateListingCost or a CSV import)."
    )
    currency: str
    available_quantity: int
    sold_quantity: int
    status: str
    condition: str
    listing_type: str
    price_automated: bool
    updated_at: datetime
    synced_at: datetime

    @classmethod
    def of(cls, listing: Listing) -> ListingType:
        return cls(
            id=strawberry.ID(listing.id),
            connection_id=strawberry.ID(listing.connection_id),
            title=listing.title,
            category=listing.category,
            price=listing.price,
            original_price=listing.original_price,
            unit_cost=listing.unit_cost,
            currency=listing.currency,
            available_quantity=listing.available_quantity,
            sold_quantity=listing.sold_quantity,
            status=listing.status,
            condition=listing.condition,
            listing_type=listing.listing_type,
            price_automated=listing.price_automated,
            updated_at=listing.updated_at,
            synced_at=listing.synced_at,
        )

    @strawberry.field(description="The listing's orders, newest first.")
    async def orders(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[OrderType]:
        loader = info.context.shop.orders_of_listings(PageRequest.of(first, after))
        return connection(await loader.load(str(self.id)), OrderType.of)

    @strawberry.field(description="The listing's price changes (the audit log), newest first.")
    async def price_history(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[PriceChangeType]:
        loader = info.context.loaders.price_history_of_listings(PageRequest.of(first, after))
        return connection(await loader.load(str(self.id)), PriceChangeType.of)

    @strawberry.field(description="The discount live on the listing now, if any.")
    async def live_discount(self, info: Info) -> DiscountType | None:
        discount = await info.context.shop.live_discounts.load(str(self.id))
        return DiscountType.of(discount, info.context.shop.now) if discount else None


@strawberry.type(name="MarketplaceEvent", description="One event of the account's activity.")
class MarketplaceEventType:
    kind: ActivityKindEnum  # type: ignore[valid-type]
    at: datetime
    message: str
    connection_id: strawberry.ID | None
    sync_id: strawberry.ID | None
    listing_id: strawberry.ID | None
    progress: float | None
    data: JSON | None

    @classmethod
    def of(cls, a: MarketplaceActivity) -> MarketplaceEventType:
        def ident(value: str | None) -> strawberry.ID | None:
            return strawberry.ID(value) if value else None

        return cls(
            kind=a.kind,
            at=a.at,
            message=a.message,
            connection_id=ident(a.connection_id),
            sync_id=ident(a.sync_id),
            listing_id=ident(a.listing_id),
            progress=a.progress,
            data=JSON(a.data) if a.data is not None else None,
        )


@strawberry.input(name="ListingFilter")
class ListingFilterInput:
    connection_id: strawberry.ID | None = None
    status: str | None = None
    category: str | None = None
    title_contains: str | None = None
    has_live_discount: bool | None = None
    price_automated: bool | None = None


@strawberry.input(name="OrderFilter")
class OrderFilterInput:
    listing_id: strawberry.ID | None = None
    connection_id: strawberry.ID | None = None
    status: str | None = None
    from_: datetime | None = strawberry.field(default=None, name="from")
    to: datetime | None = None


@strawberry.input
class ConnectMarketplaceInput:
    provider: MarketplaceProviderEnum  # type: ignore[valid-type]
    seed: int | None = strawberry.field(
        default=None, description="SIMULATOR only: the simulated shop to connect (a seed)."
    )


@strawberry.type
class ConnectMarketplacePayload:
    connection: MarketplaceConnectionType
    authorization_url: str | None = strawberry.field(
        description="MERCADO_LIVRE: open it to consent; the callback finishes the connection."
    )


@strawberry.input
class SyncMarketplaceInput:
    connection_id: strawberry.ID


@strawberry.type
class SyncMarketplacePayload:
    sync: MarketplaceSyncType


@strawberry.input
class UpdateListingCostInput:
    listing_id: strawberry.ID
    unit_cost: Decimal | None = strawberry.field(description="Null clears it.")


@strawberry.type
class UpdateListingCostPayload:
    listing: ListingType


@strawberry.input
class ImportListingCostsInput:
    file: Upload = strawberry.field(description="A UTF-8 CSV: header `listing_id,unit_cost`.")


@strawberry.type(name="CostImportError")
class CostImportErrorType:
    row: int = strawberry.field(description="The CSV row (the header is row 1).")
    listing_id: strawberry.ID | None
    message: str


@strawberry.type
class ImportListingCostsPayload:
    updated_count: int
    errors: list[CostImportErrorType] = strawberry.field(
        description="Rows refused; when any is, no cost was changed (all or nothing)."
    )


def _listing_filter(given: ListingFilterInput | None, now: datetime) -> ListingFilter:
    if given is None:
        return ListingFilter(as_of=now)
    return ListingFilter(
        connection_id=str(given.connection_id) if given.connection_id else None,
        status=given.status,
        category=given.category,
        title_contains=given.title_contains,
        has_live_discount=given.has_live_discount,
        price_automated=given.price_automated,
        as_of=now,
    )


def _order_filter(given: OrderFilterInput | None) -> OrderFilter:
    if given is None:
        return OrderFilter()
    return OrderFilter(
        connection_id=str(given.connection_id) if given.connection_id else None,
        listing_id=str(given.listing_id) if given.listing_id else None,
        status=given.status,
        since=require_aware(given.from_, "from") if given.from_ else None,
        until=require_aware(given.to, "to") if given.to else None,
    )


@strawberry.type
class MarketplaceQuery:
    @strawberry.field(description="The account's marketplace connections, oldest first.")
    async def marketplace_connections(self, info: Info) -> list[MarketplaceConnectionType]:
        return [
            MarketplaceConnectionType.of(c) for c in await info.context.shop.views.connections()
        ]

    @strawberry.field(description="A sync by id (poll it, or follow marketplaceActivity).")
    async def marketplace_sync(self, info: Info, id: strawberry.ID) -> MarketplaceSyncType | None:
        job = await info.context.shop.syncs.load(str(id))
        return MarketplaceSyncType.of(job) if job else None

    @strawberry.field(description="The account's listings, most recently updated first.")
    async def listings(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: ListingFilterInput | None = None,
    ) -> Connection[ListingType]:
        shop = info.context.shop
        page = await shop.views.listing_page(
            PageRequest.of(first, after), _listing_filter(filter, shop.now)
        )
        return connection(page, ListingType.of)

    @strawberry.field(description="A listing by its marketplace id (e.g. MLB3912345678).")
    async def listing(self, info: Info, id: strawberry.ID) -> ListingType | None:
        listing = await info.context.shop.listings.load(str(id).strip().upper())
        return ListingType.of(listing) if listing else None

    @strawberry.field(description="The account's orders, newest first.")
    async def orders(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: OrderFilterInput | None = None,
    ) -> Connection[OrderType]:
        page = await info.context.shop.views.order_page(
            PageRequest.of(first, after), _order_filter(filter)
        )
        return connection(page, OrderType.of)


@strawberry.type
class MarketplaceMutation:
    @strawberry.mutation(
        description="SIMULATOR connects at once; MERCADO_LIVRE returns authorizationUrl."
    )
    async def connect_marketplace(
        self, info: Info, input: ConnectMarketplaceInput
    ) -> ConnectMarketplacePayload:
        done = await _service(info).connect(info.context.principal, input.provider, input.seed)
        return ConnectMarketplacePayload(
            connection=MarketplaceConnectionType.of(done.connection),
            authorization_url=done.authorization_url,
        )

    @strawberry.mutation(description="Start (or resume) a sync of the connection's shop.")
    async def sync_marketplace(
        self, info: Info, input: SyncMarketplaceInput
    ) -> SyncMarketplacePayload:
        job = await _service(info).start_sync(info.context.principal, str(input.connection_id))
        return SyncMarketplacePayload(sync=MarketplaceSyncType.of(job))

    @strawberry.mutation(description="Set what one unit of a listing costs you.")
    async def update_listing_cost(
        self, info: Info, input: UpdateListingCostInput
    ) -> UpdateListingCostPayload:
        listing = await _service(info).update_listing_cost(
            info.context.principal, str(input.listing_id), input.unit_cost
        )
        return UpdateListingCostPayload(listing=ListingType.of(listing))

    @strawberry.mutation(description="Set unit costs from a CSV `listing_id,unit_cost`.")
    async def import_listing_costs(
        self, info: Info, input: ImportListingCostsInput
    ) -> ImportListingCostsPayload:
        result = await _service(info).import_listing_costs(
            info.context.principal, _chunks(input.file)
        )
        return ImportListingCostsPayload(
            updated_count=result.updated,
            errors=[
                CostImportErrorType(
                    row=e.row,
                    listing_id=strawberry.ID(e.listing_id) if e.listing_id else None,
                    message=e.message,
                )
                for e in result.errors
            ],
        )


@strawberry.type
class MarketplaceSubscription:
    @strawberry.subscription(
        description="The account's marketplace activity as it happens: sync progress, "
        "webhooks, discounts applied/withdrawn/rejected, alerts."
    )
    async def marketplace_activity(self, info: Info) -> AsyncGenerator[MarketplaceEventType, None]:
        parts = info.context.container.marketplace
        assert parts is not None
        principal = info.context.principal
        slots = info.context.container.subscriptions
        async with slots.hold(principal.user_id):  # per-user cap, all sockets
            events: Any = parts.activity.follow(principal.account_id)
            try:
                async for event in events:
                    yield MarketplaceEventType.of(event)
            finally:
                await events.aclose()
