"""Async engine and session factory for PostgreSQL (asyncpg) and SQLite (aiosqlite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from server.adapters.artifacts.private import private_file


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An engine tuned per back end; SQLite gets WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    options: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            private_file(Path(database))  # 0600 before SQLite creates it with its own mode
        options["connect_args"] = {"timeout": 30}
    else:
        # No pre-ping: it costs three round trips (BEGIN, a ping, ROLLBACK) per transaction.
        # A connection the server dropped fails its statement instead; SQLAlchemy then discards
        # every pooled connection as old as it, and the worker's writes retry (`retrying`).
        options.update(pool_size=10, max_overflow=20, pool_recycle=3600)
    engine = create_async_engine(url, **options)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def reading_engine(engine: AsyncEngine) -> AsyncEngine:
    """The engine for reads that write nothing: on PostgreSQL in autocommit, so one query is
    one round trip (no BEGIN, no ROLLBACK). Each statement of a READ COMMITTED transaction
    takes its own snapshot anyway, so reads see what they would inside one. SQLite keeps its
    transaction (there a read transaction is one snapshot, and it costs no round trip)."""
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
