"""Accounts, users and authentication: me, signUp, login, refreshToken, addUser."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.errors import NotFound
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

    @classmethod
    def of(cls, session: Session) -> AuthPayload:
        return cls(
            access_token=session.tokens.access_token,
            refresh_token=session.tokens.refresh_token,
            user=UserType.of(session.user),
        )


@strawberry.input
class SignUpInput:
    account_name: str
    email: str
    password: str


@strawberry.input
class LoginInput:
    email: str
    password: str


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


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in user.")
    async def me(self, info: Info) -> UserType:
        user = await info.context.container.accounts.me(info.context.principal)
        return UserType.of(user)


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Open a new seller account; you become its OWNER.")
    async def sign_up(self, info: Info, input: SignUpInput) -> AuthPayload:
        session = await info.context.container.accounts.sign_up(
            input.account_name, input.email, input.password
        )
        return AuthPayload.of(session)

    @strawberry.mutation(description="Exchange e-mail and password for tokens.")
    async def login(self, info: Info, input: LoginInput) -> AuthPayload:
        session = await info.context.container.accounts.login(input.email, input.password)
        return AuthPayload.of(session)

    @strawberry.mutation(description="Exchange a refresh token for a new token pair.")
    async def refresh_token(self, info: Info, input: RefreshTokenInput) -> AuthPayload:
        session = await info.context.container.accounts.refresh(input.refresh_token)
        return AuthPayload.of(session)

    @strawberry.mutation(description="OWNER only: add a user to your account.")
    async def add_user(self, info: Info, input: AddUserInput) -> AddUserPayload:
        user = await info.context.container.accounts.add_user(
            info.context.principal, input.email, input.password, input.role
        )
        return AddUserPayload(user=UserType.of(user))
