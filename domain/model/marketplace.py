"""The seller's shop on a marketplace: connections, listings, orders, syncs and the price log.

Listings and orders are the account's copies of the marketplace's items and orders, refreshed
by syncs (`SyncJob`) and webhooks; the marketplace stays the source of truth for them. The
price log (`PriceChange`) is ours: an append-only record of every attempt to change a price.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from domain.model.common import new_id


class MarketplaceProvider(enum.Enum):
    SIMULATOR = "SIMULATOR"
    MERCADO_LIVRE = "MERCADO_LIVRE"


class ConnectionStatus(enum.Enum):
    PENDING = "PENDING"  # waiting for the seller to finish the OAuth consent
    CONNECTED = "CONNECTED"
    REVOKED = "REVOKED"  # the marketplace refused our refresh token: the seller must reconnect


@dataclass(slots=True)
class MarketplaceConnection:
    """An account's link to one seller on one marketplace (tokens live in the credential store)."""

    account_id: str
    provider: MarketplaceProvider
    status: ConnectionStatus
    created_at: datetime
    seller_id: str = ""  # the marketplace's user id; empty while PENDING
    nickname: str | None = None
    site_id: str = "MLB"
    last_sync_at: datetime | None = None
    id: str = field(default_factory=new_id)


class ListingStatus(enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


@dataclass(slots=True)
class Listing:
    """An item the seller lists; `id` is the marketplace's item id (e.g. MLB3912345678)."""

    account_id: str
    connection_id: str
    id: str
    title: str
    category: str
    price: Decimal
    original_price: Decimal | None  # the price before a live promotion
    currency: str
    available_quantity: int
    sold_quantity: int
    status: str  # the marketplace's word: active, paused, closed, under_review, ...
    condition: str  # new, used, not_specified
    listing_type: str  # gold_special, gold_pro, free, ...
    price_automated: bool
    updated_at: datetime  # the marketplace's last_updated
    synced_at: datetime
    unit_cost: Decimal | None = None  # ours: set by updateListingCost or a CSV import


class OrderStatus(enum.Enum):
    PAID = "paid"
    CANCELLED = "cancelled"
    OTHER = "other"  # confirmed, payment_required, ...: kept, counted as not sold


@dataclass(frozen=True, slots=True)
class OrderItem:
    listing_id: str
    quantity: int
    unit_price: Decimal
    full_unit_price: Decimal | None = None  # the price before a promotion, when there was one


@dataclass(slots=True)
class Order:
    """An order as the marketplace reports it, with the buyer pseudonymised at ingestion (LGPD)."""

    account_id: str
    connection_id: str
    id: str
    status: str
    created_at: datetime
    total_amount: Decimal
    currency: str
    buyer: str  # a keyed hash of the buyer's marketplace id, never the id or nickname
    items: tuple[OrderItem, ...]
    updated_at: datetime


class SyncStatus(enum.Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class PriceChangeReason(enum.Enum):
    DISCOUNT_APPLIED = "DISCOUNT_APPLIED"
    DISCOUNT_WITHDRAWN = "DISCOUNT_WITHDRAWN"
    PROMOTION_JOINED = "PROMOTION_JOINED"
    PROMOTION_LEFT = "PROMOTION_LEFT"
    RECOMMENDATION = "RECOMMENDATION"
    REVERT = "REVERT"
    MANUAL = "MANUAL"
    TITLE_CHANGE = "TITLE_CHANGE"


class PriceChangeOutcome(enum.Enum):
    APPLIED = "APPLIED"
    REJECTED = "REJECTED"  # the marketplace or our rules refused it; `message` says why
    FAILED = "FAILED"  # it could not be done (marketplace down, timeouts); may be retried


@dataclass(frozen=True, slots=True)
class PriceChange:
    """One attempt to change a listing's price: the append-only audit log's entry."""

    account_id: str
    listing_id: str
    old_price: Decimal | None
    new_price: Decimal | None
    reason: PriceChangeReason
    actor: str  # "scheduler", "user:<id>", "webhook", ...
    at: datetime
    outcome: PriceChangeOutcome
    promotion_id: str | None = None
    message: str | None = None  # the marketplace's message on a refusal
    discount_id: str | None = None
    campaign_id: str | None = None
    id: str = field(default_factory=new_id)
