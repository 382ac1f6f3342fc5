"""Mercado Livre's JSON <-> the port's values: Decimal money, timezone-aware datetimes.

The wire is described in docs/marketplace-wire.md (a subset of Mercado Livre's public API);
every parser here tolerates absent optional fields and raises `MarketplaceUnavailable` for an
answer that is not the documented shape (a marketplace bug is not the seller's to fix).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, ParamSpec, TypeVar

from domain.marketplace import (
    AppliedPrice,
    ItemPromotion,
    MarketplaceUnavailable,
    PromotionCandidate,
    PromotionInvitation,
    RemoteItem,
    RemoteOrder,
    RemoteOrderLine,
    SellerProfile,
    TokenGrant,
)

# Mercado Livre writes and reads times in Brazil's offset; a time without one is taken as theirs.
BRT = timezone(timedelta(hours=-3))
CENT = Decimal("0.01")

Json = Mapping[str, Any]
P = ParamSpec("P")
R = TypeVar("R")


def _answer(parse: Callable[P, R]) -> Callable[P, R]:
    """A parser whose every failure on a malformed answer is `MarketplaceUnavailable`."""

    @functools.wraps(parse)
    def parsed(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return parse(*args, **kwargs)
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
            raise MarketplaceUnavailable(
                f"Mercado Livre sent an unreadable answer ({type(exc).__name__}: {exc})"
            ) from exc

    return parsed


def money(value: object) -> Decimal:
    """A JSON number (float or int) as Decimal with 2 places; floats go through `str` so 129.9
    stays 129.90 instead of 129.900000000000005684..."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MarketplaceUnavailable(f"Mercado Livre sent {value!r} where a price was expected")
    try:
        return Decimal(str(value)).quantize(CENT)
    except InvalidOperation as exc:
        raise MarketplaceUnavailable(f"Mercado Livre sent {value!r} as a price") from exc


def optional_money(value: object) -> Decimal | None:
    """None, and 0 for `original_price` in promotion listings, mean no price."""
    if value is None or value == 0:
        return None
    return money(value)


def money_out(value: Decimal) -> float:
    """Money for a request body: a JSON number with 2 decimals."""
    return float(value.quantize(CENT))


def moment(value: object) -> datetime:
    """An ISO 8601 date-time (any offset or Z; none means Brazil's) as an aware UTC datetime."""
    if not isinstance(value, str):
        raise MarketplaceUnavailable(f"Mercado Livre sent {value!r} where a date was expected")
    raw = value.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise MarketplaceUnavailable(f"Mercado Livre sent {value!r} as a date") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=BRT)
    return parsed.astimezone(UTC)


def optional_moment(value: object) -> datetime | None:
    return None if value in (None, "") else moment(value)


def moment_out(value: datetime) -> str:
    """A datetime as Mercado Livre writes them: `2026-11-25T10:00:00.000-03:00` (naive = UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(BRT).isoformat(timespec="milliseconds")


def _field(body: Json, name: str) -> Any:
    try:
        return body[name]
    except (KeyError, TypeError) as exc:
        raise MarketplaceUnavailable(f"Mercado Livre's answer has no {name!r}") from exc


@_answer
def token_grant(body: Json, now: datetime) -> TokenGrant:
    return TokenGrant(
        access_token=str(_field(body, "access_token")),
        refresh_token=str(_field(body, "refresh_token")),
        expires_at=now + timedelta(seconds=int(body.get("expires_in") or 21600)),
        user_id=str(_field(body, "user_id")),
    )


@_answer
def seller(body: Json) -> SellerProfile:
    reputation = body.get("seller_reputation") or {}
    return SellerProfile(
        user_id=str(_field(body, "id")),
        nickname=str(body.get("nickname") or ""),
        site_id=str(body.get("site_id") or ""),
        reputation_level=reputation.get("level_id"),
    )


@_answer
def item(body: Json) -> RemoteItem:
    return RemoteItem(
        id=str(_field(body, "id")),
        title=str(body.get("title") or ""),
        category_id=str(body.get("category_id") or ""),
        price=money(_field(body, "price")),
        original_price=optional_money(body.get("original_price")),
        currency=str(body.get("currency_id") or "BRL"),
        available_quantity=int(body.get("available_quantity") or 0),
        sold_quantity=int(body.get("sold_quantity") or 0),
        status=str(_field(body, "status")),
        condition=str(body.get("condition") or ""),
        listing_type=str(body.get("listing_type_id") or ""),
        last_updated=moment(body.get("last_updated") or _field(body, "date_created")),
        seller_id=None if body.get("seller_id") is None else str(body["seller_id"]),
    )


@_answer
def order(body: Json) -> RemoteOrder:
    lines = tuple(
        RemoteOrderLine(
            item_id=str(_field(_field(line, "item"), "id")),
            quantity=int(_field(line, "quantity")),
            unit_price=money(_field(line, "unit_price")),
            full_unit_price=optional_money(line.get("full_unit_price")),
        )
        for line in body.get("order_items") or ()
    )
    created = moment(_field(body, "date_created"))
    return RemoteOrder(
        id=str(_field(body, "id")),
        status=str(_field(body, "status")),
        created_at=created,
        last_updated=optional_moment(body.get("last_updated")) or created,
        total_amount=money(_field(body, "total_amount")),
        currency=str(body.get("currency_id") or "BRL"),
        buyer_id=str(_field(_field(body, "buyer"), "id")),
        lines=lines,
    )


@_answer
def invitation(body: Json) -> PromotionInvitation:
    benefits = body.get("benefits") or {}
    return PromotionInvitation(
        id=str(_field(body, "id")),
        type=str(_field(body, "type")),
        status=str(body.get("status") or ""),
        name=str(body.get("name") or ""),
        starts_at=optional_moment(body.get("start_date")),
        ends_at=optional_moment(body.get("finish_date")),
        deadline=optional_moment(body.get("deadline_date")),
        meli_percent=_percent(benefits.get("meli_percent")),
        seller_percent=_percent(benefits.get("seller_percent")),
    )


def _percent(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


@_answer
def candidate(promotion_id: str, body: Json) -> PromotionCandidate:
    stock = body.get("stock") or {}
    return PromotionCandidate(
        promotion_id=promotion_id,
        item_id=str(_field(body, "id")),
        status=str(body.get("status") or ""),
        price=money(_field(body, "price")),
        min_deal_price=optional_money(body.get("min_discounted_price")),
        max_deal_price=optional_money(body.get("max_discounted_price")),
        suggested_deal_price=optional_money(body.get("suggested_discounted_price")),
        min_stock=_whole(stock.get("min")),
        max_stock=_whole(stock.get("max")),
    )


def _whole(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


@_answer
def item_promotion(body: Json) -> ItemPromotion:
    return ItemPromotion(
        id=str(_field(body, "id")),
        type=str(_field(body, "type")),
        status=str(body.get("status") or ""),
        price=optional_money(body.get("price")),
        original_price=optional_money(body.get("original_price")),
        starts_at=optional_moment(body.get("start_date")),
        ends_at=optional_moment(body.get("finish_date")),
    )


@_answer
def applied_price(body: Json) -> AppliedPrice:
    return AppliedPrice(
        price=money(_field(body, "price")),
        original_price=optional_money(body.get("original_price")),
    )
