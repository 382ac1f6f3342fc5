"""The scheduler against the simulator over real HTTP, through the product's Mercado Livre client.

A discount starting in seconds is APPLIED on the simulator (its price there is the deal price)
and WITHDRAWN at its end, with both audit entries; ticks come from the embedded loop
(`tick_forever`, what `mlproject serve` runs), on both databases. The simulator runs on the real
clock (speed 1) so that its "now" and the scheduler's agree.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

import httpx
import pytest
import pytest_asyncio

from domain.marketplace import MarketplaceClient, StoredCredentials
from domain.model.accounts import Account, Principal, Role
from domain.model.campaigns import Discount, DiscountMarketplaceState
from domain.model.marketplace import PriceChangeOutcome, PriceChangeReason
from domain.pagination import PageRequest
from domain.ports import PriceChangeFilter
from domain.services.campaigns import CampaignService
from domain.services.scheduler import DiscountScheduler
from domain.services.shops import Shop
from server.adapters.clock import SystemClock
from server.adapters.db.engine import create_engine, create_session_factory
from server.adapters.db.uow import SqlUnitOfWorkFactory
from server.adapters.jobs.discounts import tick_forever
from server.adapters.marketplace.memory_credentials import InMemoryCredentialStore
from server.adapters.marketplace.mercadolivre import MercadoLivreMarketplace
from server.config import Settings
from server.simulator import SimulatorConfig
from tests.support.scheduling import eligible_item, until
from tests.support.simulator import running_simulator

CONFIG = SimulatorConfig(seed=7, items=60, start=None, speed=1.0, tick_seconds=0.1)
CONNECTION = "sim-connection"


@pytest.fixture(scope="module")
def simulator() -> Iterator[str]:
    with running_simulator(CONFIG) as url:
        yield url


@dataclass
class SimShops:
    """The account's listings are all sold by the simulator's seller (one connection)."""

    account_id: str
    client: MarketplaceClient

    async def of_listing(self, account_id: str, listing_id: str) -> Shop | None:
        return Shop(self.client, key=CONNECTION) if account_id == self.account_id else None

    async def of_listings(
        self, account_id: str, listing_ids: Sequence[str]
    ) -> dict[str, Shop | None]:
        return {i: await self.of_listing(account_id, i) for i in listing_ids}

    async def of_account(self, account_id: str) -> list[MarketplaceClient]:
        return [self.client] if account_id == self.account_id else []


@pytest_asyncio.fixture
async def marketplace(simulator: str) -> AsyncIterator[MercadoLivreMarketplace]:
    async with httpx.AsyncClient(base_url=simulator) as http:
        answer = await http.post("/_sim/sellers", json={"seed": CONFIG.seed, "items": 60})
    tokens = answer.json()
    credentials = InMemoryCredentialStore()
    await credentials.save(
        StoredCredentials(
            CONNECTION,
            tokens["access_token"],
            tokens["refresh_token"],
            datetime.now(UTC) + timedelta(seconds=tokens["expires_in"]),
        )
    )
    market = MercadoLivreMarketplace.from_settings(
        Settings(ml_client_id=CONFIG.client_id, ml_client_secret=CONFIG.client_secret),
        credentials,
        api_base=simulator,
        auth_base=simulator,
        rate_limit=0.0,
    )
    yield market
    await market.aclose()


async def test_a_discount_starting_in_seconds_is_applied_on_the_simulator_and_withdrawn(
    database_url: str, simulator: str, marketplace: MercadoLivreMarketplace
) -> None:
    engine = create_engine(database_url)
    uow = SqlUnitOfWorkFactory(create_session_factory(engine))
    clock = SystemClock()
    account = Account.open(f"Loja {uuid.uuid4().hex[:6]}", clock.now())
    async with uow() as unit:
        await unit.accounts.add(account)
        await unit.commit()
    client = marketplace.client(CONNECTION, rate_limit=0)
    item = await eligible_item(simulator, CONFIG.seed)
    now = clock.now()
    discount = await CampaignService(uow, clock).schedule_discount(
        Principal("user", account.id, Role.OWNER),
        listing_id=item["id"],
        percent=10,
        starts_at=now + timedelta(seconds=1),
        ends_at=now + timedelta(seconds=4),
        campaign_id=None,
    )
    scheduler = DiscountScheduler(uow, clock, SimShops(account.id, client))
    loop = asyncio.create_task(tick_forever(scheduler, 0.2))
    sim = httpx.AsyncClient(base_url=simulator)

    async def state() -> Discount:
        async with uow() as unit:
            found = await unit.discounts.get(account.id, discount.id)
        assert found is not None
        return found

    async def sim_price() -> Decimal:
        body = (await sim.get(f"/_sim/state/items/{item['id']}")).json()
        return Decimal(str(body["price"]))

    try:
        await until(lambda: _in(state, DiscountMarketplaceState.APPLIED), "APPLIED")
        deal = (await state()).deal_price
        ten_off = Decimal(str(item["price"])) * Decimal("0.9")
        assert deal == ten_off.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        await until(lambda: _equals(sim_price, deal), "the deal price on the simulator")
        await until(lambda: _in(state, DiscountMarketplaceState.WITHDRAWN), "WITHDRAWN")
        await until(lambda: _equals(sim_price, Decimal(str(item["price"]))), "the price back")
    finally:
        loop.cancel()
        await sim.aclose()
    async with uow() as unit:
        page = await unit.price_changes.page(
            account.id, PageRequest.of(10, None), PriceChangeFilter()
        )
    await engine.dispose()
    entries = [(c.reason, c.outcome) for c in reversed(page.items)]
    assert entries == [
        (PriceChangeReason.DISCOUNT_APPLIED, PriceChangeOutcome.APPLIED),
        (PriceChangeReason.DISCOUNT_WITHDRAWN, PriceChangeOutcome.APPLIED),
    ]


async def _in(read: Callable[[], Awaitable[Discount]], wanted: DiscountMarketplaceState) -> bool:
    return (await read()).marketplace_state is wanted


async def _equals(read: Callable[[], Awaitable[Decimal]], wanted: Decimal | None) -> bool:
    return await read() == wanted
