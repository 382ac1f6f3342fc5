"""JWT access and refresh tokens (PyJWT, HS256)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import jwt

from domain.errors import Unauthenticated
from domain.model.accounts import Principal, Role, User
from domain.ports import Clock, TokenPair

ISSUER = "mlproject"
ALGORITHM = "HS256"


class JwtTokenService:
    """Short-lived access tokens carry the role; refresh tokens only name the user."""

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
        self._refresh_ttl = refresh_ttl

    def issue(self, user: User) -> TokenPair:
        return TokenPair(
            access_token=self._encode(user, "access", self._access_ttl),
            refresh_token=self._encode(user, "refresh", self._refresh_ttl),
        )

    def principal_from_access(self, token: str) -> Principal:
        return self._decode(token, "access")

    def principal_from_refresh(self, token: str) -> Principal:
        return self._decode(token, "refresh")

    def _encode(self, user: User, kind: str, ttl: timedelta) -> str:
        now = self._clock.now()
        claims = {
            "iss": ISSUER,
            "sub": user.id,
            "acc": user.account_id,
            "role": user.role.value,
            "typ": kind,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def _decode(self, token: str, kind: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={
                    "require": ["exp", "iat", "sub", "acc", "typ", "role"],
                    "verify_iat": False,
                },
                leeway=10,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated(f"The {kind} token has expired; get a new one.") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"The {kind} token is not valid.") from exc
        if claims["typ"] != kind:
            raise Unauthenticated(f"Expected an {kind} token, got a {claims['typ']} token.")
        try:
            role = Role(claims["role"])
        except ValueError as exc:
            raise Unauthenticated("The token names an unknown role.") from exc
        return Principal(user_id=str(claims["sub"]), account_id=str(claims["acc"]), role=role)
