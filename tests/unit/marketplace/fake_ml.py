"""A scripted Mercado Livre behind `httpx.MockTransport` (the remote API is the one thing we fake).

It checks bearer tokens, runs single-use refresh tokens like the real token endpoint, counts
refresh exchanges, and lets a test queue answers per route (`script`) ahead of the default.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx

from domain.marketplace import StoredCredentials
from server.adapters.marketplace.memory_credentials import InMemoryCredentialStore
from server.adapters.marketplace.mercadolivre import MercadoLivreClient, MercadoLivreMarketplace
from server.adapters.marketplace.transport import ClientSettings, RateLimiter, Sender
from tests.unit.fakes import FrozenClock

API = "https://api.test"
AUTH = "https://auth.test"
USER_ID = 123456789
CONNECTION = "conn-1"

Handler = Callable[[httpx.Request], httpx.Response]


def answer(status: int, body: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {}, headers=headers)


def refused(status: int, code: str, message: str = "refused") -> httpx.Response:
    return answer(status, {"message": message, "error": code, "status": status, "cause": []})


class FakeMercadoLivre:
    """Routes by (method, path); scripted answers first, then the route's handler."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.refreshes = 0
        self.refresh_delay = 0.0  # seconds the token endpoint takes (lets refreshes overlap)
        self.valid_tokens: set[str] = {"AT-0"}
        self.refresh_token = "RT-0"
        self.before: Callable[[httpx.Request], Awaitable[None]] | None = None  # a side effect
        self.scripted: dict[tuple[str, str], deque[httpx.Response | Exception]] = defaultdict(deque)
        self.routes: dict[tuple[str, str], Handler] = {
            ("GET", "/users/me"): lambda _: answer(
                200,
                {
                    "id": USER_ID,
                    "nickname": "LOJA",
                    "site_id": "MLB",
                    "seller_reputation": {"level_id": "5_green"},
                },
            ),
        }

    def script(self, method: str, path: str, *responses: httpx.Response | Exception) -> None:
        """Answers (or transport errors to raise) for the next calls of a route."""
        self.scripted[(method, path)].extend(responses)

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.before is not None:
            await self.before(request)
        key = (request.method, request.url.path)
        if key == ("POST", "/oauth/token"):
            return await self._token(request)
        if (
            request.headers.get("Authorization", "").removeprefix("Bearer ")
            not in self.valid_tokens
        ):
            return refused(401, "unauthorized", "invalid access token")
        if self.scripted[key]:
            scripted = self.scripted[key].popleft()
            if isinstance(scripted, Exception):
                raise scripted
            return scripted
        handler = self.routes.get(key)
        return handler(request) if handler else refused(404, "not_found", "resource not found")

    async def _token(self, request: httpx.Request) -> httpx.Response:
        if self.scripted[("POST", "/oauth/token")]:
            scripted = self.scripted[("POST", "/oauth/token")].popleft()
            if isinstance(scripted, Exception):
                raise scripted
            return scripted
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form.get("client_secret") != "secret":
            return refused(401, "invalid_client", "invalid client")
        if form["grant_type"] == "refresh_token":
            await asyncio.sleep(self.refresh_delay)
            if form["refresh_token"] != self.refresh_token:
                return refused(400, "invalid_grant", "refresh token already used")
        self.refreshes += 1
        access, self.refresh_token = f"AT-{self.refreshes}", f"RT-{self.refreshes}"
        self.valid_tokens = {access}
        return answer(
            200,
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 21600,
                "scope": "offline_access read write",
                "user_id": USER_ID,
                "refresh_token": self.refresh_token,
            },
        )


class Rig:
    """A marketplace on the fake, with a frozen clock and recorded (not slept) backoffs."""

    def __init__(self, fake: FakeMercadoLivre | None = None, **settings: Any) -> None:
        self.fake = fake or FakeMercadoLivre()
        self.clock = FrozenClock(datetime(2026, 11, 25, 12, tzinfo=UTC))
        self.sleeps: list[float] = []
        self.store = InMemoryCredentialStore()
        values: dict[str, Any] = {
            "api_base": API,
            "auth_base": AUTH,
            "client_id": "111",
            "client_secret": "secret",
            "rate_limit": 0,
            "backoff_base": 0.01,
            "backoff_cap": 0.1,
        }
        values.update(settings)
        self.settings = ClientSettings(**values)
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(self.fake))
        sender = Sender(self.http, self.settings, sleep=self._sleep)
        self.marketplace = MercadoLivreMarketplace(
            self.settings, self.store, clock=self.clock, sender=sender
        )

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def connect(
        self, connection_id: str = CONNECTION, *, expires_in: float = 21600
    ) -> MercadoLivreClient:
        await self.store.save(
            StoredCredentials(
                connection_id=connection_id,
                access_token="AT-0",
                refresh_token="RT-0",
                expires_at=self.clock.now() + timedelta(seconds=expires_in),
            )
        )
        return self.marketplace.client(connection_id)

    def limiter(self, rate: float) -> RateLimiter:
        return RateLimiter(rate, sleep=self._sleep, monotonic=lambda: 0.0)


def body(request: httpx.Request) -> dict[str, Any]:
    return dict(json.loads(request.content))
