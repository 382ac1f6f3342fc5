"""Readiness: the database answers, its schema is at the code's Alembic head, and (production
mode) Redis answers PING. Each check has a short timeout; the code's head is read once."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from redis.asyncio import Redis
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("mlproject.health")
CHECK_TIMEOUT_SECONDS = 2.0


@functools.cache
def _scripts() -> ScriptDirectory:
    from server.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def code_heads() -> tuple[str, ...]:
    """The Alembic head(s) this code needs (cached: reading the scripts takes milliseconds)."""
    return tuple(sorted(_scripts().get_heads()))


def _current(connection: Connection) -> tuple[str, ...]:
    return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


async def schema_revisions(engine: AsyncEngine) -> tuple[str, ...]:
    """The revision(s) the database is at; () when it was never migrated."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


def schema_problem(current: tuple[str, ...]) -> str | None:
    """None when the database is at the code's head; else what is wrong, in a few words."""
    heads = code_heads()
    if current == heads:
        return None
    needs = ", ".join(heads)
    if not current:
        return f"not migrated: code needs {needs}"
    at = ", ".join(current)
    known = all(_known(revision) for revision in current)
    if not known:
        return f"ahead or foreign: at {at}, which this code does not know (it needs {needs})"
    return f"behind: at {at}, code needs {needs}"


def _known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except Exception:  # alembic raises its own errors for unknown or ambiguous ids
        return False


async def _database(engine: AsyncEngine) -> tuple[str, str]:
    try:
        current = await asyncio.wait_for(schema_revisions(engine), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure means "down"; the log says which
        log.warning("readiness: database check failed: %s", exc)
        return "down", "unknown"
    return "up", schema_problem(current) or f"at {', '.join(current)}"


async def _redis(redis: Redis) -> str:
    try:
        await asyncio.wait_for(redis.ping(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        log.warning("readiness: Redis check failed: %s", exc)
        return "down"
    return "up"


async def readiness(engine: AsyncEngine, redis: Redis | None) -> tuple[bool, dict[str, Any]]:
    """(ready, body) for /health/ready; the checks run concurrently."""
    if redis is not None:
        (database, schema), redis_state = await asyncio.gather(_database(engine), _redis(redis))
    else:
        (database, schema), redis_state = await _database(engine), None
    ready = database == "up" and schema.startswith("at ") and redis_state in (None, "up")
    body: dict[str, Any] = {
        "status": "ok" if ready else "unavailable",
        "database": database,
        "schema": schema,
    }
    if redis_state is not None:
        body["redis"] = redis_state
    return ready, body


def readiness_redis(redis_url: str | None) -> Redis | None:
    """A small client for PING only, with short timeouts (None in the embedded mode)."""
    if not redis_url:
        return None
    return Redis.from_url(
        redis_url,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
        socket_timeout=CHECK_TIMEOUT_SECONDS,
        max_connections=4,
    )
