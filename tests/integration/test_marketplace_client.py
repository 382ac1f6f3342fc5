"""The Mercado Livre client against the marketplace simulator over real HTTP (uvicorn on a free
port in a thread): OAuth, refresh races, scan paging, 429 backoff, expired tokens, discounts."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from domain.marketplace import (
    MarketplaceRefused,
    MarketplaceUnavailable,
    RemoteItem,
    StoredCredentials,
)
from server.adapters.marketplace.memory_credentials import InMemoryCredentialStore
from server.adapters.marketplace.mercadolivre import MercadoLivreClient, MercadoLivreMarketplace
from server.adapters.marketplace.oauth import code_challenge, new_code_verifier, new_state
from server.adapters.marketplace.redis_rate import redis_limiters
from server.adapters.marketplace.transport import ClientSettings, Sender
from server.adapters.marketplace.wire import moment
from server.config import Settings
from server.simulator import SimulatorConfig
from tests.support.services import require_service
from tests.support.simulator import START, running_simulator

CONFIG = SimulatorConfig(seed=7, items=1200, start=START, speed=0.0, tick_seconds=0.2)
REDIRECT = "http://127.0.0.1:1/marketplace/callback"
CONNECTION = "sim-connection"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/6")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_simulator(CONFIG) as url:
        yield url


@dataclass
class Wire:
    """What crossed the wire, counted by httpx's event hooks."""

    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    sleeps: list[float] = field(default_factory=list)

    async def on_request(self, request: httpx.Request) -> None:
        scan = "scan" if request.url.params.get("search_type") == "scan" else ""
        self.requests[f"{request.method} {request.url.path} {scan}".strip()] += 1

    async def on_response(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)  # recorded, not slept: Retry-After is checked, not waited
        await asyncio.sleep(0)

    @property
    def refreshes(self) -> int:
        return self.requests["POST /oauth/token"]


@dataclass
class Rig:
    marketplace: MercadoLivreMarketplace
    store: InMemoryCredentialStore
    wire: Wire
    http: httpx.AsyncClient


def rig(base_url: str, store: InMemoryCredentialStore | None = None, **overrides: Any) -> Rig:
    settings = ClientSettings(
        api_base=base_url,
        auth_base=base_url,
        client_id=CONFIG.client_id,
        client_secret=CONFIG.client_secret,
        rate_limit=0,
        backoff_base=0.01,
        backoff_cap=0.05,
        **overrides,
    )
    wire = Wire()
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
        event_hooks={"request": [wire.on_request], "response": [wire.on_response]},
    )
    store = store or InMemoryCredentialStore()
    sender = Sender(http, settings, sleep=wire.sleep)
    return Rig(MercadoLivreMarketplace(settings, store, sender=sender), store, wire, http)


async def connect(r: Rig, base_url: str) -> MercadoLivreClient:
    """The OAuth flow as the product runs it: authorization URL, redirect, code exchange."""
    state, verifier = new_state(), new_code_verifier()
    url = r.marketplace.authorization_url(
        state=state, code_challenge=code_challenge(verifier), redirect_uri=REDIRECT
    )
    assert url.startswith(f"{base_url}/authorization?")
    redirect = await r.http.get(url)
    assert redirect.status_code == 302
    callback = httpx.URL(redirect.headers["location"])
    assert callback.params["state"] == state
    grant = await r.marketplace.exchange_code(
        code=callback.params["code"], code_verifier=verifier, redirect_uri=REDIRECT
    )
    await r.store.save(
        StoredCredentials(CONNECTION, grant.access_token, grant.refresh_token, grant.expires_at)
    )
    return r.marketplace.client(CONNECTION)


@pytest.fixture
async def connected(base_url: str) -> AsyncIterator[tuple[Rig, MercadoLivreClient]]:
    r = rig(base_url)
    client = await connect(r, base_url)
    yield r, client
    await r.http.aclose()


