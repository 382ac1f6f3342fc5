"""Sending requests to Mercado Livre: one shared httpx client, a per-seller rate limit, and
retries with exponential backoff and full jitter that honour `Retry-After`.

Retries: a 429 is always retried (the request was not processed). A 5xx or a network error is
retried only for idempotent requests (GET, PUT, DELETE); a POST (applying a discount, joining a
promotion, a token exchange) is retried after a 429 or when the connection was never made, and
otherwise fails with `MarketplaceUnavailable`: its outcome is unknown and the caller reconciles
(`item_promotions`) instead of risking a second application.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

import httpx

from domain.marketplace import MarketplaceUnavailable
from server.config import Settings

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
# Errors raised before the request left: safe to retry whatever the method.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """How the adapter talks to Mercado Livre (or the simulator, with other base URLs)."""

    api_base: str = "https://api.mercadolibre.com"
    auth_base: str = "https://auth.mercadolivre.com.br"
    client_id: str = ""
    client_secret: str = ""
    rate_limit: float = 5.0  # requests/s per seller; 0 = unthrottled
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    max_attempts: int = 5
    retry_budget: float = 30.0  # seconds, from the first attempt, that retries may take
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    refresh_margin: float = 300.0  # refresh an access token this many seconds before it expires
    batch_concurrency: int = 4  # `/items?ids=` batches in flight per call

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> ClientSettings:
        values: dict[str, object] = {
            "api_base": settings.ml_api_base,
            "auth_base": settings.ml_auth_base,
            "client_id": settings.ml_client_id or "",
            "client_secret": settings.ml_client_secret or "",
            "rate_limit": settings.ml_rate_limit,
            "connect_timeout": settings.ml_connect_timeout_seconds,
            "read_timeout": settings.ml_read_timeout_seconds,
            "max_attempts": settings.ml_max_attempts,
            "retry_budget": settings.ml_retry_budget_seconds,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def new_http_client(settings: ClientSettings) -> httpx.AsyncClient:
    """The one connection pool every seller's calls share (keep-alive, bounded, with timeouts)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
        headers={"Accept": "application/json", "User-Agent": "mlproject-marketplace/1"},
    )


class Limiter(Protocol):
    """Waits until the next request of one seller may go."""

    async def acquire(self) -> None: ...


class RateLimiter:
    """At most `rate` requests per second, spaced evenly (0: unthrottled).

    Each caller reserves the next free slot before sleeping, so concurrent tasks queue up in
    order without a lock (nothing awaits between reading and moving the next slot).
    """

    def __init__(
        self, rate: float, *, sleep: Sleep = asyncio.sleep, monotonic: Monotonic = time.monotonic
    ) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._sleep = sleep
        self._monotonic = monotonic

    async def acquire(self) -> None:
        if not self._interval:
            return
        now = self._monotonic()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await self._sleep(slot - now)


UNTHROTTLED = RateLimiter(0)


def retry_after(response: httpx.Response, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Sender:
    """Sends one request with the retry policy above; returns the final answer (any status
    that is not retried), or raises `MarketplaceUnavailable` when the attempts or the time
    budget run out."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: ClientSettings,
        *,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        self.http = http
        self.sleep = sleep  # also the rate limiters' (tests record instead of sleeping)
        self._settings = settings
        self._rng = rng or random.Random()
        self._monotonic = monotonic

    def backoff(self, attempt: int, hint: float | None) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))], at least `Retry-After`."""
        ceiling = min(self._settings.backoff_cap, self._settings.backoff_base * 2 ** (attempt - 1))
        delay = self._rng.uniform(0.0, ceiling)
        return max(delay, hint) if hint is not None else delay

    async def send(
        self, request: httpx.Request, *, limiter: Limiter, action: str
    ) -> httpx.Response:
        idempotent = request.method in IDEMPOTENT
        deadline = self._monotonic() + self._settings.retry_budget
        attempts = max(1, self._settings.max_attempts)
        failure = ""
        for attempt in range(1, attempts + 1):
            await limiter.acquire()
            hint: float | None = None
            try:
                response = await self.http.send(request)
            except httpx.TransportError as exc:
                failure = f"{type(exc).__name__}: {exc}".rstrip(": ")
                if not idempotent and not isinstance(exc, NOT_SENT):
                    raise _unavailable(action, failure, attempt) from exc
            else:
                status = response.status_code
                if not (status == 429 or (status >= 500 and idempotent)):
                    return response
                failure, hint = f"HTTP {status}", retry_after(response)
            delay = self.backoff(attempt, hint)
            if attempt == attempts or self._monotonic() + delay > deadline:
                break
            log.warning(
                "marketplace.retry",
                extra={"action": action, "attempt": attempt, "failure": failure, "delay": delay},
            )
            await self.sleep(delay)
        raise _unavailable(action, failure, attempt)


def _unavailable(action: str, failure: str, attempts: int) -> MarketplaceUnavailable:
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    return MarketplaceUnavailable(
        f"Mercado Livre did not answer {action} ({failure}, {tries}); try again later"
    )
