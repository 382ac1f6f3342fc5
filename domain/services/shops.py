"""Where an account's listings are sold: the marketplace client of each listing's connection,
for the scheduler and the promotions, and what one scheduler tick reads from those shops."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from domain.marketplace import MarketplaceClient, MarketplaceError, RemoteItem, SellerProfile
from domain.model.campaigns import DueDiscount
from domain.model.marketplace import ConnectionStatus, MarketplaceConnection
from domain.ports import MarketplaceProviders, UnitOfWorkFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Shop:
    """Where a listing is sold: the seller's marketplace client, and our unit cost for it."""

    client: MarketplaceClient
    unit_cost: Decimal | None = None
    key: str = ""  # the connection: shops with one key share the seller (cached per tick)


class Shops(Protocol):
    """Finds the marketplace client of an account's listing (or of the account)."""

    async def of_listing(self, account_id: str, listing_id: str) -> Shop | None: ...

    async def of_listings(
        self, account_id: str, listing_ids: Sequence[str]
    ) -> dict[str, Shop | None]: ...

    async def of_account(self, account_id: str) -> list[MarketplaceClient]: ...


class StoredShops:
    """Shops from the account's synced listings and connections (each connection's client
    from its provider: Mercado Livre or the simulator)."""

    def __init__(self, uow: UnitOfWorkFactory, providers: MarketplaceProviders) -> None:
        self._uow = uow
        self._providers = providers

    async def of_listing(self, account_id: str, listing_id: str) -> Shop | None:
        return (await self.of_listings(account_id, [listing_id]))[listing_id]

    async def of_listings(
        self, account_id: str, listing_ids: Sequence[str]
    ) -> dict[str, Shop | None]:
        async with self._uow() as uow:
            listings = await uow.listings.get_many(account_id, listing_ids)
            connections = await uow.marketplace_connections.for_account(account_id)
        live = {c.id: c for c in connections if c.status is ConnectionStatus.CONNECTED}
        clients = {c.id: self._client(c) for c in live.values()}
        shops: dict[str, Shop | None] = {}
        for listing_id in listing_ids:
            listing = listings.get(listing_id)
            if listing:
                found = listing.connection_id if listing.connection_id in live else None
            else:  # a listing not synced yet is fine when the account has only one shop
                found = next(iter(live)) if len(live) == 1 else None
            shops[listing_id] = (
                Shop(clients[found], listing.unit_cost if listing else None, found)
                if found
                else None
            )
        return shops

    async def of_account(self, account_id: str) -> list[MarketplaceClient]:
        async with self._uow() as uow:
            connections = await uow.marketplace_connections.for_account(account_id)
        return [self._client(c) for c in connections if c.status is ConnectionStatus.CONNECTED]

    def _client(self, connection: MarketplaceConnection) -> MarketplaceClient:
        return self._providers.marketplace(connection.provider).client(connection.id)


class TickReads:
    """What one tick reads from the marketplace, read once: the shops of its listings, their
    items (in batches of the marketplace's size) and each seller's profile."""

    def __init__(self, shops: Shops) -> None:
        self._shops = shops
        self._shop: dict[tuple[str, str], Shop | None] = {}
        self._items: dict[str, RemoteItem] = {}
        self._sellers: dict[str, asyncio.Task[SellerProfile]] = {}

    async def prefetch(self, due: Sequence[DueDiscount]) -> None:
        by_account: dict[str, list[str]] = defaultdict(list)
        for item in due:
            by_account[item.discount.account_id].append(item.discount.listing_id)
        for account_id, listing_ids in by_account.items():
            shops = await self._shops.of_listings(account_id, listing_ids)
            by_shop: dict[str, list[str]] = defaultdict(list)
            for listing_id, shop in shops.items():
                self._shop[(account_id, listing_id)] = shop
                if shop is not None and shop.key:
                    by_shop[shop.key].append(listing_id)
            for ids in by_shop.values():
                shop = shops[ids[0]]
                assert shop is not None
                try:
                    for found in await shop.client.items(ids):
                        self._items[found.id] = found
                except MarketplaceError as error:  # each attempt reads its own item instead
                    log.warning("scheduler.prefetch_failed", extra={"error": error.message})

    async def shop(self, account_id: str, listing_id: str) -> Shop | None:
        key = (account_id, listing_id)
        if key not in self._shop:
            self._shop[key] = await self._shops.of_listing(account_id, listing_id)
        return self._shop[key]

    async def item(self, shop: Shop, item_id: str) -> RemoteItem | None:
        if item_id in self._items:
            return self._items.pop(item_id)  # once: a retry in this tick reads afresh
        found = await shop.client.items([item_id])
        return found[0] if found else None

    async def seller(self, shop: Shop) -> SellerProfile:
        if not shop.key:
            return await shop.client.me()
        if shop.key not in self._sellers or (
            self._sellers[shop.key].done() and self._sellers[shop.key].exception()
        ):
            self._sellers[shop.key] = asyncio.ensure_future(shop.client.me())
        return await asyncio.shield(self._sellers[shop.key])
