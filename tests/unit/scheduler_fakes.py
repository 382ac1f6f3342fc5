"""A fake marketplace for the scheduler's and promotions' tests: one seller's shop in memory.

It keeps the wire's rules (ML-WIRE: PRICE_DISCOUNT refusals with the marketplace's codes, one
live individual discount per item, invitations' bounds) so the scheduler is tested against a
marketplace that refuses what the real one refuses. `crash_after_apply` makes the next accepted
discount raise after the marketplace took it: a worker dying between the call and its write.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from domain.marketplace import (
    AppliedPrice,
    ItemPromotion,
    MarketplaceClient,
    MarketplaceNotFound,
    MarketplaceRefused,
    MarketplaceUnavailable,
    PromotionCandidate,
    PromotionInvitation,
    RemoteItem,
    RemoteOrder,
    SellerProfile,
)
from domain.services.shops import Shop
from tests.unit.fakes import START, FrozenClock

SELLER = "123456789"


class Crash(BaseException):
    """The process died (not an Exception: nothing in the product catches it)."""


def item(item_id: str, price: str = "100.00", **changes: object) -> RemoteItem:
    base = RemoteItem(
        id=item_id,
        title=f"Produto {item_id}",
        category_id="MLB1055",
        price=Decimal(price),
        original_price=None,
        currency="BRL",
        available_quantity=50,
        sold_quantity=10,
        status="active",
        condition="new",
        listing_type="gold_special",
        last_updated=START,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@dataclass
class Deal:
    id: str
    type: str
    price: Decimal
    starts_at: datetime
    ends_at: datetime | None


@dataclass
class FakeMarketplace:
    """The seller's items, their promotions and invitations; every call is counted."""

    clock: FrozenClock
    items_by_id: dict[str, RemoteItem] = field(default_factory=dict)
    automated: set[str] = field(default_factory=set)
    reputation: str = "5_green"
    deals: dict[str, list[Deal]] = field(default_factory=dict)
    invites: list[PromotionInvitation] = field(default_factory=list)
    candidates_of: dict[str, list[PromotionCandidate]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    crash_after_apply: bool = False
    unavailable: bool = False

    def add(self, *items: RemoteItem) -> None:
        for one in items:
            self.items_by_id[one.id] = one

    def live(self, item_id: str) -> list[Deal]:
        now = self.clock.now()
        return [d for d in self.deals.get(item_id, []) if d.ends_at is None or now < d.ends_at]

    def price_now(self, item_id: str) -> Decimal:
        started = [d for d in self.live(item_id) if d.starts_at <= self.clock.now()]
        return started[0].price if started else self.items_by_id[item_id].price

    def client(self, connection_id: str = "conn") -> FakeClient:
        return FakeClient(self)

    def shop(self, unit_cost: str | None = None) -> Shop:
        return Shop(self.client(), Decimal(unit_cost) if unit_cost else None, "fake")


class FakeClient:
    """The MarketplaceClient port over a FakeMarketplace."""

    def __init__(self, market: FakeMarketplace) -> None:
        self.m = market

    def _call(self, name: str) -> None:
        self.m.calls.append(name)
        if self.m.unavailable:
            raise MarketplaceUnavailable("The marketplace did not answer (503).")

    async def me(self) -> SellerProfile:
        self._call("me")
        return SellerProfile(SELLER, "LOJA", "MLB", self.m.reputation)

    async def item_ids(self, *, status: str | None = None) -> AsyncIterator[str]:
        for item_id in self.m.items_by_id:
            yield item_id

    async def items(self, ids: Sequence[str]) -> list[RemoteItem]:
        self._call("items")
        found = [self.m.items_by_id[i] for i in ids if i in self.m.items_by_id]
        return [self._priced(i) for i in found]

    def _priced(self, one: RemoteItem) -> RemoteItem:
        """While a promotion is live the price is the deal's, original_price the base."""
        now = self.m.price_now(one.id)
        return one if now == one.price else replace(one, price=now, original_price=one.price)

    async def price_automated(self, item_id: str) -> bool:
        self._call("price_automated")
        return item_id in self.m.automated

    async def orders(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> AsyncIterator[RemoteOrder]:
        for _ in ():
            yield _

    async def order(self, order_id: str) -> RemoteOrder:
        raise MarketplaceNotFound(f"order {order_id} not found")

    def _item(self, item_id: str) -> RemoteItem:
        if item_id not in self.m.items_by_id:
            raise MarketplaceNotFound(f"item {item_id} not found")
        return self.m.items_by_id[item_id]

    async def apply_price_discount(
        self, item_id: str, *, deal_price: Decimal, starts_at: datetime, ends_at: datetime
    ) -> AppliedPrice:
        self._call("apply_price_discount")
        one = self._item(item_id)
        start = max(starts_at, self.m.clock.now())
        if ends_at - start > timedelta(days=14):
            raise MarketplaceRefused("over 14 days", code="promotion.duration_exceeded")
        if item_id in self.m.automated:
            raise MarketplaceRefused("price automated", code="item.price.automated")
        if one.condition != "new":
            raise MarketplaceRefused("condition used", code="item.condition.invalid")
        if deal_price >= one.price * Decimal("0.95"):
            raise MarketplaceRefused("price", code="promotion.price.invalid")
        if any(d.type == "PRICE_DISCOUNT" for d in self.m.live(item_id)):
            raise MarketplaceRefused("exists", code="promotion.already_exists", status=409)
        self.m.deals.setdefault(item_id, []).append(
            Deal(f"PRICE_DISCOUNT-{item_id}", "PRICE_DISCOUNT", deal_price, start, ends_at)
        )
        if self.m.crash_after_apply:
            self.m.crash_after_apply = False
            raise Crash("killed after the marketplace accepted")
        return AppliedPrice(deal_price, one.price)

    async def remove_price_discount(self, item_id: str) -> None:
        self._call("remove_price_discount")
        self.m.deals[item_id] = [d for d in self.m.live(item_id) if d.type != "PRICE_DISCOUNT"]

    async def item_promotions(self, item_id: str) -> list[ItemPromotion]:
        self._call("item_promotions")
        now = self.m.clock.now()
        base = self._item(item_id).price
        return [
            ItemPromotion(
                d.id,
                d.type,
                "started" if d.starts_at <= now else "pending",
                d.price,
                base,
                d.starts_at,
                d.ends_at,
            )
            for d in self.m.live(item_id)
        ]

    async def invitations(self) -> list[PromotionInvitation]:
        self._call("invitations")
        return list(self.m.invites)

    async def candidates(self, promotion_id: str, promotion_type: str) -> list[PromotionCandidate]:
        self._call("candidates")
        return list(self.m.candidates_of.get(promotion_id, []))

    async def join_promotion(
        self,
        item_id: str,
        *,
        promotion_id: str,
        promotion_type: str,
        deal_price: Decimal,
        stock: int | None = None,
    ) -> AppliedPrice:
        self._call("join_promotion")
        one = self._item(item_id)
        bounds = [c for c in self.m.candidates_of.get(promotion_id, []) if c.item_id == item_id]
        if not bounds:
            raise MarketplaceRefused("not a candidate", code="promotion.item.not_candidate")
        low, high = bounds[0].min_deal_price, bounds[0].max_deal_price
        if (low is not None and deal_price < low) or (high is not None and deal_price > high):
            raise MarketplaceRefused("out of range", code="promotion.price.out_of_range")
        self.m.deals.setdefault(item_id, []).append(
            Deal(promotion_id, promotion_type, deal_price, self.m.clock.now(), None)
        )
        return AppliedPrice(deal_price, one.price)

    async def leave_promotion(
        self, item_id: str, *, promotion_id: str, promotion_type: str
    ) -> None:
        self._call("leave_promotion")
        self.m.deals[item_id] = [d for d in self.m.live(item_id) if d.id != promotion_id]

    async def set_price(self, item_id: str, price: Decimal) -> None:
        self._call("set_price")
        self.m.items_by_id[item_id] = replace(self._item(item_id), price=price)


class FakeShops:
    """One account's listings are sold in one fake marketplace, at the given costs; other
    accounts (of tests sharing the database) have no shop."""

    def __init__(
        self, market: FakeMarketplace, account_id: str, unit_costs: dict[str, str] | None = None
    ) -> None:
        self.market = market
        self.account_id = account_id
        self.unit_costs = unit_costs or {}

    async def of_listing(self, account_id: str, listing_id: str) -> Shop | None:
        if account_id != self.account_id:
            return None
        return self.market.shop(self.unit_costs.get(listing_id))

    async def of_listings(
        self, account_id: str, listing_ids: Sequence[str]
    ) -> dict[str, Shop | None]:
        return {i: await self.of_listing(account_id, i) for i in listing_ids}

    async def of_account(self, account_id: str) -> list[MarketplaceClient]:
        return [self.market.client()] if account_id == self.account_id else []
