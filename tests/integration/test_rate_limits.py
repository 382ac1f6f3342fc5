"""The rate limits on both storages: memory (embedded) and Redis (production, shared by every
API process)."""

from __future__ import annotations

import os
import uuid

import pytest

from domain.errors import RateLimited
from server.config import Settings
from server.ratelimit import RateLimits

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


@pytest.fixture(params=["memory", "redis"])
def storage_url(request: pytest.FixtureRequest) -> str | None:
    return REDIS_URL if request.param == "redis" else None


def limits(redis_url: str | None, **values: str) -> RateLimits:
    return RateLimits(Settings(redis_url=redis_url, **values))  # type: ignore[arg-type]


async def test_login_is_limited_per_address_with_a_retry_after(storage_url: str | None) -> None:
    limiter = limits(storage_url, rate_limit_login_per_ip="3/minute")
    address = f"192.0.2.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:6]}"
    for _ in range(3):
        await limiter.check_login(address, f"{uuid.uuid4().hex}@example.com")
    with pytest.raises(RateLimited) as refused:
        await limiter.check_login(address, "another@example.com")
    assert 1 <= refused.value.retry_after <= 60


async def test_two_processes_share_the_redis_counters() -> None:
    account = uuid.uuid4().hex
    first = limits(REDIS_URL, rate_limit_per_account="2/minute")
    second = limits(REDIS_URL, rate_limit_per_account="2/minute")
    await first.check_request("192.0.2.1", account)
    await second.check_request("192.0.2.2", account)
    with pytest.raises(RateLimited):
        await first.check_request("192.0.2.3", account)


async def test_an_unreachable_redis_fails_open() -> None:
    limiter = limits("redis://127.0.0.1:1/0", rate_limit_per_ip="1/minute")
    for _ in range(3):
        await limiter.check_request("192.0.2.1", None)
