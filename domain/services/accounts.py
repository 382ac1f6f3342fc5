"""Signing up, signing in, sessions (refresh rotation, logout) and managing an account's users.

E-mails are unique per account, not globally: signUp always opens a new account, so it never
tells whether an address is already known. Login tries the password against the users that
share the e-mail (at most `max_accounts_per_email`) and signs in to the most recently used
account it opens, or to the account the caller names.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, field

from domain.errors import Conflict, Forbidden, NotFound, Unauthenticated
from domain.model.accounts import (
    Account,
    Principal,
    RefreshTokenReused,
    Role,
    SessionFamily,
    User,
    check_owner_remains,
    check_password,
    clean_email,
)
from domain.pagination import Page, PageRequest
from domain.ports import (
    Clock,
    PasswordHasher,
    TokenPair,
    TokenService,
    UnitOfWork,
    UnitOfWorkFactory,
)

WRONG_CREDENTIALS = "Wrong e-mail or password."
# One answer for every sign-up or add-user refusal that is not about the input's shape, so
# that it tells nothing about who else uses an address.
REFUSED = (
    "This e-mail address cannot be given another account. Sign in to an account you already "
    "have, or use another e-mail address."
)


@dataclass(frozen=True, slots=True)
class AccountPolicy:
    """Rules set by configuration: the common-password list and the accounts per e-mail."""

    common_passwords: Container[str] = frozenset()
    max_accounts_per_email: int = 10


@dataclass(frozen=True, slots=True)
class Session:
    """What a successful sign-up, login or refresh returns."""

    user: User
    tokens: TokenPair
    # Every account these credentials open, most recently used first (the user's is first).
    account_ids: tuple[str, ...] = field(default_factory=tuple)


class AccountService:
    """Accounts, users, their credentials and sessions."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        tokens: TokenService,
        policy: AccountPolicy | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        self._tokens = tokens
        self._policy = policy or AccountPolicy()
        self._dummy_hash: str | None = None

    async def sign_up(self, account_name: str, email: str, password: str) -> Session:
        """Open a new account with its first user as OWNER, whatever the e-mail."""
        now = self._clock.now()
        account = Account.open(account_name, now)
        address = clean_email(email)
        check_password(password, address, self._policy.common_passwords)
        password_hash = await self._hasher.hash(password)
        async with self._uow() as uow:
            await self._check_room_for(uow, address)
            user = User(account.id, address, password_hash, Role.OWNER, now, last_login_at=now)
            await uow.accounts.add(account)
            await uow.users.add(user)
            await uow.flush()  # the user row before its session row (foreign key)
            tokens = await self._open_session(uow, user)
            await uow.commit()
        return Session(user, tokens, (account.id,))

    async def login(self, email: str, password: str, account_id: str | None = None) -> Session:
        """Exchange e-mail and password (and optionally the account) for tokens."""
        address = (email or "").strip().lower()
        async with self._uow(read_only=True) as uow:
            candidates = await uow.users.with_email(address, self._policy.max_accounts_per_email)
        if account_id is not None:
            candidates = [user for user in candidates if user.account_id == account_id]
        if not candidates:
            # Spend the same time as a real check so that timing does not reveal who exists.
            await self._hasher.verify(await self._dummy(), password)
            raise Unauthenticated(WRONG_CREDENTIALS)
        matches = [u for u in candidates if await self._hasher.verify(u.password_hash, password)]
        if not matches:
            raise Unauthenticated(WRONG_CREDENTIALS)
        user = matches[0]
        async with self._uow() as uow:
            user.last_login_at = self._clock.now()
            await uow.users.record_login(user.account_id, user.id, user.last_login_at)
            tokens = await self._open_session(uow, user)
            await uow.commit()
        return Session(user, tokens, tuple(match.account_id for match in matches))

    async def refresh(self, refresh_token: str) -> Session:
        """Rotate a refresh token: the old one stops working, a reused one revokes its family."""
        claims = self._tokens.read_refresh(refresh_token)
        now = self._clock.now()
        new_token_id = self._tokens.new_token_id()
        async with self._uow() as uow:
            family = await uow.sessions.get(claims.account_id, claims.session_id)
            user = await uow.users.get(claims.account_id, claims.user_id)
            if family is None or user is None or family.user_id != user.id:
                raise Unauthenticated("This session no longer exists; sign in again.")
            try:
                family.rotate(claims.token_id, new_token_id, now)
                if not await uow.sessions.save_if_current(family, claims.token_id):
                    # Another request rotated this same token first: that is reuse too.
                    family.revoke(now)
                    raise RefreshTokenReused(
                        "This refresh token was already used; every token of this session is "
                        "now revoked. Sign in again."
                    )
            except RefreshTokenReused:
                await uow.sessions.save(family)
                await uow.commit()
                raise
            await uow.commit()
        tokens = self._tokens.issue(user, family.id, new_token_id)
        return Session(user, tokens, (user.account_id,))

    async def logout(self, refresh_token: str) -> bool:
        """Revoke the session family of a refresh token (its access tokens stop at once)."""
        claims = self._tokens.read_refresh(refresh_token)
        async with self._uow() as uow:
            family = await uow.sessions.get(claims.account_id, claims.session_id)
            if family is None or family.user_id != claims.user_id:
                raise Unauthenticated("This session no longer exists.")
            family.revoke(self._clock.now())
            await uow.sessions.save(family)
            await uow.commit()
        return True

    def authenticate(self, access_token: str) -> Principal:
        """The caller an access token names, checking only its signature and expiry."""
        return self._tokens.principal_from_access(access_token)

    async def authenticate_user(self, access_token: str) -> tuple[Principal, User]:
        """The caller and their user row: the user must still exist, their session be live
        and their token version unchanged (one indexed lookup)."""
        principal = self._tokens.principal_from_access(access_token)
        async with self._uow(read_only=True) as uow:
            found = await uow.users.for_token(
                principal.account_id, principal.user_id, principal.session_id or ""
            )
        if found is None:
            raise Unauthenticated("This user no longer belongs to the account; sign in again.")
        user, session_live = found
        if not session_live:
            raise Unauthenticated("This session was signed out; sign in again.")
        if user.token_version != principal.token_version:
            raise Unauthenticated(
                "Your access to this account changed (for example your role); refresh your "
                "token or sign in again."
            )
        return principal, user

    async def add_user(self, principal: Principal, email: str, password: str, role: Role) -> User:
        """An OWNER adds a user to their own account."""
        principal.require_owner()
        address = clean_email(email)
        check_password(password, address, self._policy.common_passwords)
        password_hash = await self._hasher.hash(password)
        async with self._uow() as uow:
            if await uow.users.in_account_with_email(principal.account_id, address) is not None:
                raise Conflict("A user of this account already has this e-mail.", field="email")
            await self._check_room_for(uow, address)
            user = User(principal.account_id, address, password_hash, role, self._clock.now())
            await uow.users.add(user)
            await uow.commit()
        return user

    async def remove_user(self, principal: Principal, user_id: str) -> User:
        """An OWNER removes a user; their tokens stop working at once."""
        principal.require_owner()
        async with self._uow() as uow:
            owners = await uow.users.lock_owners(principal.account_id)
            user = await uow.users.get(principal.account_id, user_id)
            if user is None:
                raise NotFound.of("User", user_id)
            check_owner_remains(user, None, owners)
            await uow.users.delete(principal.account_id, user_id)
            await uow.commit()
        return user

    async def change_user_role(self, principal: Principal, user_id: str, role: Role) -> User:
        """An OWNER changes a user's role; tokens issued before stop working at once."""
        principal.require_owner()
        async with self._uow() as uow:
            owners = await uow.users.lock_owners(principal.account_id)
            user = await uow.users.get(principal.account_id, user_id)
            if user is None:
                raise NotFound.of("User", user_id)
            check_owner_remains(user, role, owners)
            user.change_role(role)
            await uow.users.save(user)
            await uow.commit()
        return user

    async def me(self, principal: Principal) -> User:
        async with self._uow(read_only=True) as uow:
            user = await uow.users.get(principal.account_id, principal.user_id)
        if user is None:
            raise Unauthenticated("This user no longer exists; sign in again.")
        return user

    async def users(
        self, principal: Principal, request: PageRequest, role: Role | None = None
    ) -> Page[User]:
        async with self._uow(read_only=True) as uow:
            return await uow.users.page(principal.account_id, request, role)

    async def accounts_by_id(self, ids: Sequence[str]) -> dict[str, Account]:
        async with self._uow(read_only=True) as uow:
            return await uow.accounts.get_many(ids)

    async def _check_room_for(self, uow: UnitOfWork, address: str) -> None:
        cap = self._policy.max_accounts_per_email
        if len(await uow.users.with_email(address, cap)) >= cap:
            raise Forbidden(REFUSED)

    async def _open_session(self, uow: UnitOfWork, user: User) -> TokenPair:
        token_id = self._tokens.new_token_id()
        family = SessionFamily.start(user, token_id, self._clock.now(), self._tokens.refresh_ttl)
        await uow.sessions.add(family)
        return self._tokens.issue(user, family.id, token_id)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self._hasher.hash("not-a-real-password")
        return self._dummy_hash
