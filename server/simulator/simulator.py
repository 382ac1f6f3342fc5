"""The simulated marketplace: sellers' shops, one clock, OAuth, faults and webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from .clock import SimClock
from .config import SimulatorConfig
from .demand import UPLIFT
from .errors import ApiError, bad_request, not_found
from .faults import Faults
from .oauth import OAuthServer
from .promotions import Event, advance, refresh_price, sell_out
from .shop import Shop, generate_shop
from .timefmt import brt_date, parse_iso, utc_now
from .webhooks import Notifier

ITEM_PREFIX = 3_000_000_000
log = logging.getLogger("mlproject.simulator")


@dataclass(slots=True)
class Scroll:
    """A `search_type=scan` cursor: a snapshot of ids and how far the client got."""

    user_id: int
    ids: list[str]
    position: int
    last_used: float


class Simulator:
    """Everything the HTTP routes read and change; time moves only through `catch_up`."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        start = parse_iso(config.start) if config.start else utc_now()
        self.clock = SimClock(start, config.speed)
        self.oauth = OAuthServer(
            config.client_id, config.client_secret, config.access_token_seconds
        )
        self.faults = Faults(
            rate_429=config.rate_429,
            rate_5xx=config.rate_5xx,
            latency_ms=config.latency_ms,
            rng=random.Random(config.seed),
        )
        application_id = int(config.client_id) if config.client_id.isdigit() else 0
        self.notifier = Notifier(
            config.webhook_url,
            application_id,
            self.clock.now,
            timeout=config.webhook_timeout_seconds,
            max_attempts=config.webhook_max_attempts,
            retry_seconds=config.webhook_retry_seconds,
        )
        self.shops: dict[int, Shop] = {}
        self._by_prefix: dict[int, Shop] = {}
        self.scrolls: dict[str, Scroll] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._creating = asyncio.Lock()
        self.add_shop(generate_shop(config.seed, config.items, start))

    # ---- sellers
    def add_shop(self, shop: Shop) -> None:
        prefix = (shop.item_base - ITEM_PREFIX) // 10_000
        if prefix in self._by_prefix and self._by_prefix[prefix].user_id != shop.user_id:
            raise ApiError(409, "conflict", "this seed's item ids clash with another seller's")
        self.shops[shop.user_id] = shop
        self._by_prefix[prefix] = shop
        self._catch_up_shop(shop, self.clock.now(), notify=False)

    @property
    def default_shop(self) -> Shop:
        return next(iter(self.shops.values()))

    def shop(self, user_id: int) -> Shop:
        found = self.shops.get(user_id)
        if found is None:
            raise not_found("user not found")
        return found

    def find_item(self, item_id: str) -> tuple[Shop, int]:
        if item_id.startswith("MLB") and item_id[3:].isdigit():
            shop = self._by_prefix.get((int(item_id[3:]) - ITEM_PREFIX) // 10_000)
            index = shop.index_of(item_id) if shop else None
            if shop is not None and index is not None:
                return shop, index
        raise not_found(f"item {item_id} not found")

    async def create_seller(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /_sim/sellers`: a (deterministic) shop for a seed, and a token pair for it."""
        seed, items = body.get("seed", self.config.seed), body.get("items", self.config.items)
        reputation = body.get("reputation", "5_green")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise bad_request("bad_request", "seed must be a whole number >= 0")
        if isinstance(items, bool) or not isinstance(items, int) or not 1 <= items <= 10_000:
            raise bad_request("bad_request", "items must be between 1 and 10000")
        if not isinstance(reputation, str):
            raise bad_request("bad_request", "reputation must be a level id like 5_green")
        async with self._creating:
            shop = next((s for s in self.shops.values() if s.seed == seed), None)
            if shop is None:
                start = self.clock.now()
                shop = await asyncio.to_thread(generate_shop, seed, items, start, reputation)
                self.add_shop(shop)
        return {
            "user_id": shop.user_id,
            "nickname": shop.nickname,
            **self.oauth.issue(shop.user_id),
        }

    # ---- time
    def catch_up(self) -> None:
        """Bring every shop to the clock's now: orders, stock, promotions, webhooks."""
        now = self.clock.now()
        for shop in list(self.shops.values()):
            self._catch_up_shop(shop, now, notify=True)

    def _catch_up_shop(self, shop: Shop, now: float, notify: bool) -> None:
        events: list[Event] = []
        while shop.slot_start(shop.next_slot + 1) <= now:
            events += advance(shop, shop.slot_start(shop.next_slot))
            orders = shop.run_slot(shop.next_slot)
            events += [("orders_v2", f"/orders/{order.id}") for order in orders]
            sold: dict[int, int] = {}
            for order in orders:
                sold[order.listing] = sold.get(order.listing, 0) + order.units
            events += sell_out(shop, sold, shop.slot_start(shop.next_slot))
        events += advance(shop, now)
        if notify:
            self.publish(shop, events)

    def publish(self, shop: Shop, events: list[Event]) -> None:
        for topic, resource in events:
            duplicate = bool(self.faults.duplicate_webhooks) and (
                self.faults.rng.random() < self.faults.duplicate_webhooks
            )
            self.notifier.publish(shop.user_id, topic, resource, duplicate)

    def item_changed(self, shop: Shop, index: int, promotions: bool = True) -> None:
        """After a seller's request on an item: apply what is due now and tell the app."""
        now = self.clock.now()
        events = advance(shop, now)
        refresh_price(shop, index)
        shop.last_updated[index] = now
        item = shop.item_id(index)
        events.append(("items", f"/items/{item}"))
        if promotions:
            events.append(("promotions", f"/seller-promotions/items/{item}"))
        self.publish(shop, list(dict.fromkeys(events)))

    # ---- scan cursors
    def open_scroll(self, user_id: int, ids: list[str]) -> str:
        scroll_id = secrets.token_urlsafe(24)
        self.scrolls[scroll_id] = Scroll(user_id, ids, 0, time.monotonic())
        return scroll_id

    def scroll(self, scroll_id: str, user_id: int) -> Scroll:
        now = time.monotonic()
        for key in [
            k for k, s in self.scrolls.items() if now - s.last_used > self.config.scroll_seconds
        ]:
            del self.scrolls[key]
        found = self.scrolls.get(scroll_id)
        if found is None or found.user_id != user_id:
            raise bad_request("invalid_scroll_id", "scroll_id is invalid or expired")
        found.last_used = now
        return found

    # ---- ground truth
    def truth(
        self, item_id: str, price: float | None, when: str | None, promotion: str | None
    ) -> dict[str, Any]:
        """Expected units/day of a listing at a price and date (not capped by stock)."""
        shop, index = self.find_item(item_id)
        day: date = brt_date(parse_iso(when) if when else self.clock.now())
        price = shop.price(index) if price is None else price
        if price <= 0:
            raise bad_request("bad_request", "price must be positive")
        if promotion is not None and promotion not in UPLIFT:
            raise bad_request("bad_request", f"promotion_type must be one of {sorted(UPLIFT)}")
        demand = shop.demand
        uplift = UPLIFT[promotion] if promotion else 1.0
        prices = shop.list_price.copy()
        prices[index] = price
        expected = demand.expected_units(day, prices, np.ones(shop.size))[index] * uplift
        category = int(demand.category[index])
        return {
            "item_id": item_id,
            "price": round(price, 2),
            "date": day.isoformat(),
            "expected_units": float(expected),
            "base_units": float(demand.base[index]),
            "reference_price": float(demand.reference_price[index]),
            "elasticity": float(demand.elasticity[index]),
            "competitor_price": round(float(demand.competitor_price(day)[index]), 2),
            "season_factor": float(demand.season(day)[category]),
            "promotion_uplift": uplift,
            "unit_cost": float(shop.catalog.cost[index]),
            "selling": shop.status[index] == "active",
        }

    # ---- background
    def ensure_ticker(self) -> None:
        """Move time (and send webhooks) every `tick_seconds` even with no requests."""
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_seconds)
            try:
                self.catch_up()
            except Exception:  # keep time moving; the next request would raise it again
                log.exception("simulator tick failed")

    async def aclose(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self.notifier.aclose()
