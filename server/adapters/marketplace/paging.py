"""Walking Mercado Livre's long lists: item ids (offset pages to 1,000, then scan with a
scroll_id), orders (offset pages inside a date window that moves forward past offset 10,000),
and a promotion's candidate listings (offset pages)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from domain.marketplace import (
    MarketplaceRefused,
    MarketplaceUnavailable,
    PromotionCandidate,
    RemoteOrder,
)
from server.adapters.marketplace import wire
from server.adapters.marketplace.session import SellerSession

log = logging.getLogger(__name__)

ITEMS_PAGE = 100  # /users/{id}/items/search allows limit <= 100
OFFSET_LIMIT = 1000  # beyond this offset, items search needs search_type=scan
SCAN_RESTARTS = 2  # a scroll_id expires after 5 minutes unused: start the scan again
ORDERS_PAGE = 50  # /orders/search allows limit <= 51
ORDERS_OFFSET_LIMIT = 10_000  # beyond this offset, narrow the date window
CANDIDATES_PAGE = 50


def _total(page: dict[str, Any]) -> int:
    try:
        return int((page.get("paging") or {}).get("total") or 0)
    except (AttributeError, TypeError, ValueError) as exc:
        raise MarketplaceUnavailable("Mercado Livre sent an unreadable page total") from exc


async def item_ids(session: SellerSession, user_id: str, status: str | None) -> AsyncIterator[str]:
    """Every id once: offset pages up to 1,000, then a scan skipping the ids already given."""
    path = f"/users/{user_id}/items/search"
    filters = {"status": status} if status else {}
    seen: set[str] = set()
    offset = 0
    while offset < OFFSET_LIMIT:
        limit = min(ITEMS_PAGE, OFFSET_LIMIT - offset)
        page = await session.call(
            "GET",
            path,
            params={**filters, "offset": offset, "limit": limit},
            action="the seller's listings",
        )
        ids = [str(i) for i in page.get("results") or ()]
        for item_id in ids:
            if item_id not in seen:
                seen.add(item_id)
                yield item_id
        offset += len(ids)
        if not ids or offset >= _total(page):
            return
    async for item_id in _scan(session, path, filters):
        if item_id not in seen:
            seen.add(item_id)
            yield item_id


async def _scan(session: SellerSession, path: str, filters: dict[str, str]) -> AsyncIterator[str]:
    scroll_id: str | None = None
    restarts = 0
    while True:
        params: dict[str, Any] = {**filters, "search_type": "scan", "limit": ITEMS_PAGE}
        if scroll_id:
            params["scroll_id"] = scroll_id
        try:
            page = await session.call("GET", path, params=params, action="the listings scan")
        except MarketplaceRefused:
            if scroll_id is None or restarts >= SCAN_RESTARTS:
                raise
            log.warning("marketplace.scan_restarted", extra={"connection": session.connection_id})
            restarts, scroll_id = restarts + 1, None
            continue
        ids = page.get("results") or ()
        if not ids:
            return
        for item_id in ids:
            yield str(item_id)
        scroll_id = page.get("scroll_id") or scroll_id


class _OrderWindow:
    """Which orders were given already, so a moved window skips them."""

    def __init__(self, since: datetime | None, until: datetime | None) -> None:
        self.since, self.until = since, until
        self.last: datetime | None = None
        self._at_last: set[str] = set()  # ids given with created_at == last

    def admit(self, order: RemoteOrder) -> bool:
        created = order.created_at
        if (self.since is not None and created < self.since) or (
            self.until is not None and created >= self.until
        ):
            return False
        if self.last is not None and (
            created < self.last or (created == self.last and order.id in self._at_last)
        ):
            return False
        if self.last is None or created > self.last:
            self.last, self._at_last = created, set()
        self._at_last.add(order.id)
        return True


async def orders(
    session: SellerSession, seller: str, since: datetime | None, until: datetime | None
) -> AsyncIterator[RemoteOrder]:
    """Orders created in [since, until), oldest first; past offset 10,000 the window restarts
    at the last order's time (orders given already are skipped)."""
    window = _OrderWindow(since, until)
    window_from, offset = since, 0
    while True:
        params: dict[str, Any] = {
            "seller": seller,
            "sort": "date_asc",
            "offset": offset,
            "limit": ORDERS_PAGE,
        }
        if window_from is not None:
            params["order.date_created.from"] = wire.moment_out(window_from)
        if until is not None:
            params["order.date_created.to"] = wire.moment_out(until)
        page = await session.call(
            "GET", "/orders/search", params=params, action="the seller's orders"
        )
        results = page.get("results") or ()
        for raw in results:
            order = wire.order(raw)
            if window.admit(order):
                yield order
        offset += len(results)
        if len(results) < ORDERS_PAGE or offset >= _total(page):
            return
        if offset + ORDERS_PAGE > ORDERS_OFFSET_LIMIT:
            if window.last is None or window.last == window_from:
                raise MarketplaceUnavailable(
                    "Mercado Livre lists more than 10,000 orders at one instant; cannot page on"
                )
            window_from, offset = window.last, 0


async def candidates(
    session: SellerSession, promotion_id: str, promotion_type: str
) -> list[PromotionCandidate]:
    found: list[PromotionCandidate] = []
    while True:
        page = await session.call(
            "GET",
            f"/seller-promotions/promotions/{promotion_id}/items",
            params={
                "app_version": "v2",
                "promotion_type": promotion_type,
                "offset": len(found),
                "limit": CANDIDATES_PAGE,
            },
            action=f"the listings invited to promotion {promotion_id}",
        )
        results = page.get("results") or ()
        found.extend(wire.candidate(promotion_id, c) for c in results)
        if not results or len(found) >= _total(page):
            return found
