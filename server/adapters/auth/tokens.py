"""JWT access and refresh tokens (PyJWT, HS256).

An access token carries the user's role, token version (`ver`) and session family (`sid`);
the server checks both against the database on every request. A refresh token names its
session family and its own id (`jti`): only the family's newest refresh token is accepted.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from domain.errors import Unauthenticated
from domain.model.accounts import Principal, Role, User
from domain.ports import Clock, RefreshClaims, TokenPair

ISSUER = "mlproject"
ALGORITHM = "HS256"
_ACCESS_CLAIMS = ["exp", "iat", "sub", "acc", "typ", "role", "ver", "sid"]
_REFRESH_CLAIMS = ["exp", "iat", "sub", "acc", "typ", "sid", "jti"]
LEEWAY_SECONDS = 10
# Verified access tokens, so that a request's rate-limit key and its authentication (and the
# next requests with the same token) check the signature once: a cache hit only re-checks
# the expiry. Revocation is checked against the database on every request regardless.
VERIFIED_CACHE_SIZE = 4096


class JwtTokenService:
    """Short-lived access tokens carry the role; refresh tokens name a session family."""

    def __init__(
        self,
        secret: str,
        clock: Clock,
        access_ttl: timedelta = timedelta(minutes=15),
        refresh_ttl: timedelta = timedelta(days=7),
    ) -> None:
        self._secret = secret
        self._clock = clock
        self._access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self._verified: OrderedDict[str, Principal] = OrderedDict()

    def new_token_id(self) -> str:
        return secrets.token_urlsafe(24)

    def issue(self, user: User, session_id: str, refresh_token_id: str) -> TokenPair:
        common = {"sub": user.id, "acc": user.account_id, "sid": session_id}
        access = {
            **common,
            "role": user.role.value,
            "ver": user.token_version,
            "jti": uuid.uuid4().hex,
        }
        refresh = {**common, "jti": refresh_token_id}
        return TokenPair(
            access_token=self._encode(access, "access", self._access_ttl),
            refresh_token=self._encode(refresh, "refresh", self.refresh_ttl),
        )

    def principal_from_access(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None and known.expires_at is not None:
            if known.expires_at.timestamp() + LEEWAY_SECONDS > time.time():
                self._verified.move_to_end(token)
                return known
            del self._verified[token]
        principal = self._verify_access(token)
        self._verified[token] = principal
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    def _verify_access(self, token: str) -> Principal:
        claims = self._decode(token, "access", _ACCESS_CLAIMS)
        try:
            role = Role(claims["role"])
        except ValueError as exc:
            raise Unauthenticated("The token names an unknown role.") from exc
        return Principal(
            user_id=str(claims["sub"]),
            account_id=str(claims["acc"]),
            role=role,
            token_version=int(claims["ver"]),
            session_id=str(claims["sid"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )

    def read_refresh(self, token: str) -> RefreshClaims:
        claims = self._decode(token, "refresh", _REFRESH_CLAIMS)
        return RefreshClaims(
            user_id=str(claims["sub"]),
            account_id=str(claims["acc"]),
            session_id=str(claims["sid"]),
            token_id=str(claims["jti"]),
        )

    def _encode(self, claims: dict[str, Any], kind: str, ttl: timedelta) -> str:
        now = self._clock.now()
        claims = {
            **claims,
            "iss": ISSUER,
            "typ": kind,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def _decode(self, token: str, kind: str, required: list[str]) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "typ"], "verify_iat": False},
                leeway=LEEWAY_SECONDS,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated(f"The {kind} token has expired; get a new one.") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"The {kind} token is not valid.") from exc
        if claims["typ"] != kind:
            raise Unauthenticated(f"Expected an {kind} token, got a {claims['typ']} token.")
        if any(name not in claims for name in required):
            # Issued before sessions existed (or forged): the holder must sign in again.
            raise Unauthenticated(f"The {kind} token is from an older version; sign in again.")
        return claims
