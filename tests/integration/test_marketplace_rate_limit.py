"""A seller's marketplace rate limit shared through Redis by several processes' limiters."""

from __future__ import annotations

import os
import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.adapters.marketplace.redis_rate import RedisRateLimiter
from tests.support.services import require_service

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/6")

pytestmark = pytest.mark.redis


async def reachable(redis: Redis) -> None:
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        require_service(False, f"Redis is not reachable at {REDIS_URL}: {exc}")


async def test_two_processes_limiters_share_one_sellers_slots() -> None:
    # Two Redis connections stand for two processes (the API server and a worker).
    first, second = Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)
    await reachable(first)
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)  # not slept: each wait is the time to this request's slot

    connection = f"conn-{uuid.uuid4().hex}"
    limiters = [RedisRateLimiter(r, connection, 10, sleep=record) for r in (first, second)]
    for turn in range(6):
        await limiters[turn % 2].acquire()
    # The first request goes at once; the others queue 100 ms apart whichever process sends.
    assert waits == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5], abs=0.05)
    other = RedisRateLimiter(first, f"conn-{uuid.uuid4().hex}", 10, sleep=record)
    await other.acquire()
    assert len(waits) == 5  # another seller does not wait for this one
    await first.aclose()
    await second.aclose()


async def test_an_unreachable_redis_falls_back_to_the_process_limit() -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    limiter = RedisRateLimiter(redis, "conn", 5, sleep=record)
    for _ in range(3):
        await limiter.acquire()
    assert waits == pytest.approx([0.2, 0.4], abs=0.05)
    await redis.aclose()
