"""Per-request context: the container, the caller (from the bearer token) and DataLoaders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from domain.errors import DomainError, Unauthenticated
from domain.model.accounts import Account, Principal, User

if TYPE_CHECKING:
    from domain.views import Views
    from server.bootstrap import Container
    from server.schema.loaders import Loaders
    from server.schema.marketplace_loaders import ShopLoaders


@dataclass
class Context:
    """What every resolver gets as `info.context`."""

    container: Container
    authorization: str | None = None
    request: Any = None
    response: Any = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    connection_params: dict[str, Any] | None = None  # WebSocket connection_init payload
    _principal: Principal | None = None
    _user: User | None = None
    _auth_error: DomainError | None = None
    _loaders: Loaders | None = None
    _accounts: DataLoader[str, Account | None] | None = None
    _shop: ShopLoaders | None = None

    async def authenticate(self) -> None:
        """Check the bearer token once per request (or WebSocket): signature, expiry, and
        against the database the user, their token version and their session. A failure is
        kept and raised only when a resolver needs the caller (signUp and login do not)."""
        self._principal = self._user = self._auth_error = None
        if not self.authorization:
            return
        try:
            token = bearer_token(self.authorization)
            self._principal, self._user = await self.container.accounts.authenticate_user(token)
        except DomainError as exc:
            self._auth_error = exc

    @property
    def principal(self) -> Principal:
        """The authenticated caller; Unauthenticated when the token is missing or bad."""
        if self._principal is None:
            if self._auth_error is not None:
                raise type(self._auth_error)(self._auth_error.message, self._auth_error.field)
            bearer_token(self.authorization)  # raises: no or malformed header
            raise Unauthenticated("Sign in first.")  # authenticate() was not awaited
        return self._principal

    @property
    def user(self) -> User:
        """The caller's user row, as loaded by authentication (no second query)."""
        self.principal  # noqa: B018  (raises when not authenticated)
        assert self._user is not None
        return self._user

    @property
    def client_ip(self) -> str:
        """The caller's address, as the rate-limit middleware resolved it."""
        scope = getattr(self.request, "scope", None) or {}
        known = (scope.get("state") or {}).get("client_ip")
        if known:
            return str(known)
        from server.ratelimit import client_ip

        limits = self.container.ratelimits
        return client_ip(scope, limits.proxies if limits else ())

    @property
    def accounts(self) -> DataLoader[str, Account | None]:
        """Accounts by id; needs no caller, since only an account's own users reach it."""
        if self._accounts is None:
            from server.schema.loaders import by_key

            self._accounts = by_key(self.container.accounts.accounts_by_id)
        return self._accounts

    @property
    def views(self) -> Views:
        """What the caller's account holds, read-only (scoped once, here)."""
        return self.loaders.views

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from server.schema.loaders import Loaders

            self._loaders = Loaders(self.container.views(self.principal))
        return self._loaders

    @property
    def shop(self) -> ShopLoaders:
        """The marketplace store's loaders over the caller's shop (issue 9)."""
        if self._shop is None:
            from server.schema.marketplace_loaders import ShopLoaders

            parts = self.container.marketplace
            assert parts is not None, "the container was built without the marketplace slice"
            self._shop = ShopLoaders(parts.views(self.principal), self.container.clock.now())
        return self._shop


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("Sign in first: send the header Authorization: Bearer <accessToken>.")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must look like 'Bearer <accessToken>'.")
    return token.strip()


Info = StrawberryInfo[Context, None]
