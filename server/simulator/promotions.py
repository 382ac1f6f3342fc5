"""Promotions: individual discounts (PRICE_DISCOUNT) and invitations (DEAL, LIGHTNING, DOD).

The refusals follow docs/marketplace-wire.md; each raises an ApiError with Mercado Livre's code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .demand import UPLIFT
from .errors import ApiError, bad_request, not_found
from .timefmt import DAY, brt_midnight, parse_iso

if TYPE_CHECKING:
    from .shop import Shop

MAX_DISCOUNT_DAYS = 14
MIN_DISCOUNT = 0.05
Event = tuple[str, str]  # webhook topic, resource


@dataclass(slots=True)
class Promotion:
    """A listing's discount: its own PRICE_DISCOUNT or its place in an invitation."""

    id: str
    type: str
    listing: int
    deal_price: float
    original_price: float
    start: float
    finish: float
    status: str = "pending"  # pending -> started -> finished
    invitation: str | None = None
    stock: int | None = None


@dataclass(slots=True)
class Candidate:
    """A listing invited to a promotion, with the bounds the marketplace allows."""

    min_price: float
    max_price: float
    suggested: float
    stock_min: int | None = None
    stock_max: int | None = None
    joined: Promotion | None = None


@dataclass(slots=True)
class Invitation:
    """A marketplace promotion the seller is invited to."""

    id: str
    type: str
    name: str
    start: float
    finish: float
    deadline: float
    benefits: dict[str, Any] | None
    candidates: dict[int, Candidate] = field(default_factory=dict)

    def status(self, now: float) -> str:
        if now < self.start:
            return "pending"
        return "started" if now < self.finish else "finished"


def eligible(shop: Shop) -> np.ndarray:
    """Listings the marketplace may discount: active, new, paid exposure, not automated."""
    catalog = shop.catalog
    return (
        (np.array(shop.status) == "active")
        & ~catalog.used
        & (np.array(catalog.listing_type) != "free")
        & ~catalog.automated
    )


def generate_invitations(shop: Shop, rng: np.random.Generator) -> dict[str, Invitation]:
    """Two DEALs (one running, one soon), a LIGHTNING and a DOD, each with candidates."""
    start = shop.start
    midnight = brt_midnight(start)
    rebate = {"type": "REBATE", "meli_percent": 5, "seller_percent": 10}
    plans = [
        ("DEAL", "Ofertas da Semana", start - DAY, start + 13 * DAY, rebate, 120),
        ("DEAL", "Esquenta Black Friday", midnight + 2 * DAY, midnight + 9 * DAY, None, 80),
        ("LIGHTNING", "Oferta Relâmpago", start + 3600, start + 7 * 3600, None, 30),
        ("DOD", "Oferta do Dia", midnight + DAY, midnight + 2 * DAY - 1, rebate, 10),
    ]
    pool = np.flatnonzero(eligible(shop))
    invitations: dict[str, Invitation] = {}
    for number, (kind, name, begin, end, benefits, count) in enumerate(plans):
        promotion_id = f"P-MLB{shop.user_id % 1_000_000:06d}{number + 1:02d}"
        invitation = Invitation(promotion_id, kind, name, begin, end, min(begin, end), benefits)
        if kind == "DEAL":
            invitation.deadline = end
        chosen = rng.choice(pool, size=min(count, len(pool)), replace=False)
        for index in sorted(int(value) for value in chosen):
            price = float(shop.list_price[index])
            low, high = rng.uniform(0.55, 0.7), rng.uniform(0.8, 0.9)
            candidate = Candidate(
                min_price=round(price * low, 2),
                max_price=round(price * high, 2),
                suggested=round(price * (high - 0.05), 2),
            )
            if kind == "LIGHTNING":
                candidate.stock_min = 5
                candidate.stock_max = max(5, int(shop.stock[index]))
            invitation.candidates[index] = candidate
        invitations[promotion_id] = invitation
    return invitations


# ---- state as time passes


def refresh_price(shop: Shop, index: int) -> None:
    """The listing's live deal price (lowest started promotion) and its visibility uplift."""
    live = [p for p in shop.promotions if p.listing == index and p.status == "started"]
    shop.deal_price[index] = min((p.deal_price for p in live), default=0.0)
    shop.uplift[index] = max((UPLIFT[p.type] for p in live), default=1.0)


def advance(shop: Shop, now: float) -> list[Event]:
    """Start and finish promotions whose time has come."""
    events: list[Event] = []
    for promotion in shop.promotions:
        before = promotion.status
        if promotion.status == "pending" and promotion.start <= now:
            promotion.status = "started"
        if promotion.status == "started" and promotion.finish <= now:
            promotion.status = "finished"
        if promotion.status != before:
            _changed(shop, promotion.listing, now, events)
    shop.promotions = [p for p in shop.promotions if p.status != "finished"]
    return events


def sell_out(shop: Shop, sold: dict[int, int], now: float) -> list[Event]:
    """A LIGHTNING deal ends once the stock the seller committed to it is sold."""
    events: list[Event] = []
    for promotion in shop.promotions:
        if promotion.status != "started" or promotion.stock is None:
            continue
        promotion.stock -= min(sold.get(promotion.listing, 0), promotion.stock)
        if promotion.stock == 0:
            promotion.status = "finished"
            _changed(shop, promotion.listing, now, events)
    shop.promotions = [p for p in shop.promotions if p.status != "finished"]
    return events


