"""Signing up, signing in, refreshing tokens and managing an account's users."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import Conflict, Unauthenticated
from domain.model.accounts import (
    Account,
    Principal,
    Role,
    User,
    check_password,
    clean_email,
)
from domain.pagination import Page, PageRequest
from domain.ports import Clock, PasswordHasher, TokenPair, TokenService, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Session:
    """What a successful sign-up, login or refresh returns."""

    user: User
    tokens: TokenPair


class AccountService:
    """Accounts, users and their credentials."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        tokens: TokenService,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        self._tokens = tokens
        self._dummy_hash: str | None = None

    async def sign_up(self, account_name: str, email: str, password: str) -> Session:
        """Open a new account with its first user as OWNER."""
        now = self._clock.now()
        account = Account.open(account_name, now)
        address = clean_email(email)
        check_password(password)
        password_hash = await self._hasher.hash(password)
        async with self._uow() as uow:
            if await uow.users.get_by_email(address) is not None:
                raise Conflict("An account already uses this e-mail; log in instead.", "email")
            user = User(account.id, address, password_hash, Role.OWNER, now)
            await uow.accounts.add(account)
            await uow.users.add(user)
            await uow.commit()
        return Session(user, self._tokens.issue(user))

    async def login(self, email: str, password: str) -> Session:
        """Exchange e-mail and password for tokens."""
        address = (email or "").strip().lower()
        async with self._uow() as uow:
            user = await uow.users.get_by_email(address)
        if user is None:
            # Spend the same time as a real check so that timing does not reveal who exists.
            await self._hasher.verify(await self._dummy(), password)
            raise Unauthenticated("Wrong e-mail or password.")
        if not await self._hasher.verify(user.password_hash, password):
            raise Unauthenticated("Wrong e-mail or password.")
        return Session(user, self._tokens.issue(user))

    async def refresh(self, refresh_token: str) -> Session:
        """Exchange a valid refresh token for a new pair, with the user's current role."""
        principal = self._tokens.principal_from_refresh(refresh_token)
        async with self._uow() as uow:
            user = await uow.users.get(principal.account_id, principal.user_id)
        if user is None:
            raise Unauthenticated("This user no longer exists; sign in again.")
        return Session(user, self._tokens.issue(user))

    def authenticate(self, access_token: str) -> Principal:
        """The caller behind an access token (Unauthenticated when it is not valid)."""
        return self._tokens.principal_from_access(access_token)

    async def add_user(self, principal: Principal, email: str, password: str, role: Role) -> User:
        """An OWNER adds a user to their own account."""
        principal.require_owner()
        address = clean_email(email)
        check_password(password)
        password_hash = await self._hasher.hash(password)
        async with self._uow() as uow:
            if await uow.users.get_by_email(address) is not None:
                raise Conflict("A user with this e-mail already exists.", field="email")
            user = User(principal.account_id, address, password_hash, role, self._clock.now())
            await uow.users.add(user)
            await uow.commit()
        return user

    async def me(self, principal: Principal) -> User:
        async with self._uow() as uow:
            user = await uow.users.get(principal.account_id, principal.user_id)
        if user is None:
            raise Unauthenticated("This user no longer exists; sign in again.")
        return user

    async def users(
        self, principal: Principal, request: PageRequest, role: Role | None = None
    ) -> Page[User]:
        async with self._uow() as uow:
            return await uow.users.page(principal.account_id, request, role)

    async def accounts_by_id(self, ids: Sequence[str]) -> dict[str, Account]:
        async with self._uow() as uow:
            return await uow.accounts.get_many(ids)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self._hasher.hash("not-a-real-password")
        return self._dummy_hash
