"""The JSON Mercado Livre answers with, built from the shop's state."""

from __future__ import annotations

from typing import Any

from .catalog import CATEGORIES
from .promotions import Invitation, Promotion
from .shop import Order, Shop
from .timefmt import to_iso


def money(value: float) -> float:
    return round(float(value), 2)


def item_json(shop: Shop, index: int) -> dict[str, Any]:
    catalog = shop.catalog
    price = shop.price(index)
    discounted = shop.deal_price[index] > 0
    created = shop.start - float(catalog.created_days_ago[index]) * 86_400
    return {
        "id": shop.item_id(index),
        "seller_id": shop.user_id,
        "title": catalog.titles[index],
        "category_id": CATEGORIES[int(catalog.category[index])].id,
        "price": money(price),
        "base_price": money(price),
        "original_price": money(shop.list_price[index]) if discounted else None,
        "currency_id": "BRL",
        "available_quantity": int(shop.stock[index]),
        "sold_quantity": int(shop.sold[index]),
        "status": shop.status[index],
        "condition": "used" if catalog.used[index] else "new",
        "listing_type_id": catalog.listing_type[index],
        "date_created": to_iso(created),
        "last_updated": to_iso(float(shop.last_updated[index])),
    }


def order_json(shop: Shop, order: Order) -> dict[str, Any]:
    index = order.listing
    catalog = shop.catalog
    closed = order.created + 60 + (order.id % 240)
    return {
        "id": order.id,
        "status": "cancelled" if order.cancelled else "paid",
        "date_created": to_iso(order.created),
        "date_closed": to_iso(closed),
        "last_updated": to_iso(closed + (3600 if order.cancelled else 0)),
        "total_amount": money(order.unit_price * order.units),
        "currency_id": "BRL",
        "seller": {"id": shop.user_id},
        "buyer": {
            "id": int(shop.buyer_ids[order.buyer]),
            "nickname": shop.buyer_names[order.buyer],
        },
        "order_items": [
            {
                "item": {
                    "id": shop.item_id(index),
                    "title": catalog.titles[index],
                    "category_id": CATEGORIES[int(catalog.category[index])].id,
                },
                "quantity": order.units,
                "unit_price": money(order.unit_price),
                "full_unit_price": money(order.full_unit_price),
                "currency_id": "BRL",
            }
        ],
    }


def promotion_json(promotion: Promotion) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": promotion.id,
        "type": promotion.type,
        "status": promotion.status,
        "price": money(promotion.deal_price),
        "original_price": money(promotion.original_price),
        "start_date": to_iso(promotion.start),
        "finish_date": to_iso(promotion.finish),
    }
    if promotion.stock is not None:
        body["stock"] = promotion.stock
    return body


def invitation_json(invitation: Invitation, now: float) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "type": invitation.type,
        "status": invitation.status(now),
        "start_date": to_iso(invitation.start),
        "finish_date": to_iso(invitation.finish),
        "deadline_date": to_iso(invitation.deadline),
        "name": invitation.name,
        "benefits": invitation.benefits,
    }


def candidate_json(shop: Shop, invitation: Invitation, index: int, now: float) -> dict[str, Any]:
    candidate = invitation.candidates[index]
    joined = candidate.joined
    body: dict[str, Any] = {
        "id": shop.item_id(index),
        "status": "candidate" if joined is None else joined.status,
        "price": money(joined.deal_price if joined else shop.list_price[index]),
        "original_price": money(joined.original_price) if joined else 0,
        "min_discounted_price": candidate.min_price,
        "max_discounted_price": candidate.max_price,
        "suggested_discounted_price": candidate.suggested,
    }
    if invitation.type == "LIGHTNING":
        body["stock"] = {"min": candidate.stock_min, "max": candidate.stock_max}
    return body


def item_candidacies(shop: Shop, index: int, now: float) -> list[dict[str, Any]]:
    """Invitations the item may still join, as `/seller-promotions/items/{id}` lists them."""
    rows: list[dict[str, Any]] = []
    for invitation in shop.invitations.values():
        candidate = invitation.candidates.get(index)
        if candidate is None or candidate.joined is not None:
            continue
        if invitation.status(now) == "finished":
            continue
        rows.append(
            {
                "id": invitation.id,
                "type": invitation.type,
                "status": "candidate",
                "price": money(shop.list_price[index]),
                "original_price": 0,
                "start_date": to_iso(invitation.start),
                "finish_date": to_iso(invitation.finish),
                "min_discounted_price": candidate.min_price,
                "max_discounted_price": candidate.max_price,
                "suggested_discounted_price": candidate.suggested,
            }
        )
    return rows
