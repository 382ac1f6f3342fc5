"""The Mercado Livre adapter: `MercadoLivreMarketplace` (OAuth steps, per-connection clients)
and `MercadoLivreClient` (one seller's listings, orders, prices and promotions).

Every call goes through `SellerSession.call` (session.py): tokens refreshed single-flight,
retries with backoff, errors mapped to the port's `Marketplace*` errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from domain.marketplace import (
    AppliedPrice,
    CredentialStore,
    ItemPromotion,
    MarketplaceUnavailable,
    PromotionCandidate,
    PromotionInvitation,
    RemoteItem,
    RemoteOrder,
    SellerProfile,
    StoredCredentials,
    TokenGrant,
)
from domain.ports import Clock
from server.adapters.clock import SystemClock
from server.adapters.marketplace import oauth, paging, wire
from server.adapters.marketplace.session import SellerSession
from server.adapters.marketplace.transport import (
    ClientSettings,
    Limiter,
    RateLimiter,
    Sender,
    new_http_client,
)
from server.config import Settings

log = logging.getLogger(__name__)

V2 = {"app_version": "v2"}
ITEMS_BATCH = 20  # /items?ids= takes at most 20 ids


class MercadoLivreMarketplace:
    """The marketplace as a whole, on ONE shared httpx client (its pool, keep-alive, timeouts)."""

    def __init__(
        self,
        settings: ClientSettings,
        credentials: CredentialStore,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        sender: Sender | None = None,
        limiter_factory: Callable[[str, float], Limiter] | None = None,
    ) -> None:
        """`limiter_factory(connection_id, rate)`: each seller's rate limit (default: this
        process's own; `redis_rate.redis_limiters(redis)` shares it across processes)."""
        self.settings = settings
        self._credentials = credentials
        self._owns_http = http is None and sender is None
        self._sender = sender or Sender(http or new_http_client(settings), settings)
        self._clock = clock or SystemClock()
        self._tokens = oauth.TokenEndpoint(self._sender, settings, self._clock)
        self._limiters: dict[str, Limiter] = {}
        self._new_limiter = limiter_factory or (
            lambda _, rate: RateLimiter(rate, sleep=self._sender.sleep)
        )
        self._user_ids: dict[str, str] = {}
        self._credentials_cache: dict[str, StoredCredentials] = {}

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        credentials: CredentialStore,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        limiter_factory: Callable[[str, float], Limiter] | None = None,
        **overrides: object,
    ) -> MercadoLivreMarketplace:
        """From the server's settings (`ML_*`); `overrides` e.g. the simulator's base URLs."""
        client_settings = ClientSettings.from_settings(settings, **overrides)
        return cls(
            client_settings, credentials, http=http, clock=clock, limiter_factory=limiter_factory
        )

    def authorization_url(self, *, state: str, code_challenge: str, redirect_uri: str) -> str:
        return oauth.authorization_url(
            self.settings, state=state, code_challenge=code_challenge, redirect_uri=redirect_uri
        )

    async def exchange_code(
        self, *, code: str, code_verifier: str, redirect_uri: str
    ) -> TokenGrant:
        return await self._tokens.exchange_code(
            code=code, code_verifier=code_verifier, redirect_uri=redirect_uri
        )

    def client(self, connection_id: str, *, rate_limit: float | None = None) -> MercadoLivreClient:
        """A seller's client; its rate limit is shared by every client of the connection
        (`rate_limit` overrides ML_RATE_LIMIT for it, e.g. 0 for the embedded simulator)."""
        limiter = self._limiters.get(connection_id)
        if limiter is None:
            rate = self.settings.rate_limit if rate_limit is None else rate_limit
            limiter = self._limiters[connection_id] = self._new_limiter(connection_id, rate)
        tokens = oauth.SellerTokens(
            connection_id,
            self._credentials,
            self._tokens,
            self._clock,
            margin=timedelta(seconds=self.settings.refresh_margin),
            limiter=limiter,
            cache=self._credentials_cache,
        )
        session = SellerSession(tokens, self._sender, limiter, self.settings)
        return MercadoLivreClient(session, self._user_ids, self.settings.batch_concurrency)

    async def aclose(self) -> None:
        """Close the connection pool (when this marketplace created it)."""
        if self._owns_http:
            await self._sender.http.aclose()


