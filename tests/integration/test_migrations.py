"""Alembic migrations produce exactly the schema the code maps, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from server.adapters.db.engine import create_engine
from server.adapters.db.tables import Base
from server.migrate import upgrade_async
from tests.support.services import create_postgres_database, drop_postgres_database


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_database(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/fresh.db"
        return
    url = await create_postgres_database()
    yield url
    await drop_postgres_database(url)


async def test_migrated_schema_equals_the_models(fresh_database: str) -> None:
    await upgrade_async(fresh_database)
    engine = create_engine(fresh_database)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
            tables = await connection.run_sync(_tables)
    finally:
        await engine.dispose()
    assert set(Base.metadata.tables) <= tables


async def test_migrations_go_down_and_up_again(fresh_database: str) -> None:
    await upgrade_async(fresh_database)
    await upgrade_async(fresh_database, "head")  # idempotent
    import asyncio

    from alembic import command

    from server.migrate import alembic_config

    await asyncio.to_thread(command.downgrade, alembic_config(fresh_database), "base")
    engine = create_engine(fresh_database)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) <= {"alembic_version"}
    finally:
        await engine.dispose()
    await upgrade_async(fresh_database)
