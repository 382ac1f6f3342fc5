"""Retries with backoff (429, 5xx, network errors), their bounds, and the per-seller rate limit."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from domain.marketplace import MarketplaceUnavailable
from server.adapters.marketplace.transport import ClientSettings, Sender, retry_after
from tests.unit.marketplace.fake_ml import Rig, answer, refused

START = datetime(2026, 11, 25, 12, tzinfo=UTC)


async def test_a_429_is_retried_no_sooner_than_its_retry_after() -> None:
    rig = Rig()
    client = await rig.connect()
    rig.fake.script(
        "GET", "/users/me", answer(429, {"message": "slow down"}, **{"Retry-After": "2"})
    )
    assert (await client.me()).nickname == "LOJA"
    assert len(rig.fake.calls("GET", "/users/me")) == 2
    assert len(rig.sleeps) == 1 and rig.sleeps[0] >= 2.0


async def test_5xx_answers_then_success_is_a_success() -> None:
    rig = Rig()
    client = await rig.connect()
    rig.fake.script("GET", "/users/me", refused(503, "unavailable"), refused(500, "internal"))
    assert (await client.me()).nickname == "LOJA"
    assert len(rig.fake.calls("GET", "/users/me")) == 3
    assert len(rig.sleeps) == 2


async def test_network_errors_on_a_read_are_retried() -> None:
    rig = Rig()
    client = await rig.connect()
    rig.fake.script("GET", "/users/me", httpx.ReadTimeout("slow"), httpx.ConnectError("refused"))
    assert (await client.me()).nickname == "LOJA"


async def test_exhausted_retries_are_unavailable() -> None:
    rig = Rig(max_attempts=3)
    client = await rig.connect()
    rig.fake.script("GET", "/users/me", *[refused(503, "unavailable")] * 5)
    with pytest.raises(MarketplaceUnavailable, match=r"HTTP 503, 3 attempts"):
        await client.me()
    assert len(rig.fake.calls("GET", "/users/me")) == 3


async def test_a_retry_after_beyond_the_time_budget_gives_up_at_once() -> None:
    rig = Rig(retry_budget=5)
    client = await rig.connect()
    rig.fake.script("GET", "/users/me", answer(429, {}, **{"Retry-After": "60"}))
    with pytest.raises(MarketplaceUnavailable):
        await client.me()
    assert rig.sleeps == []


@pytest.mark.parametrize(
    "failure", [refused(500, "internal"), httpx.ReadTimeout("no answer")], ids=["5xx", "timeout"]
)
async def test_a_post_is_not_sent_twice_after_an_unknown_outcome(
    failure: httpx.Response | Exception,
) -> None:
    # The discount may exist: the caller reconciles instead of risking a second one.
    rig = Rig()
    client = await rig.connect()
    path = "/seller-promotions/items/MLB1"
    rig.fake.script("POST", path, failure)
    with pytest.raises(MarketplaceUnavailable):
        await client.apply_price_discount(
            "MLB1", deal_price=Decimal("89.90"), starts_at=START, ends_at=START
        )
    assert len(rig.fake.calls("POST", path)) == 1


async def test_a_post_is_resent_after_a_429_or_a_refused_connection() -> None:
    rig = Rig()
    client = await rig.connect()
    path = "/seller-promotions/items/MLB1"
    rig.fake.script(
        "POST",
        path,
        answer(429, {}),
        httpx.ConnectError("refused"),
        answer(201, {"price": 89.9, "original_price": 129.9}),
    )
    applied = await client.apply_price_discount(
        "MLB1", deal_price=Decimal("89.90"), starts_at=START, ends_at=START
    )
    assert applied.price == Decimal("89.90")
    assert len(rig.fake.calls("POST", path)) == 3


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    settings = ClientSettings(backoff_base=0.5, backoff_cap=8.0)
    sender = Sender(httpx.AsyncClient(), settings, rng=random.Random(7))
    for attempt in range(1, 9):
        ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
        delays = [sender.backoff(attempt, None) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.2  # spread, not fixed
    assert sender.backoff(1, 3.0) >= 3.0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    def with_header(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value})

    assert retry_after(with_header("3")) == 3.0
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert retry_after(with_header("Wed, 25 Nov 2026 12:00:10 GMT"), now) == 10.0
    assert retry_after(with_header("soon")) is None
    assert retry_after(httpx.Response(429)) is None


async def test_the_rate_limit_spaces_a_sellers_requests() -> None:
    rig = Rig()
    limiter = rig.limiter(5)  # its clock stands still: every wait is recorded
    for _ in range(4):
        await limiter.acquire()
    assert rig.sleeps == pytest.approx([0.2, 0.4, 0.6])


async def test_a_rate_of_zero_is_unthrottled() -> None:
    rig = Rig()
    limiter = rig.limiter(0)
    for _ in range(10):
        await limiter.acquire()
    assert rig.sleeps == []


async def test_clients_of_one_connection_share_its_rate_limit() -> None:
    rig = Rig(rate_limit=5)
    for connection in ("c1", "c2"):
        await rig.connect(connection)
    one, two = rig.marketplace.client("c1"), rig.marketplace.client("c1")
    other = rig.marketplace.client("c2")
    await one.me()
    await other.me()
    assert rig.sleeps == []  # a first request per seller does not wait
    await two.me()
    await one.me()
    # Nothing really sleeps here, so each wait is the time to the next free 0.2 s slot.
    assert rig.sleeps == pytest.approx([0.2, 0.4], abs=0.05)


async def test_a_failing_batch_raises_the_ports_error_not_a_group() -> None:
    rig = Rig(max_attempts=2)
    rig.fake.routes[("GET", "/items")] = lambda _: refused(503, "unavailable")
    client = await rig.connect()
    with pytest.raises(MarketplaceUnavailable):
        await client.items([f"MLB{i}" for i in range(45)])
