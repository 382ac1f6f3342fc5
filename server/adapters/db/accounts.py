"""Accounts and users in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.model.accounts import Account, Role, SessionFamily, User
from domain.pagination import Page, PageRequest
from server.adapters.db.base import SqlRepository
from server.adapters.db.tables import AccountRow, SessionRow, UserRow


@cache
def _token_check() -> Select[Any]:
    """Both primary-key lookups in one statement, built once: this runs on every
    authenticated request."""
    return (
        select(*UserRow.__table__.columns, SessionRow.revoked_at, SessionRow.id.label("session_id"))
        .outerjoin(
            SessionRow,
            and_(SessionRow.id == bindparam("p_session"), SessionRow.user_id == UserRow.id),
        )
        .where(UserRow.id == bindparam("p_user"), UserRow.account_id == bindparam("p_account"))
    )


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
            token_version=row.token_version,
            last_login_at=row.last_login_at,
        )

    def to_values(self, entity: User) -> dict[str, Any]:
        return {
            "id": entity.id,
            "account_id": entity.account_id,
            "email": entity.email,
            "password_hash": entity.password_hash,
            "role": entity.role.value,
            "created_at": entity.created_at,
            "token_version": entity.token_version,
            "last_login_at": entity.last_login_at,
        }

    async def with_email(self, email: str, limit: int) -> list[User]:
        # NULLs (never signed in) last on both databases: order on "is null" first.
        rows = await self.session.scalars(
            select(UserRow)
            .where(UserRow.email == email)
            .order_by(
                UserRow.last_login_at.is_(None),
                UserRow.last_login_at.desc(),
                UserRow.created_at.desc(),
            )
            .limit(limit)
        )
        return [self.to_entity(row) for row in rows]

    async def in_account_with_email(self, account_id: str, email: str) -> User | None:
        row = await self.session.scalar(
            select(UserRow).where(UserRow.account_id == account_id, UserRow.email == email)
        )
        return self.to_entity(row) if row is not None else None

    async def record_login(self, account_id: str, user_id: str, at: datetime) -> None:
        await self.session.execute(
            update(UserRow)
            .where(UserRow.id == user_id, UserRow.account_id == account_id)
            .values(last_login_at=at)
            .execution_options(synchronize_session=False)
        )

    async def for_token(
        self, account_id: str, user_id: str, session_id: str
    ) -> tuple[User, bool] | None:
        params = {"p_account": account_id, "p_user": user_id, "p_session": session_id}
        found = (await self.session.execute(_token_check(), params)).first()
        if found is None:
            return None
        return self.to_entity(found), found.session_id is not None and found.revoked_at is None

    async def lock_owners(self, account_id: str) -> int:
        # FOR UPDATE on PostgreSQL; SQLite serialises writers (and ignores the clause).
        ids = await self.session.scalars(
            select(UserRow.id)
            .where(UserRow.account_id == account_id, UserRow.role == Role.OWNER.value)
            .with_for_update()
        )
        return len(list(ids))

    async def page(self, account_id: str, request: PageRequest, role: Role | None) -> Page[User]:
        where = [UserRow.role == role.value] if role is not None else []
        return await self._page(account_id, request, *where)


class SqlSessionRepository:
    """Refresh-token session families."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, family: SessionFamily) -> None:
        self.session.add(SessionRow(**_session_values(family)))

    async def get(self, account_id: str, session_id: str) -> SessionFamily | None:
        row = await self.session.scalar(
            select(SessionRow).where(
                SessionRow.id == session_id, SessionRow.account_id == account_id
            )
        )
        if row is None:
            return None
        return SessionFamily(
            user_id=row.user_id,
            account_id=row.account_id,
            current_jti=row.current_jti,
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
            id=row.id,
        )

    async def save_if_current(self, family: SessionFamily, expected_jti: str) -> bool:
        result = await self.session.execute(
            update(SessionRow)
            .where(
                SessionRow.id == family.id,
                SessionRow.current_jti == expected_jti,
                SessionRow.revoked_at.is_(None),
            )
            .values(**_session_values(family))
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def save(self, family: SessionFamily) -> None:
        await self.session.execute(
            update(SessionRow)
            .where(SessionRow.id == family.id)
            .values(**_session_values(family))
            .execution_options(synchronize_session=False)
        )


def _session_values(family: SessionFamily) -> dict[str, Any]:
    return {
        "id": family.id,
        "account_id": family.account_id,
        "user_id": family.user_id,
        "current_jti": family.current_jti,
        "created_at": family.created_at,
        "expires_at": family.expires_at,
        "last_used_at": family.last_used_at,
        "revoked_at": family.revoked_at,
    }