def _changed(shop: Shop, index: int, now: float, events: list[Event]) -> None:
    refresh_price(shop, index)
    shop.last_updated[index] = now
    item = shop.item_id(index)
    events.append(("items", f"/items/{item}"))
    events.append(("promotions", f"/seller-promotions/items/{item}"))


def item_promotions(shop: Shop, index: int) -> list[Promotion]:
    return [p for p in shop.promotions if p.listing == index]


# ---- the seller's requests


def _number(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise bad_request("bad_request", f"{name} must be a positive number")
    return round(float(value), 2)


def _date(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if not isinstance(value, str):
        raise bad_request("bad_request", f"{name} is required (ISO 8601)")
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise bad_request("bad_request", f"{name} is not an ISO 8601 date-time") from exc


def check_item(shop: Shop, index: int) -> None:
    """The listing rules every individual discount must pass (automation first)."""
    if shop.automated(index):
        raise bad_request("item.price.automated", "the item's price is under price automation")
    if shop.status[index] != "active":
        raise bad_request("item.status.invalid", "the item must be active")
    if shop.catalog.used[index]:
        raise bad_request("item.condition.invalid", "only new items can have a discount")
    if shop.catalog.listing_type[index] == "free":
        raise bad_request("item.listing_type.invalid", "free listings cannot have a discount")
    if not shop.reputation.endswith("green"):
        raise bad_request("seller.reputation.invalid", "the seller's reputation must be green")


def apply_discount(shop: Shop, index: int, body: dict[str, Any], now: float) -> Promotion:
    """A PRICE_DISCOUNT: pending until its start, live until its finish."""
    deal = _number(body, "deal_price")
    start = max(_date(body, "start_date"), now)
    finish = _date(body, "finish_date")
    check_item(shop, index)
    if finish <= start:
        raise bad_request("promotion.dates.invalid", "finish_date must be after start_date")
    if finish - start > MAX_DISCOUNT_DAYS * DAY:
        raise bad_request(
            "promotion.duration_exceeded", f"a discount lasts at most {MAX_DISCOUNT_DAYS} days"
        )
    price = float(shop.list_price[index])
    if deal >= price or deal > round(price * (1 - MIN_DISCOUNT), 2):
        raise bad_request(
            "promotion.price.invalid",
            f"deal_price must be at least {MIN_DISCOUNT:.0%} below the price {price:.2f}",
        )
    if any(p.type == "PRICE_DISCOUNT" for p in item_promotions(shop, index)):
        raise ApiError(
            409,
            "promotion.already_exists",
            "the item already has a price discount",
            "promotion.already_exists",
        )
    promotion = Promotion(
        id=f"PRICE_DISCOUNT-{shop.item_id(index)}-{int(start)}",
        type="PRICE_DISCOUNT",
        listing=index,
        deal_price=deal,
        original_price=price,
        start=start,
        finish=finish,
    )
    shop.promotions.append(promotion)
    return promotion


def remove_discount(shop: Shop, index: int, promotion_type: str, promotion_id: str | None) -> None:
    """Withdraw the item's discount or its place in an invitation; 404 when there is none."""
    if promotion_type == "PRICE_DISCOUNT":
        found = [p for p in item_promotions(shop, index) if p.type == "PRICE_DISCOUNT"]
    else:
        if not promotion_id:
            raise bad_request("bad_request", "promotion_id is required for invitations")
        found = [p for p in item_promotions(shop, index) if p.invitation == promotion_id]
        invitation = shop.invitations.get(promotion_id)
        candidate = invitation.candidates.get(index) if invitation else None
        if candidate is not None:
            candidate.joined = None
    if not found:
        raise not_found("the item has no such promotion")
    for promotion in found:
        promotion.status = "finished"
    shop.promotions = [p for p in shop.promotions if p.status != "finished"]


def join_invitation(shop: Shop, index: int, body: dict[str, Any], now: float) -> Promotion:
    """Take part in an invitation at a deal price inside its bounds."""
    promotion_id = body.get("promotion_id")
    invitation = shop.invitations.get(promotion_id) if isinstance(promotion_id, str) else None
    if invitation is None or invitation.type != body.get("promotion_type"):
        raise not_found("promotion not found")
    candidate = invitation.candidates.get(index)
    if candidate is None or candidate.joined is not None:
        raise bad_request("promotion.item.not_candidate", "the item is not a candidate")
    if invitation.status(now) == "finished":
        raise bad_request("promotion.finished", "the promotion has finished")
    deal = _number(body, "deal_price")
    if not candidate.min_price <= deal <= candidate.max_price:
        raise bad_request(
            "promotion.price.out_of_range",
            f"deal_price must be between {candidate.min_price:.2f} and {candidate.max_price:.2f}",
        )
    stock: int | None = None
    if invitation.type == "LIGHTNING":
        raw = body.get("stock")
        low, high = candidate.stock_min or 0, candidate.stock_max or 0
        if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
            raise bad_request(
                "promotion.stock.out_of_range", f"stock must be between {low} and {high}"
            )
        stock = raw
    promotion = Promotion(
        id=invitation.id,
        type=invitation.type,
        listing=index,
        deal_price=deal,
        original_price=float(shop.list_price[index]),
        start=invitation.start,
        finish=invitation.finish,
        invitation=invitation.id,
        stock=stock,
    )
    candidate.joined = promotion
    shop.promotions.append(promotion)
    return promotion
