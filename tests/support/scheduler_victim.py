"""A scheduler process that dies (os._exit) right after the marketplace accepted a discount,
before it can record the outcome: run by tests/integration/test_scheduler_killed.py.

    VICTIM_DISCOUNT=<id> python -m tests.support.scheduler_victim
    (settings from the environment, as the server's; only that discount is handled, so that
    other tests' discounts in a shared database are left alone)
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from domain.marketplace import AppliedPrice, MarketplaceClient
from domain.services.scheduler import DiscountScheduler
from domain.services.shops import Shop, Shops, StoredShops
from server.bootstrap import build
from server.config import Settings

KILLED = 17  # the exit status the test expects


class DyingClient:
    """The real client, except that the process ends as soon as a discount is accepted."""

    def __init__(self, inner: MarketplaceClient) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def apply_price_discount(
        self, item_id: str, *, deal_price: Decimal, starts_at: datetime, ends_at: datetime
    ) -> AppliedPrice:
        await self._inner.apply_price_discount(
            item_id, deal_price=deal_price, starts_at=starts_at, ends_at=ends_at
        )
        os._exit(KILLED)


class DyingShops:
    def __init__(self, inner: Shops) -> None:
        self._inner = inner

    def _dying(self, shop: Shop | None) -> Shop | None:
        if shop is None:
            return None
        return Shop(cast(MarketplaceClient, DyingClient(shop.client)), shop.unit_cost, shop.key)

    async def of_listing(self, account_id: str, listing_id: str) -> Shop | None:
        return self._dying(await self._inner.of_listing(account_id, listing_id))

    async def of_listings(
        self, account_id: str, listing_ids: Sequence[str]
    ) -> dict[str, Shop | None]:
        found = await self._inner.of_listings(account_id, listing_ids)
        return {i: self._dying(shop) for i, shop in found.items()}

    async def of_account(self, account_id: str) -> list[MarketplaceClient]:
        return await self._inner.of_account(account_id)


async def main() -> None:
    container = build(Settings.from_env())
    assert container.marketplace is not None
    shops = DyingShops(StoredShops(container.uow, container.marketplace.providers))
    async with container.uow() as uow:
        due = await uow.discounts.due(container.clock.now(), 10_000)
    mine = [d for d in due if d.discount.id == os.environ["VICTIM_DISCOUNT"]]
    await DiscountScheduler(container.uow, container.clock, shops).handle(mine)
    raise SystemExit("no discount was due: the victim did not die")


if __name__ == "__main__":
    asyncio.run(main())
