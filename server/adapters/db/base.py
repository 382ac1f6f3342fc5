"""What every account-scoped SQL repository shares: get, save, delete, keyset pages.

Reads select the table's columns, not the mapped class: rows become domain values directly,
with no ORM instance, identity map or attribute instrumentation in between. The same queries
run on a session (inside a unit of work) or on a bare connection (the read side, `SqlViews`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from functools import cache
from types import SimpleNamespace
from typing import Any, ClassVar, Generic, Self, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from domain.errors import Conflict
from domain.pagination import Cursor, Page, PageRequest
from server.adapters.db.tables import Base

E = TypeVar("E")
R = TypeVar("R", bound=Base)


@cache
def _select_one(row: type[Base]) -> Select[Any]:
    """The row `p_id` of account `p_account`, built once per table: `get` runs on most
    requests, and an IN list (as `get_many` builds) is rendered anew at each call."""
    table = row.__table__
    return select(*table.columns).where(
        table.c.account_id == bindparam("p_account", type_=table.c.account_id.type),
        table.c.id == bindparam("p_id", type_=table.c.id.type),
    )


CLASH = "This clashes with a change made at the same time; try again."


async def flush_or_conflict(session: AsyncSession) -> None:
    """Send pending writes; a uniqueness race lost to a concurrent writer is a Conflict."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(CLASH) from exc


def split_row(row: Sequence[Any], *groups: Sequence[Any]) -> list[Any]:
    """A row selecting several tables' columns (which share names such as `id`), cut into one
    namespace per group of columns, by position; None for a group an outer join left empty."""
    parts: list[Any] = []
    start = 0
    for columns in groups:
        values = dict(zip((c.key for c in columns), row[start : start + len(columns)], strict=True))
        parts.append(SimpleNamespace(**values) if values.get("id") is not None else None)
        start += len(columns)
    return parts


class FieldMapper(Generic[E, R]):
    """Entity <-> row by the entity's dataclass fields: each field is the row's attribute of
    the same name, and the column types (tables.py) convert enums and value objects. Adding a
    field to an entity means adding its column (and a migration), nothing here."""

    def __init__(self, entity: type[E], row: type[R]) -> None:
        self.entity = entity
        self.row = row
        self.names = tuple(f.name for f in fields(entity))  # type: ignore[arg-type]
        missing = [n for n in self.names if n not in row.__table__.c]
        if missing:
            raise TypeError(f"{row.__name__} has no column for {entity.__name__}.{missing}")

    def to_entity(self, row: R) -> E:
        return self.entity(**{name: getattr(row, name) for name in self.names})

    def to_values(self, entity: E) -> dict[str, Any]:
        return {name: getattr(entity, name) for name in self.names}


