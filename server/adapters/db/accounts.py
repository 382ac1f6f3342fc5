"""Accounts and users in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.model.accounts import Account, Role, User
from domain.pagination import Page, PageRequest
from server.adapters.db.base import SqlRepository
from server.adapters.db.tables import AccountRow, UserRow


class SqlAccountRepository:
    """Accounts are the tenancy root, so they are not scoped by an account themselves."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, account: Account) -> None:
        self.session.add(
            AccountRow(id=account.id, name=account.name, created_at=account.created_at)
        )

    async def get(self, account_id: str) -> Account | None:
        return (await self.get_many([account_id])).get(account_id)

    async def get_many(self, ids: Sequence[str]) -> dict[str, Account]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(AccountRow).where(AccountRow.id.in_(set(ids))))
        return {r.id: Account(name=r.name, created_at=r.created_at, id=r.id) for r in rows}


class SqlUserRepository(SqlRepository[User, UserRow]):
    row = UserRow

    def to_entity(self, row: UserRow) -> User:
        return User(
            account_id=row.account_id,
            email=row.email,
            password_hash=row.password_hash,
            role=Role(row.role),
            created_at=row.created_at,
            id=row.id,
        )

    def to_values(self, entity: User) -> dict[str, Any]:
        return {
            "id": entity.id,
            "account_id": entity.account_id,
            "email": entity.email,
            "password_hash": entity.password_hash,
            "role": entity.role.value,
            "created_at": entity.created_at,
        }

    async def get_by_email(self, email: str) -> User | None:
        row = await self.session.scalar(select(UserRow).where(UserRow.email == email))
        return self.to_entity(row) if row is not None else None

    async def page(self, account_id: str, request: PageRequest, role: Role | None) -> Page[User]:
        where = [UserRow.role == role.value] if role is not None else []
        return await self._page(account_id, request, *where)
