"""The read side of the marketplace store: what a caller may see of their account's shop.

Like `domain/views.py` (built for one account, so the scoping is written once, in the
adapter), for the store slice's entities.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from domain.model.accounts import Principal
from domain.model.campaigns import Discount
from domain.model.marketplace import Listing, MarketplaceConnection, Order
from domain.model.shop_sync import SyncJob
from domain.pagination import Page, PageRequest
from domain.ports import ListingFilter, OrderFilter


class ShopViews(Protocol):
    """One account's connections, syncs, listings and orders, read-only."""

    async def connections(self) -> list[MarketplaceConnection]:
        """Oldest first."""
        ...

    async def syncs(self, ids: Sequence[str]) -> dict[str, SyncJob]: ...

    async def listings(self, ids: Sequence[str]) -> dict[str, Listing]: ...

    async def listing_page(self, request: PageRequest, where: ListingFilter) -> Page[Listing]:
        """Most recently updated (on the marketplace) first."""
        ...

    async def order_page(self, request: PageRequest, where: OrderFilter) -> Page[Order]:
        """Newest first."""
        ...

    async def order_pages_by_listing(
        self, listing_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[Order]]: ...

    async def live_discounts(
        self, listing_ids: Sequence[str], now: datetime
    ) -> dict[str, Discount]:
        """The discount live at `now` on each listing that has one."""
        ...


class ShopViewsFactory(Protocol):
    def __call__(self, principal: Principal) -> ShopViews: ...