class SqlRepository(Generic[E, R]):
    """Account-scoped CRUD and pagination for one entity type mapped to one table.

    Subclasses name the row class, the column lists sort on, and the two conversions.
    """

    row: ClassVar[type[Any]]
    sort_field: ClassVar[str] = "created_at"

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def reading(cls, connection: AsyncConnection) -> Self:
        """A repository for reads only, on a bare connection (no session, no identity map)."""
        return cls(cast(AsyncSession, connection))  # reads use execute/scalar, which both have

    @classmethod
    def columns(cls) -> list[Any]:
        """The row's columns, selected instead of the mapped class (see the module doc)."""
        return [column for column in cls.row.__table__.columns]

    # -- conversions -------------------------------------------------------------------------
    def to_entity(self, row: R) -> E:
        raise NotImplementedError

    def to_values(self, entity: E) -> dict[str, Any]:
        raise NotImplementedError

    # -- columns -----------------------------------------------------------------------------
    # Typed as column expressions, not `InstrumentedAttribute`: mypy applies a descriptor's
    # `__get__` to a property's result, which would make `self._id` a `str`.
    @property
    def _id(self) -> SQLColumnExpression[str]:
        return self.row.id

    @property
    def _account(self) -> SQLColumnExpression[str]:
        return self.row.account_id

    @property
    def _sort(self) -> SQLColumnExpression[Any]:
        return getattr(self.row, self.sort_field)

    def cursor_of(self, entity: E) -> str:
        return Cursor(getattr(entity, self.sort_field), entity.id).encode()  # type: ignore[attr-defined]

    # -- operations --------------------------------------------------------------------------
    async def add(self, entity: E) -> None:
        self.session.add(self.row(**self.to_values(entity)))

    async def save(self, entity: E) -> None:
        values = self.to_values(entity)
        await self.session.execute(
            update(self.row)
            .where(self._id == values["id"], self._account == values["account_id"])
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def get(self, account_id: str, entity_id: str) -> E | None:
        params = {"p_account": account_id, "p_id": entity_id}
        row = (await self.session.execute(_select_one(cast(type[Base], self.row)), params)).first()
        return self.to_entity(cast(Any, row)) if row is not None else None

    async def get_many(self, account_id: str, ids: Sequence[str]) -> dict[str, E]:
        if not ids:
            return {}
        rows = await self.session.execute(
            select(*self.columns()).where(self._account == account_id, self._id.in_(set(ids)))
        )
        return {row.id: self.to_entity(cast(Any, row)) for row in rows}

    async def delete(self, account_id: str, entity_id: str) -> None:
        await self.session.execute(
            delete(self.row).where(self._account == account_id, self._id == entity_id)
        )

    async def _page(
        self, account_id: str, request: PageRequest, *where: ColumnElement[bool]
    ) -> Page[E]:
        """Newest first; `first + 1` rows tell whether there is a next page."""
        conditions = [self._account == account_id, *where]
        total = await self.session.scalar(
            select(func.count()).select_from(self.row).where(*conditions)
        )
        items: list[E] = []
        if request.first > 0:
            query = (
                select(*self.columns())
                .where(*conditions, *self._after(request.after))
                .order_by(self._sort.desc(), self._id.desc())
                .limit(request.first + 1)
            )
            items = [self.to_entity(cast(Any, row)) for row in await self.session.execute(query)]
        return self._make_page(items, request, total or 0)

    async def _pages_by(
        self,
        group: InstrumentedAttribute[str | None],
        account_id: str,
        keys: Sequence[str],
        request: PageRequest,
    ) -> dict[str, Page[E]]:
        """A page per group key in two statements, whatever the number of keys (the group
        column may be nullable: a row whose key is null is in no group)."""
        if not keys:
            return {}
        conditions = [self._account == account_id, group.in_(set(keys))]
        counts = dict(
            (
                await self.session.execute(
                    select(group, func.count()).where(*conditions).group_by(group)
                )
            ).all()
        )
        grouped: dict[str, list[E]] = {key: [] for key in keys}
        if request.first > 0:
            position = (
                func.row_number()
                .over(partition_by=group, order_by=(self._sort.desc(), self._id.desc()))
                .label("position")
            )
            ranked = (
                select(*self.columns(), position)
                .where(*conditions, *self._after(request.after))
                .subquery()
            )
            query = (
                select(*(ranked.c[column.key] for column in self.columns()))
                .where(ranked.c.position <= request.first + 1)
                .order_by(ranked.c[group.key], ranked.c.position)
            )
            for row in await self.session.execute(query):
                grouped[getattr(row, group.key)].append(self.to_entity(cast(Any, row)))
        return {key: self._make_page(grouped[key], request, counts.get(key, 0)) for key in keys}

    def _after(self, cursor: Cursor | None) -> list[ColumnElement[bool]]:
        if cursor is None:
            return []
        return [
            or_(
                self._sort < cursor.at,
                and_(self._sort == cursor.at, self._id < cursor.id),
            )
        ]

    def _make_page(self, items: list[E], request: PageRequest, total: int) -> Page[E]:
        has_next = len(items) > request.first
        items = items[: request.first]
        return Page(
            items=items,
            cursors=[self.cursor_of(item) for item in items],
            has_next_page=has_next,
            total_count=total,
        )
