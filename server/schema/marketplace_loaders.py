"""Per-request DataLoaders of the marketplace store: every relation of a listing (its live
discount, its orders) costs one batched read, whatever the number of listings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from strawberry.dataloader import DataLoader

from domain.model.campaigns import Discount
from domain.model.marketplace import Listing, Order
from domain.model.shop_sync import SyncJob
from domain.pagination import Page, PageRequest
from domain.shop_views import ShopViews
from server.schema.loaders import by_key


class ShopLoaders:
    """Loaders over one caller's shop views (batching never crosses accounts)."""

    def __init__(self, views: ShopViews, now: datetime) -> None:
        self.views = views
        self.now = now
        self.listings: DataLoader[str, Listing | None] = by_key(views.listings)
        self.syncs: DataLoader[str, SyncJob | None] = by_key(views.syncs)
        self.live_discounts: DataLoader[str, Discount | None] = by_key(self._live)
        self._order_pages: dict[PageRequest, DataLoader[str, Page[Order]]] = {}

    async def _live(self, ids: Sequence[str]) -> dict[str, Discount]:
        return await self.views.live_discounts(ids, self.now)

    def orders_of_listings(self, request: PageRequest) -> DataLoader[str, Page[Order]]:
        """One loader per distinct page request (`first`/`after`) in the document."""
        if request not in self._order_pages:

            async def load(ids: list[str]) -> list[Page[Order]]:
                pages = await self.views.order_pages_by_listing(ids, request)
                return [pages[i] for i in ids]

            self._order_pages[request] = DataLoader(load_fn=load)
        return self._order_pages[request]
