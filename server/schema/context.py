"""Per-request context: the container, the caller (from the bearer token) and DataLoaders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from domain.errors import Unauthenticated
from domain.model.accounts import Account, Principal

if TYPE_CHECKING:
    from server.bootstrap import Container
    from server.schema.loaders import Loaders


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
    _loaders: Loaders | None = None
    _accounts: DataLoader[str, Account | None] | None = None

    @property
    def principal(self) -> Principal:
        """The authenticated caller; Unauthenticated when the token is missing or bad."""
        if self._principal is None:
            self._principal = self.container.accounts.authenticate(bearer_token(self.authorization))
        return self._principal

    @property
    def accounts(self) -> DataLoader[str, Account | None]:
        """Accounts by id; needs no caller, since only an account's own users reach it."""
        if self._accounts is None:
            from server.schema.loaders import by_key

            self._accounts = by_key(self.container.accounts.accounts_by_id)
        return self._accounts

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from server.schema.loaders import Loaders

            self._loaders = Loaders(self.container, self.principal)
        return self._loaders


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("Sign in first: send the header Authorization: Bearer <accessToken>.")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must look like 'Bearer <accessToken>'.")
    return token.strip()


Info = StrawberryInfo[Context, None]