class MercadoLivreClient:
    """One connected seller's marketplace (implements `MarketplaceClient`)."""

    def __init__(
        self, session: SellerSession, user_ids: dict[str, str], concurrency: int = 4
    ) -> None:
        self._session = session
        self._concurrency = concurrency
        self._call = session.call
        self._user_ids = user_ids  # connection id -> seller's user id, shared per marketplace

    async def _user_id(self) -> str:
        cached = self._user_ids.get(self._session.connection_id)
        return cached if cached is not None else (await self.me()).user_id

    # -- seller, listings, orders --------------------------------------------------------------

    async def me(self) -> SellerProfile:
        profile = wire.seller(await self._call("GET", "/users/me", action="the seller's profile"))
        self._user_ids[self._session.connection_id] = profile.user_id
        return profile

    async def item_ids(self, *, status: str | None = None) -> AsyncIterator[str]:
        """Offset pages up to 1,000, then a scan (skipping the ids already given)."""
        async for item_id in paging.item_ids(self._session, await self._user_id(), status):
            yield item_id

    async def items(self, ids: Sequence[str]) -> list[RemoteItem]:
        """Batches of 20, a few in flight at once; answers keep the order of `ids`."""
        unique = list(dict.fromkeys(ids))
        batches = [unique[i : i + ITEMS_BATCH] for i in range(0, len(unique), ITEMS_BATCH)]
        gate = asyncio.Semaphore(self._concurrency)

        async def fetch(batch: list[str]) -> list[Any]:
            async with gate:
                answer = await self._call(
                    "GET",
                    "/items",
                    params={"ids": ",".join(batch)},
                    action="the listings",
                    expect=list,
                )
            return [entry for entry in answer if isinstance(entry, dict)]

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(fetch(batch)) for batch in batches]
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None  # callers catch the port's errors, not a group
        found: list[RemoteItem] = []
        for task in tasks:
            for entry in task.result():
                body = entry.get("body")
                if entry.get("code") != 200 or not isinstance(body, dict):
                    continue
                try:
                    found.append(wire.item(body))
                except MarketplaceUnavailable as exc:
                    # One unreadable listing must not stop a catalogue sync: skip it, loudly.
                    log.warning(
                        "marketplace.item_unreadable",
                        extra={"item_id": body.get("id"), "error": str(exc)},
                    )
        return found

    async def price_automated(self, item_id: str) -> bool:
        answer = await self._call(
            "GET",
            f"/marketplace/items/{item_id}/prices/automate",
            action=f"the price automation of listing {item_id}",
            absent_ok=True,
        )
        return answer is not None and str(answer.get("status", "ACTIVE")).upper() == "ACTIVE"

    async def orders(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> AsyncIterator[RemoteOrder]:
        """Oldest first; past offset 10,000 the date window moves forward."""
        async for order in paging.orders(self._session, await self._user_id(), since, until):
            yield order

    async def order(self, order_id: str) -> RemoteOrder:
        answer = await self._call("GET", f"/orders/{order_id}", action=f"order {order_id}")
        return wire.order(answer)

    # -- prices and promotions -----------------------------------------------------------------

    async def apply_price_discount(
        self, item_id: str, *, deal_price: Decimal, starts_at: datetime, ends_at: datetime
    ) -> AppliedPrice:
        body = {
            "promotion_type": "PRICE_DISCOUNT",
            "deal_price": wire.money_out(deal_price),
            "start_date": wire.moment_out(starts_at),
            "finish_date": wire.moment_out(ends_at),
        }
        answer = await self._call(
            "POST",
            f"/seller-promotions/items/{item_id}",
            params=V2,
            json=body,
            action=f"the discount on listing {item_id}",
        )
        return wire.applied_price(answer)

    async def remove_price_discount(self, item_id: str) -> None:
        await self._call(
            "DELETE",
            f"/seller-promotions/items/{item_id}",
            params={**V2, "promotion_type": "PRICE_DISCOUNT"},
            action=f"withdrawing the discount on listing {item_id}",
            absent_ok=True,
            expect=None,
        )

    async def item_promotions(self, item_id: str) -> list[ItemPromotion]:
        answer = await self._call(
            "GET",
            f"/seller-promotions/items/{item_id}",
            params=V2,
            action=f"the promotions of listing {item_id}",
            expect=list,
        )
        return [wire.item_promotion(p) for p in answer]

    async def invitations(self) -> list[PromotionInvitation]:
        answer = await self._call(
            "GET",
            f"/seller-promotions/users/{await self._user_id()}",
            params=V2,
            action="the seller's promotion invitations",
        )
        return [wire.invitation(p) for p in answer.get("results") or ()]

    async def candidates(self, promotion_id: str, promotion_type: str) -> list[PromotionCandidate]:
        return await paging.candidates(self._session, promotion_id, promotion_type)

    async def join_promotion(
        self,
        item_id: str,
        *,
        promotion_id: str,
        promotion_type: str,
        deal_price: Decimal,
        stock: int | None = None,
    ) -> AppliedPrice:
        body: dict[str, Any] = {
            "promotion_id": promotion_id,
            "promotion_type": promotion_type,
            "deal_price": wire.money_out(deal_price),
        }
        if stock is not None:
            body["stock"] = stock
        answer = await self._call(
            "POST",
            f"/seller-promotions/items/{item_id}",
            params=V2,
            json=body,
            action=f"listing {item_id} joining promotion {promotion_id}",
        )
        return wire.applied_price(answer)

    async def leave_promotion(
        self, item_id: str, *, promotion_id: str, promotion_type: str
    ) -> None:
        await self._call(
            "DELETE",
            f"/seller-promotions/items/{item_id}",
            params={**V2, "promotion_type": promotion_type, "promotion_id": promotion_id},
            action=f"listing {item_id} leaving promotion {promotion_id}",
            absent_ok=True,
            expect=None,
        )

    async def set_price(self, item_id: str, price: Decimal) -> None:
        await self._call(
            "PUT",
            f"/items/{item_id}",
            json={"price": wire.money_out(price)},
            action=f"the price change of listing {item_id}",
            expect=None,
        )
