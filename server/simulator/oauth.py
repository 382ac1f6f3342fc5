"""OAuth 2.0 authorization code with PKCE (S256), single-use codes and refresh tokens."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import ApiError

CODE_SECONDS = 600
SCOPE = "offline_access read write"


@dataclass(slots=True)
class _Code:
    user_id: int
    redirect_uri: str
    challenge: str
    expires: float


def _invalid_grant(message: str) -> ApiError:
    return ApiError(400, "invalid_grant", message)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class OAuthServer:
    """Codes, access tokens (expire after `access_seconds` of real time) and refresh tokens.

    Every check-and-consume runs without an await in between, so of two concurrent refreshes
    with the same token exactly one wins.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        access_seconds: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_seconds = access_seconds
        self._monotonic = monotonic
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, tuple[int, float]] = {}
        self._refresh: dict[str, int] = {}

    def authorize(self, params: Mapping[str, str], user_id: int) -> str:
        """A code for `user_id` (the simulator approves at once); returns the redirect URL."""
        if params.get("response_type") != "code":
            raise ApiError(400, "unsupported_response_type", "response_type must be code")
        if params.get("client_id") != self.client_id:
            raise ApiError(400, "invalid_client", "unknown client_id")
        redirect_uri = params.get("redirect_uri", "")
        challenge = params.get("code_challenge", "")
        if not redirect_uri:
            raise ApiError(400, "invalid_request", "redirect_uri is required")
        if not challenge or params.get("code_challenge_method") != "S256":
            raise ApiError(
                400, "invalid_request", "PKCE with code_challenge_method=S256 is required"
            )
        code = f"TG-{secrets.token_hex(12)}-{user_id}"
        self._codes[code] = _Code(user_id, redirect_uri, challenge, self._now() + CODE_SECONDS)
        separator = "&" if "?" in redirect_uri else "?"
        state = params.get("state")
        query = f"code={code}" + (f"&state={_quote(state)}" if state is not None else "")
        return f"{redirect_uri}{separator}{query}"

    def token(self, form: Mapping[str, str]) -> dict[str, object]:
        """`POST /oauth/token` for both grants."""
        if form.get("client_id") != self.client_id or not secrets.compare_digest(
            form.get("client_secret", ""), self.client_secret
        ):
            raise ApiError(401, "invalid_client", "invalid client_id or client_secret")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._exchange(form)
        if grant == "refresh_token":
            user_id = self._refresh.pop(form.get("refresh_token", ""), None)
            if user_id is None:
                raise _invalid_grant("the refresh token is invalid or was already used")
            return self.issue(user_id)
        raise ApiError(400, "unsupported_grant_type", f"unsupported grant_type {grant!r}")

    def _exchange(self, form: Mapping[str, str]) -> dict[str, object]:
        code = self._codes.pop(form.get("code", ""), None)  # single-use, even when refused
        if code is None or code.expires < self._now():
            raise _invalid_grant("the authorization code is invalid, expired or was already used")
        if form.get("redirect_uri") != code.redirect_uri:
            raise _invalid_grant("redirect_uri does not match the authorization request")
        if s256(form.get("code_verifier", "")) != code.challenge:
            raise _invalid_grant("code_verifier does not match the code_challenge")
        return self.issue(code.user_id)

    def issue(self, user_id: int) -> dict[str, object]:
        """A new token pair for `user_id`."""
        access = f"APP_USR-{self.client_id}-{secrets.token_hex(16)}-{user_id}"
        refresh = f"TG-{secrets.token_hex(16)}-{user_id}"
        self._access[access] = (user_id, self._now() + self.access_seconds)
        self._refresh[refresh] = user_id
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.access_seconds,
            "scope": SCOPE,
            "user_id": user_id,
            "refresh_token": refresh,
        }

    def user_for(self, authorization: str | None) -> int | None:
        """The seller an `Authorization: Bearer` header speaks for, or None."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        entry = self._access.get(authorization[7:].strip())
        if entry is None:
            return None
        if entry[1] <= self._now():
            self._access.pop(authorization[7:].strip(), None)
            return None
        return entry[0]

    def expire_access_tokens(self) -> int:
        """Forced expiry (a fault): every access token issued so far stops working."""
        count = len(self._access)
        self._access.clear()
        return count

    def _now(self) -> float:
        return self._monotonic()


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