async def sim(r: Rig, base_url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """A simulator-only endpoint: GET, or POST when there is a body."""
    url = f"{base_url}/_sim/{path}"
    answer = await (r.http.get(url) if body is None else r.http.post(url, json=body))
    answer.raise_for_status()
    return answer.json()


async def test_oauth_code_with_pkce_connects_the_seller(base_url: str) -> None:
    r = rig(base_url)
    client = await connect(r, base_url)
    me = await client.me()
    assert me.green and me.site_id == "MLB"
    assert (await r.store.load(CONNECTION)) is not None
    # A wrong verifier is refused: the code is bound to its challenge.
    state, verifier = new_state(), new_code_verifier()
    url = r.marketplace.authorization_url(
        state=state, code_challenge=code_challenge(verifier), redirect_uri=REDIRECT
    )
    code = httpx.URL((await r.http.get(url)).headers["location"]).params["code"]
    with pytest.raises(MarketplaceRefused) as caught:
        await r.marketplace.exchange_code(
            code=code, code_verifier=new_code_verifier(), redirect_uri=REDIRECT
        )
    assert caught.value.code == "invalid_grant"
    await r.http.aclose()


async def expire_locally(r: Rig) -> StoredCredentials:
    stale = await r.store.load(CONNECTION)
    assert stale is not None
    expired = stale.expires_at - timedelta(days=1)
    await r.store.save(
        StoredCredentials(CONNECTION, stale.access_token, stale.refresh_token, expired)
    )
    return stale


async def test_two_concurrent_refreshes_make_one_exchange_and_both_calls_succeed(
    base_url: str, connected: tuple[Rig, MercadoLivreClient]
) -> None:
    r, client = connected
    # A second worker on the same credential store, with its own connection pool.
    other = rig(base_url, store=r.store)
    stale = await expire_locally(r)
    exchanges = r.wire.refreshes
    both = await asyncio.gather(client.me(), other.marketplace.client(CONNECTION).me())
    assert both[0] == both[1]
    assert r.wire.refreshes - exchanges + other.wire.refreshes == 1
    fresh = await r.store.load(CONNECTION)
    assert fresh is not None and fresh.refresh_token != stale.refresh_token
    await other.http.aclose()


async def test_a_forced_token_expiry_is_recovered_with_one_refresh(
    base_url: str, connected: tuple[Rig, MercadoLivreClient]
) -> None:
    r, client = connected
    await client.me()
    await sim(r, base_url, "faults", {"expire_tokens": True})
    exchanges = r.wire.refreshes
    profiles = await asyncio.gather(*(client.me() for _ in range(5)))
    assert len({p.user_id for p in profiles}) == 1
    assert r.wire.refreshes - exchanges == 1
    assert r.wire.statuses[401] >= 1


async def test_scan_paging_past_1000_items_gives_every_id_once(
    connected: tuple[Rig, MercadoLivreClient],
) -> None:
    r, client = connected
    ids = [item_id async for item_id in client.item_ids()]
    assert len(ids) == len(set(ids)) == CONFIG.items
    assert r.wire.requests[f"GET /users/{(await client.me()).user_id}/items/search scan"] > 0
    items = await client.items([*ids[:45], "MLB0000000000"])
    assert [i.id for i in items] == ids[:45]  # the unknown id is left out
    assert r.wire.requests["GET /items"] == 3


async def test_429s_are_backed_off_honouring_retry_after_and_calls_succeed(
    base_url: str, connected: tuple[Rig, MercadoLivreClient]
) -> None:
    # A client allowed enough attempts that a 40% 429 rate cannot exhaust them in practice.
    r = rig(base_url, store=connected[0].store, max_attempts=10)
    client = r.marketplace.client(CONNECTION)
    await sim(r, base_url, "faults", {"rate_429": 0.4, "retry_after_seconds": 1})
    try:
        for _ in range(15):
            assert (await client.me()).green
    finally:
        await sim(r, base_url, "faults", {"rate_429": 0.0})
    assert r.wire.statuses[429] > 0
    assert len(r.wire.sleeps) == r.wire.statuses[429]
    assert min(r.wire.sleeps) >= 1.0  # never sooner than Retry-After
    await r.http.aclose()


async def test_503s_on_reads_are_retried_and_calls_succeed(
    base_url: str, connected: tuple[Rig, MercadoLivreClient]
) -> None:
    r = rig(base_url, store=connected[0].store, max_attempts=10)
    client = r.marketplace.client(CONNECTION)
    await sim(r, base_url, "faults", {"rate_5xx": 0.4})
    try:
        items = await client.items([item_id async for item_id in client.item_ids()][:200])
    finally:
        await sim(r, base_url, "faults", {"rate_5xx": 0.0})
    assert len(items) == 200
    assert r.wire.statuses[503] > 0 and len(r.wire.sleeps) == r.wire.statuses[503]
    await r.http.aclose()


async def test_a_marketplace_slower_than_the_read_timeout_is_unavailable(
    base_url: str, connected: tuple[Rig, MercadoLivreClient]
) -> None:
    r = rig(base_url, store=connected[0].store, read_timeout=0.1, max_attempts=2)
    client = r.marketplace.client(CONNECTION)
    await sim(r, base_url, "faults", {"latency_ms": 400})
    try:
        with pytest.raises(MarketplaceUnavailable, match="ReadTimeout, 2 attempts"):
            await client.me()
    finally:
        await sim(r, base_url, "faults", {"latency_ms": 0})
    assert r.wire.requests["GET /users/me"] == 2
    await r.http.aclose()


async def eligible_item(client: MercadoLivreClient) -> RemoteItem:
    ids = [item_id async for item_id in client.item_ids(status="active")]
    for item in await client.items(ids[:100]):
        if (
            item.condition == "new"
            and item.listing_type != "free"
            and item.original_price is None
            and not await client.price_automated(item.id)
        ):
            return item
    raise AssertionError("no item eligible for a discount in the first 100")


async def test_a_price_discount_is_applied_seen_on_the_item_and_removed(
    base_url: str, connected: tuple[Rig, MercadoLivreClient]
) -> None:
    r, client = connected
    item = await eligible_item(client)
    now = moment((await sim(r, base_url, "clock"))["now"])
    deal = (item.price * Decimal("0.85")).quantize(Decimal("0.01"))
    with pytest.raises(MarketplaceRefused) as too_long:
        await client.apply_price_discount(
            item.id, deal_price=deal, starts_at=now, ends_at=now + timedelta(days=15)
        )
    assert too_long.value.code == "promotion.duration_exceeded"
    assert "at most 14 days" in str(too_long.value)

    applied = await client.apply_price_discount(
        item.id, deal_price=deal, starts_at=now, ends_at=now + timedelta(days=7)
    )
    assert (applied.price, applied.original_price) == (deal, item.price)
    await sim(r, base_url, "clock", {"advance_seconds": 1})
    (live,) = await client.items([item.id])
    assert (live.price, live.original_price) == (deal, item.price)
    (promotion,) = [p for p in await client.item_promotions(item.id) if p.type == "PRICE_DISCOUNT"]
    assert promotion.price == deal

    with pytest.raises(MarketplaceRefused) as twice:
        await client.apply_price_discount(
            item.id, deal_price=deal, starts_at=now, ends_at=now + timedelta(days=7)
        )
    assert (twice.value.code, twice.value.status) == ("promotion.already_exists", 409)

    await client.remove_price_discount(item.id)
    await client.remove_price_discount(item.id)  # already gone: fine
    (back,) = await client.items([item.id])
    assert (back.price, back.original_price) == (item.price, None)


async def test_orders_in_a_window_come_oldest_first(
    connected: tuple[Rig, MercadoLivreClient],
) -> None:
    _, client = connected
    until = moment(START)
    since = until - timedelta(days=3)
    orders = [o async for o in client.orders(since=since, until=until)]
    assert orders, "the simulated shop sold nothing in three days"
    stamps = [o.created_at for o in orders]
    assert stamps == sorted(stamps) and since <= stamps[0] and stamps[-1] < until
    assert len({o.id for o in orders}) == len(orders)
    assert await client.order(orders[0].id) == orders[0]


async def test_the_ml_settings_point_the_client_at_the_simulator(base_url: str) -> None:
    env = {
        "ML_API_BASE": base_url,
        "ML_AUTH_BASE": base_url,
        "ML_CLIENT_ID": CONFIG.client_id,
        "ML_CLIENT_SECRET": CONFIG.client_secret,
        "ML_RATE_LIMIT": "0",
    }
    store = InMemoryCredentialStore()
    marketplace = MercadoLivreMarketplace.from_settings(Settings.from_env(env), store)
    r = Rig(marketplace, store, Wire(), httpx.AsyncClient())
    client = await connect(r, base_url)
    assert (await client.me()).green
    await marketplace.aclose()
    await r.http.aclose()


async def test_two_processes_share_a_sellers_rate_through_redis(
    connected: tuple[Rig, MercadoLivreClient],
) -> None:
    first, _ = connected
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)  # not slept: each wait is the time to the request's slot

    # Two marketplaces with their own Redis connections stand for the API server and a worker.
    redises = [Redis.from_url(REDIS_URL) for _ in range(2)]
    try:
        await redises[0].ping()
    except (RedisError, OSError) as exc:
        require_service(False, f"Redis is not reachable at {REDIS_URL}: {exc}")
    connection = f"shared-{uuid.uuid4().hex}"
    stored = await first.store.load(CONNECTION)
    assert stored is not None
    await first.store.save(replace(stored, connection_id=connection))
    settings = replace(first.marketplace.settings, rate_limit=2)
    clients = [
        MercadoLivreMarketplace(
            settings,
            first.store,
            sender=Sender(first.http, settings),
            limiter_factory=redis_limiters(redis, sleep=record),
        ).client(connection)
        for redis in redises
    ]
    for turn in range(6):
        await clients[turn % 2].me()
    # The first request went at once; each later one, from either process, queued 0.5 s
    # behind the previous one (less the real time the calls took).
    assert len(waits) == 5
    assert waits == sorted(waits) and waits[-1] == pytest.approx(2.5, abs=0.4)
    for redis in redises:
        await redis.aclose()
