"""A seller's rate limit shared by every process (API servers and workers) through Redis.

The same rule as the in-process `RateLimiter` (each request reserves the next free slot, one
every 1/rate seconds), with the slot kept in Redis and the time taken from Redis (`TIME`), so
processes on different clocks agree. When Redis cannot be reached the process falls back to
its own limiter: the marketplace calls go on, at most a little faster than the shared rate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.adapters.marketplace.transport import Limiter, RateLimiter, Sleep

log = logging.getLogger(__name__)

KEY = "mlp:marketplace:rate:{connection_id}"

# Milliseconds keep every number exact in Lua's doubles (and under %.14g when stored).
_RESERVE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local interval = tonumber(ARGV[1])
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, free)
redis.call('SET', KEYS[1], slot + interval, 'PX', slot + interval - now + 1000)
return slot - now
"""


class RedisRateLimiter:
    """At most `rate` requests per second for one connection, across processes."""

    def __init__(
        self, redis: Redis, connection_id: str, rate: float, *, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._key = KEY.format(connection_id=connection_id)
        self._interval_ms = round(1000 / rate) if rate > 0 else 0
        self._reserve = redis.register_script(_RESERVE)
        self._sleep = sleep
        self._local = RateLimiter(rate, sleep=sleep)

    async def acquire(self) -> None:
        if not self._interval_ms:
            return
        try:
            wait_ms = int(await self._reserve(keys=[self._key], args=[self._interval_ms]))
        except (RedisError, OSError) as exc:
            log.warning("marketplace.rate_limit_local", extra={"key": self._key, "error": str(exc)})
            await self._local.acquire()
            return
        if wait_ms > 0:
            await self._sleep(wait_ms / 1000)


def redis_limiters(
    redis: Redis, *, sleep: Sleep = asyncio.sleep
) -> Callable[[str, float], Limiter]:
    """A `limiter_factory` for `MercadoLivreMarketplace`: one shared limit per connection."""

    def make(connection_id: str, rate: float) -> Limiter:
        return RedisRateLimiter(redis, connection_id, rate, sleep=sleep)

    return make
