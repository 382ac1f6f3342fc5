"""Accounts, users and sessions: me, signUp, login, refreshToken, logout, addUser, removeUser,
changeUserRole."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime

import strawberry

from domain.errors import NotFound, RateLimited
from domain.model.accounts import Account, Role, User
from domain.pagination import PageRequest
from domain.services.accounts import Session
from server.schema.context import Info
from server.schema.pagination import Connection, connection

RoleEnum = strawberry.enum(Role, name="Role", description="What a user may do in an account.")


@strawberry.type(name="Account", description="A seller's workspace.")
class AccountType:
    id: strawberry.ID
    name: str
    created_at: datetime

    @classmethod
    def of(cls, account: Account) -> AccountType:
        return cls(id=strawberry.ID(account.id), name=account.name, created_at=account.created_at)

    @strawberry.field(description="The account's users (any role may list them).")
    async def users(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        role: Role | None = None,
    ) -> Connection[UserType]:
        page = await info.context.container.accounts.users(
            info.context.principal, PageRequest.of(first, after), role
        )
        return connection(page, UserType.of)


@strawberry.type(name="User", description="A person who signs in to an account.")
class UserType:
    id: strawberry.ID
    email: str
    role: RoleEnum  # type: ignore[valid-type]
    created_at: datetime
    account_id: strawberry.Private[str]

    @classmethod
    def of(cls, user: User) -> UserType:
        return cls(
            id=strawberry.ID(user.id),
            email=user.email,
            role=user.role,
            created_at=user.created_at,
            account_id=user.account_id,
        )

    @strawberry.field
    async def account(self, info: Info) -> AccountType:
        account = await info.context.accounts.load(self.account_id)
        if account is None:
            raise NotFound.of("Account", self.account_id)
        return AccountType.of(account)


@strawberry.type
class AuthPayload:
    access_token: str
    refresh_token: str
    user: UserType
    account_ids: strawberry.Private[tuple[str, ...]]

    @classmethod
    def of(cls, session: Session) -> AuthPayload:
        return cls(
            access_token=session.tokens.access_token,
            refresh_token=session.tokens.refresh_token,
            user=UserType.of(session.user),
            account_ids=session.account_ids or (session.user.account_id,),
        )

    @strawberry.field(
        description="Every account these credentials open, most recently used first; the "
        "tokens are for the first. Log in with `accountId` to choose another."
    )
    async def accounts(self, info: Info) -> list[AccountType]:
        found = await info.context.accounts.load_many(list(self.account_ids))
        return [AccountType.of(account) for account in found if account is not None]


@strawberry.input
class SignUpInput:
    account_name: str
    email: str
    password: str


@strawberry.input
class LoginInput:
    email: str
    password: str
    account_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Which account to sign in to when one e-mail has several (default: the "
        "most recently used one the password opens).",
    )


@strawberry.input
class RefreshTokenInput:
    refresh_token: str


@strawberry.input
class AddUserInput:
    email: str
    password: str
    role: RoleEnum  # type: ignore[valid-type]


@strawberry.type
class AddUserPayload:
    user: UserType


@strawberry.input
class LogoutInput:
    refresh_token: str


@strawberry.type
class LogoutPayload:
    revoked: bool = strawberry.field(
        description="The session (this refresh token and every token rotated from it, with "
        "their access tokens) is signed out."
    )


@strawberry.input
class RemoveUserInput:
    user_id: strawberry.ID


@strawberry.type
class RemoveUserPayload:
    user_id: strawberry.ID
    revoked: bool = strawberry.field(description="The user's tokens stopped working.")


@strawberry.input
class ChangeUserRoleInput:
    user_id: strawberry.ID
    role: RoleEnum  # type: ignore[valid-type]


@strawberry.type
class ChangeUserRolePayload:
    user: UserType
    revoked: bool = strawberry.field(
        description="Tokens issued before the change stopped working; the user refreshes them."
    )


async def _limited(info: Info, check: Awaitable[None]) -> None:
    """Run a strict rate-limit check; when refused, the whole answer is a 429."""
    try:
        await check
    except RateLimited as exc:
        response = info.context.response
        if response is not None:
            response.status_code = 429
            response.headers["Retry-After"] = str(exc.retry_after)
        raise


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in user.")
    async def me(self, info: Info) -> UserType:
        return UserType.of(info.context.user)  # loaded (and checked) by authentication


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Open a new seller account; you become its OWNER.")
    async def sign_up(self, info: Info, input: SignUpInput) -> AuthPayload:
        limits = info.context.container.ratelimits
        if limits is not None:
            await _limited(info, limits.check_sign_up(info.context.client_ip))
        session = await info.context.container.accounts.sign_up(
            input.account_name, input.email, input.password
        )
        return AuthPayload.of(session)

    @strawberry.mutation(description="Exchange e-mail and password for tokens.")
    async def login(self, info: Info, input: LoginInput) -> AuthPayload:
        limits = info.context.container.ratelimits
        if limits is not None:
            await _limited(info, limits.check_login(info.context.client_ip, input.email))
        session = await info.context.container.accounts.login(
            input.email, input.password, str(input.account_id) if input.account_id else None
        )
        return AuthPayload.of(session)

    @strawberry.mutation(description="Exchange a refresh token for a new token pair.")
    async def refresh_token(self, info: Info, input: RefreshTokenInput) -> AuthPayload:
        session = await info.context.container.accounts.refresh(input.refresh_token)
        return AuthPayload.of(session)

    @strawberry.mutation(
        description="Sign out: revoke the session of this refresh token (every token rotated "
        "from it, and their access tokens)."
    )
    async def logout(self, info: Info, input: LogoutInput) -> LogoutPayload:
        revoked = await info.context.container.accounts.logout(input.refresh_token)
        return LogoutPayload(revoked=revoked)

    @strawberry.mutation(description="OWNER only: remove a user from your account, at once.")
    async def remove_user(self, info: Info, input: RemoveUserInput) -> RemoveUserPayload:
        user = await info.context.container.accounts.remove_user(
            info.context.principal, str(input.user_id)
        )
        return RemoveUserPayload(user_id=strawberry.ID(user.id), revoked=True)

    @strawberry.mutation(
        description="OWNER only: change a user's role; their old tokens stop working at once."
    )
    async def change_user_role(
        self, info: Info, input: ChangeUserRoleInput
    ) -> ChangeUserRolePayload:
        user = await info.context.container.accounts.change_user_role(
            info.context.principal, str(input.user_id), input.role
        )
        return ChangeUserRolePayload(user=UserType.of(user), revoked=True)

    @strawberry.mutation(description="OWNER only: add a user to your account.")
    async def add_user(self, info: Info, input: AddUserInput) -> AddUserPayload:
        user = await info.context.container.accounts.add_user(
            info.context.principal, input.email, input.password, input.role
        )
        return AddUserPayload(user=UserType.of(user))
