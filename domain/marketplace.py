"""The marketplace port: what the domain needs from a marketplace, in the domain's words.

One HTTP adapter implements it (server/adapters/marketplace/), against Mercado Livre or the
simulator that speaks the same API. Values here are the marketplace's view (`Remote*`); the
services turn them into the account's entities (domain/model/marketplace.py).

Errors: every call raises only the `Marketplace*` errors below (never httpx's), so a service
can record a refusal with the marketplace's own reason and retry what is retryable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from domain.errors import DomainError

# -- errors ----------------------------------------------------------------------------------


class MarketplaceError(DomainError):
    """A marketplace call did not do what was asked."""


class MarketplaceRefused(MarketplaceError):
    """The marketplace refused the request for a reason the seller can act on.

    `code` is the marketplace's error code (e.g. `promotion.duration_exceeded`,
    `item.price.automated`), `message` its message, `status` the HTTP status.
    """

    def __init__(self, message: str, *, code: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class MarketplaceNotFound(MarketplaceError):
    """The item, order or promotion does not exist on the marketplace (or not for this seller)."""


class MarketplaceUnavailable(MarketplaceError):
    """No useful answer (timeouts, 5xx, 429 after the retries): try again later."""


class MarketplaceAuthorizationLost(MarketplaceError):
    """The seller's authorization is gone (refresh refused, consent revoked): reconnect."""


# -- values ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenGrant:
    access_token: str
    refresh_token: str
    expires_at: datetime
    user_id: str


@dataclass(frozen=True, slots=True)
class SellerProfile:
    user_id: str
    nickname: str
    site_id: str
    reputation_level: str | None  # e.g. "5_green"; None for a seller without sales

    @property
    def green(self) -> bool:
        return (self.reputation_level or "").endswith("green")


@dataclass(frozen=True, slots=True)
class RemoteItem:
    id: str
    title: str
    category_id: str
    price: Decimal
    original_price: Decimal | None
    currency: str
    available_quantity: int
    sold_quantity: int
    status: str
    condition: str
    listing_type: str
    last_updated: datetime
    seller_id: str | None = None  # whose item it is (items are public: a sync checks it)


@dataclass(frozen=True, slots=True)
class RemoteOrderLine:
    item_id: str
    quantity: int
    unit_price: Decimal
    full_unit_price: Decimal | None


@dataclass(frozen=True, slots=True)
class RemoteOrder:
    id: str
    status: str
    created_at: datetime
    last_updated: datetime
    total_amount: Decimal
    currency: str
    buyer_id: str  # the marketplace's buyer id: pseudonymise before storing
    lines: tuple[RemoteOrderLine, ...]


@dataclass(frozen=True, slots=True)
class PromotionInvitation:
    """A marketplace promotion the seller is invited to (DEAL, LIGHTNING, DOD)."""

    id: str
    type: str
    status: str
    name: str
    starts_at: datetime | None
    ends_at: datetime | None
    deadline: datetime | None
    meli_percent: float | None  # co-funded types: the marketplace's share of the discount
    seller_percent: float | None


@dataclass(frozen=True, slots=True)
class PromotionCandidate:
    """A listing invited to a promotion, with the deal-price (and LIGHTNING stock) bounds."""

    promotion_id: str
    item_id: str
    status: str  # candidate, pending, started
    price: Decimal
    min_deal_price: Decimal | None
    max_deal_price: Decimal | None
    suggested_deal_price: Decimal | None
    min_stock: int | None
    max_stock: int | None


@dataclass(frozen=True, slots=True)
class ItemPromotion:
    """A promotion an item is in (to reconcile after a crash), as the marketplace reports it."""

    id: str
    type: str  # PRICE_DISCOUNT, DEAL, LIGHTNING, DOD
    status: str  # pending, started, finished, candidate
    price: Decimal | None
    original_price: Decimal | None
    starts_at: datetime | None
    ends_at: datetime | None


@dataclass(frozen=True, slots=True)
class AppliedPrice:
    price: Decimal
    original_price: Decimal | None


# -- the port --------------------------------------------------------------------------------


class MarketplaceClient(Protocol):
    """One seller's marketplace, authorised (tokens refreshed inside, single-flight)."""

    async def me(self) -> SellerProfile: ...

    def item_ids(self, *, status: str | None = None) -> AsyncIterator[str]:
        """Every item id of the seller: offset pages up to 1,000, then scan with scroll_id."""
        ...

    async def items(self, ids: Sequence[str]) -> list[RemoteItem]:
        """The items (batched by 20); missing ids are left out."""
        ...

    async def price_automated(self, item_id: str) -> bool: ...

    def orders(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> AsyncIterator[RemoteOrder]:
        """The seller's orders created in [since, until), oldest first."""
        ...

    async def order(self, order_id: str) -> RemoteOrder: ...

    async def apply_price_discount(
        self, item_id: str, *, deal_price: Decimal, starts_at: datetime, ends_at: datetime
    ) -> AppliedPrice:
        """An individual discount (PRICE_DISCOUNT); MarketplaceRefused with the reason."""
        ...

    async def remove_price_discount(self, item_id: str) -> None:
        """Withdraw the item's individual discount; absent is fine (idempotent)."""
        ...

    async def item_promotions(self, item_id: str) -> list[ItemPromotion]: ...

    async def invitations(self) -> list[PromotionInvitation]: ...

    async def candidates(
        self, promotion_id: str, promotion_type: str
    ) -> list[PromotionCandidate]: ...

    async def join_promotion(
        self,
        item_id: str,
        *,
        promotion_id: str,
        promotion_type: str,
        deal_price: Decimal,
        stock: int | None = None,
    ) -> AppliedPrice: ...

    async def leave_promotion(
        self, item_id: str, *, promotion_id: str, promotion_type: str
    ) -> None:
        """Leave an invitation's promotion; absent is fine (idempotent)."""
        ...

    async def set_price(self, item_id: str, price: Decimal) -> None:
        """Change the item's base price (refused under price automation)."""
        ...


@dataclass(frozen=True, slots=True)
class StoredCredentials:
    connection_id: str
    access_token: str
    refresh_token: str
    expires_at: datetime


class CredentialStore(Protocol):
    """Where a connection's tokens live, encrypted at rest.

    `refreshing` serialises refreshes of one connection across tasks AND processes (a refresh
    token is single-use: two concurrent refreshes lose one). Inside it, a client re-reads the
    credentials: when the access token changed since it failed, another refresher won and the
    new token is used without a second exchange.
    """

    async def load(self, connection_id: str) -> StoredCredentials | None: ...

    async def save(self, credentials: StoredCredentials) -> None: ...

    def refreshing(self, connection_id: str) -> AbstractAsyncContextManager[None]: ...


class Marketplace(Protocol):
    """The marketplace as a whole: the OAuth steps and per-connection clients."""

    def authorization_url(self, *, state: str, code_challenge: str, redirect_uri: str) -> str: ...

    async def exchange_code(
        self, *, code: str, code_verifier: str, redirect_uri: str
    ) -> TokenGrant: ...

    def client(self, connection_id: str) -> MarketplaceClient:
        """A client for a connected seller; tokens come from the credential store."""
        ...
