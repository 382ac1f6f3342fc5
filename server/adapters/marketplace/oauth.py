"""OAuth 2.0 with Mercado Livre: PKCE (S256), state, the token endpoint, and a connection's
access token refreshed single-flight.

A refresh token is single-use: two refreshes with the same one lose one (`invalid_grant`), and
a lost answer loses the seller's authorization. So a refresh runs inside the credential store's
`refreshing(connection_id)` (a lock across tasks and processes), re-reads the credentials first
(another refresher may have won), and once sent is finished and saved even if the caller is
cancelled.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from domain.marketplace import (
    CredentialStore,
    MarketplaceAuthorizationLost,
    MarketplaceError,
    MarketplaceRefused,
    StoredCredentials,
    TokenGrant,
)
from domain.ports import Clock
from server.adapters.marketplace import wire
from server.adapters.marketplace.errors import error_code, refusal
from server.adapters.marketplace.transport import (
    UNTHROTTLED,
    ClientSettings,
    Limiter,
    Sender,
)

log = logging.getLogger(__name__)


def new_state() -> str:
    """An unguessable `state` that ties the callback to the browser that started the flow."""
    return secrets.token_urlsafe(32)


def new_code_verifier() -> str:
    """A PKCE code verifier: 86 characters of the unreserved set (RFC 7636 wants 43 to 128)."""
    return secrets.token_urlsafe(64)


def code_challenge(verifier: str) -> str:
    """The S256 challenge: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    settings: ClientSettings, *, state: str, code_challenge: str, redirect_uri: str
) -> str:
    """Where to send the seller's browser to grant access (answered on `redirect_uri`)."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": _configured(settings).client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{settings.auth_base}/authorization?{query}"


def _configured(settings: ClientSettings) -> ClientSettings:
    if not settings.client_id or not settings.client_secret:
        raise MarketplaceError(
            "The Mercado Livre app is not configured: set ML_CLIENT_ID and ML_CLIENT_SECRET"
        )
    return settings


class TokenEndpoint:
    """`POST {api}/oauth/token`: the code exchange and refreshes."""

    def __init__(self, sender: Sender, settings: ClientSettings, clock: Clock) -> None:
        self._sender = sender
        self._settings = settings
        self._clock = clock

    async def exchange_code(
        self, *, code: str, code_verifier: str, redirect_uri: str
    ) -> TokenGrant:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        try:
            return await self._post(form, UNTHROTTLED)
        except MarketplaceAuthorizationLost as exc:
            # At the callback an `invalid_grant` is a used, expired or mismatched code.
            raise MarketplaceRefused(
                "Mercado Livre refused the sign-in: the authorization code is used, expired or "
                "does not match this request; start connecting again (invalid_grant)",
                code="invalid_grant",
            ) from exc

    async def refresh(self, refresh_token: str, limiter: Limiter) -> TokenGrant:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return await self._post(form, limiter)

    async def _post(self, form: dict[str, str], limiter: Limiter) -> TokenGrant:
        settings = _configured(self._settings)
        form = {**form, "client_id": settings.client_id, "client_secret": settings.client_secret}
        request = self._sender.http.build_request(
            "POST", f"{settings.api_base}/oauth/token", data=form
        )
        response = await self._sender.send(request, limiter=limiter, action="the sign-in")
        if response.is_success:
            return wire.token_grant(response.json(), self._clock.now())
        if error_code(response)[0] == "invalid_grant":
            raise MarketplaceAuthorizationLost(
                "Mercado Livre no longer accepts this seller's authorization (invalid_grant); "
                "connect the seller again"
            )
        raise refusal(response, "the sign-in")


class SellerTokens:
    """One connection's access token: loaded from the store, refreshed single-flight.

    The credentials are kept in `cache` (shared by a marketplace's clients) so a call does not
    read the store each time; a 401 or an expiry always re-reads it, which is how a pair saved
    by another process (a refresh, a reconnection) is picked up.
    """

    def __init__(
        self,
        connection_id: str,
        store: CredentialStore,
        endpoint: TokenEndpoint,
        clock: Clock,
        *,
        margin: timedelta,
        limiter: Limiter,
        cache: dict[str, StoredCredentials] | None = None,
    ) -> None:
        self.connection_id = connection_id
        self._cache = {} if cache is None else cache
        self._store = store
        self._endpoint = endpoint
        self._clock = clock
        self._margin = margin
        self._limiter = limiter

    async def access_token(self) -> str:
        """A token to call with; refreshed first when it expires within the margin."""
        credentials = self._cache.get(self.connection_id) or await self._load()
        if self._expiring(credentials):
            return await self.refresh_after(credentials.access_token)
        return credentials.access_token

    async def refresh_after(self, failed_token: str) -> str:
        """A token newer than `failed_token`: another refresher's, or a refresh of our own."""
        async with self._store.refreshing(self.connection_id):
            credentials = await self._load()
            if credentials.access_token != failed_token and not self._expiring(credentials):
                return credentials.access_token
            exchange = asyncio.ensure_future(self._exchange(credentials))
            try:
                return await asyncio.shield(exchange)
            except asyncio.CancelledError:
                # Keep the lock until the new pair is saved: the old refresh token is spent.
                await asyncio.wait({exchange})
                if not exchange.cancelled() and exchange.exception() is not None:
                    log.warning(
                        "marketplace.refresh_failed",
                        extra={"connection_id": self.connection_id},
                    )
                raise

    async def _exchange(self, credentials: StoredCredentials) -> str:
        grant = await self._endpoint.refresh(credentials.refresh_token, self._limiter)
        fresh = StoredCredentials(
            connection_id=self.connection_id,
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            expires_at=grant.expires_at,
        )
        await self._store.save(fresh)
        self._cache[self.connection_id] = fresh
        log.info("marketplace.token_refreshed", extra={"connection_id": self.connection_id})
        return grant.access_token

    async def _load(self) -> StoredCredentials:
        credentials = await self._store.load(self.connection_id)
        if credentials is None:
            self._cache.pop(self.connection_id, None)
            raise MarketplaceAuthorizationLost(
                "This marketplace connection has no authorization; connect the seller again"
            )
        self._cache[self.connection_id] = credentials
        return credentials

    def _expiring(self, credentials: StoredCredentials) -> bool:
        return credentials.expires_at - self._margin <= self._clock.now()
