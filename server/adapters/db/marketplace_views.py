"""The store slice's read side in SQL: one account's shop, each read on a bare connection
through the same repository code the unit of work uses (see server/adapters/db/views.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.model.accounts import Principal
from domain.model.campaigns import Discount, DiscountStatus
from domain.model.marketplace import Listing, MarketplaceConnection, Order
from domain.model.shop_sync import SyncJob
from domain.pagination import Page, PageRequest
from domain.ports import ListingFilter, OrderFilter
from server.adapters.db.campaigns import SqlDiscountRepository, _status_condition
from server.adapters.db.marketplace import (
    SqlListingRepository,
    SqlMarketplaceConnectionRepository,
    SqlOrderRepository,
    SqlSyncJobRepository,
)
from server.adapters.db.tables import DiscountRow


class SqlShopViews:
    """`ShopViews` of one account; one read at a time per caller (one pooled connection)."""

    __slots__ = ("_account", "_engine", "_turn")

    def __init__(self, engine: AsyncEngine, account_id: str) -> None:
        self._engine = engine
        self._account = account_id
        self._turn = asyncio.Lock()

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self._turn, self._engine.connect() as connection:
            yield connection

    async def connections(self) -> list[MarketplaceConnection]:
        async with self._read() as c:
            return await SqlMarketplaceConnectionRepository.reading(c).for_account(self._account)

    async def syncs(self, ids: Sequence[str]) -> dict[str, SyncJob]:
        if not ids:
            return {}
        async with self._read() as c:
            return await SqlSyncJobRepository.reading(c).get_many(self._account, ids)

    async def listings(self, ids: Sequence[str]) -> dict[str, Listing]:
        if not ids:
            return {}
        async with self._read() as c:
            return await SqlListingRepository.reading(c).get_many(self._account, ids)

    async def listing_page(self, request: PageRequest, where: ListingFilter) -> Page[Listing]:
        async with self._read() as c:
            return await SqlListingRepository.reading(c).page(self._account, request, where)

    async def order_page(self, request: PageRequest, where: OrderFilter) -> Page[Order]:
        async with self._read() as c:
            return await SqlOrderRepository.reading(c).page(self._account, request, where)

    async def order_pages_by_listing(
        self, listing_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[Order]]:
        async with self._read() as c:
            return await SqlOrderRepository.reading(c).pages_by_listing(
                self._account, listing_ids, request
            )

    async def live_discounts(
        self, listing_ids: Sequence[str], now: datetime
    ) -> dict[str, Discount]:
        if not listing_ids:
            return {}
        async with self._read() as c:
            repository = SqlDiscountRepository.reading(c)
            rows = await c.execute(
                select(*SqlDiscountRepository.columns()).where(
                    DiscountRow.account_id == self._account,
                    DiscountRow.listing_id.in_(set(listing_ids)),
                    _status_condition(DiscountStatus.ACTIVE, now),
                )
            )
            return {row.listing_id: repository.to_entity(cast(Any, row)) for row in rows}


class SqlShopViewsFactory:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def __call__(self, principal: Principal) -> SqlShopViews:
        return SqlShopViews(self._engine, principal.account_id)
