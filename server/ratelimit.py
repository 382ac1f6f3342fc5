"""Rate limits (the `limits` library: memory storage when embedded, Redis with REDIS_URL),
the client address behind trusted proxies, and per-user subscription slots.

Every /graphql request costs one check: per account when it carries a valid access token,
per client IP otherwise (one memory lookup, or one Redis round trip). login and signUp add
strict limits of their own (per IP, and per e-mail for login) in their resolvers.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.errors import DomainError, RateLimited
from server.schema.errors import error_code

if TYPE_CHECKING:
    from domain.services.accounts import AccountService
    from server.config import Settings

log = logging.getLogger("mlproject.ratelimit")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RateLimits:
    """The configured limits over one storage, shared by every request of the process."""

    def __init__(self, settings: Settings) -> None:
        storage: MemoryStorage | RedisStorage
        if settings.redis_url:
            storage = RedisStorage(
                "async+" + settings.redis_url, implementation="redispy", key_prefix="mlp-limits"
            )
        else:
            storage = MemoryStorage()
        self._storage = storage
        # Exact moving windows for the strict limits; one counter per window for the rest.
        self._strict = MovingWindowRateLimiter(storage)
        self._general = FixedWindowRateLimiter(storage)
        self.login_per_ip = parse(settings.rate_limit_login_per_ip)
        self.login_per_email = parse(settings.rate_limit_login_per_email)
        self.signup_per_ip = parse(settings.rate_limit_signup_per_ip)
        self.per_account = parse(settings.rate_limit_per_account)
        self.per_ip = parse(settings.rate_limit_per_ip)
        self.proxies = trusted_networks(settings.trusted_proxies)

    async def check_request(self, client_ip: str, account_id: str | None) -> None:
        """The generous limit every request passes first."""
        if account_id is not None:
            await self._hit(self._general, self.per_account, "account", account_id)
        else:
            await self._hit(self._general, self.per_ip, "ip", client_ip)

    async def check_login(self, client_ip: str, email: str) -> None:
        await self._hit(self._strict, self.login_per_ip, "login-ip", client_ip)
        await self._hit(self._strict, self.login_per_email, "login-email", email.strip().lower())

    async def check_sign_up(self, client_ip: str) -> None:
        await self._hit(self._strict, self.signup_per_ip, "signup-ip", client_ip)

    async def _hit(
        self, limiter: RateLimiter, item: RateLimitItem, scope: str, identity: str
    ) -> None:
        try:
            if await limiter.hit(item, scope, identity):
                return
            reset_at, _ = await limiter.get_window_stats(item, scope, identity)
        except Exception:  # a storage outage must not take the API down with it: fail open
            log.warning("ratelimit.storage_error", exc_info=True, extra={"scope": scope})
            return
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise RateLimited(
            f"Too many requests ({item.amount} per {_window(item)} allowed); "
            f"try again in {retry_after} s.",
            retry_after,
        )


def _window(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return unit if item.multiples == 1 else f"{item.multiples} {unit}s"


def trusted_networks(values: Sequence[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


def client_ip(scope: Scope, proxies: Sequence[IPNetwork]) -> str:
    """The ASGI peer, or, when the peer is a trusted proxy, the nearest untrusted address in
    X-Forwarded-For (read from the right: the left part is whatever the client wrote)."""
    peer = (scope.get("client") or ("unknown", 0))[0]
    if not proxies or not _trusted(peer, proxies):
        return str(peer)
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers") or []
        if name == b"x-forwarded-for"
    ]
    hops = [hop.strip() for line in forwarded for hop in line.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else str(peer)


def _trusted(address: str, proxies: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


class RateLimitMiddleware:
    """Refuses a /graphql request over its generous limit before any work: HTTP 429 with
    Retry-After and a GraphQL error {code: RATE_LIMITED, retryAfter}."""

    def __init__(
        self, app: ASGIApp, limits: RateLimits, accounts: AccountService, path: str = "/graphql"
    ) -> None:
        self.app = app
        self.limits = limits
        self.accounts = accounts
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != self.path:
            await self.app(scope, receive, send)
            return
        ip = client_ip(scope, self.limits.proxies)
        scope.setdefault("state", {})["client_ip"] = ip
        try:
            await self.limits.check_request(ip, self._account_of(scope))
        except RateLimited as exc:
            await _refuse(exc, scope, send)
            return
        await self.app(scope, receive, send)

    def _account_of(self, scope: Scope) -> str | None:
        """The account of a validly signed token (signature and expiry only: cheap)."""
        authorization = dict(scope.get("headers") or []).get(b"authorization")
        if not authorization:
            return None
        scheme, _, token = authorization.decode("latin-1").strip().partition(" ")
        if scheme.lower() != "bearer":
            return None
        try:
            return self.accounts.authenticate(token.strip()).account_id
        except DomainError:
            return None


async def _refuse(exc: RateLimited, scope: Scope, send: Send) -> None:
    from server.http import JSON, negotiate

    accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
    media_type = negotiate(accept) or JSON
    body = json.dumps({"errors": [rate_limited_error(exc)]}).encode()
    headers = [
        (b"content-type", f"{media_type}; charset=utf-8".encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(exc.retry_after).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def rate_limited_error(exc: RateLimited) -> dict[str, Any]:
    return {
        "message": exc.message,
        "extensions": {"code": error_code(exc), "retryAfter": exc.retry_after},
    }


class SubscriptionSlots:
    """Live subscriptions per user in this process, across all of the user's sockets."""

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._live: Counter[str] = Counter()

    def live(self, user_id: str) -> int:
        return self._live[user_id]

    @asynccontextmanager
    async def hold(self, user_id: str) -> AsyncIterator[None]:
        """Take a slot for the subscription's lifetime; refuse past the cap."""
        if self._live[user_id] >= self.per_user:
            raise RateLimited(
                f"You already have {self.per_user} live subscriptions, the most one user may "
                "hold; close one before opening another.",
                retry_after=5,
            )
        self._live[user_id] += 1
        try:
            yield
        finally:
            self._live[user_id] -= 1
            if self._live[user_id] <= 0:
                del self._live[user_id]
