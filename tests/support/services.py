"""Real back ends for the tests: SQLite files and throwaway PostgreSQL databases."""

from __future__ import annotations

import os
import socket
import uuid

import asyncpg
import pytest

POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_service(available: bool, reason: str) -> None:
    """Skip where the service is absent; in CI a missing service is a failure, never a skip."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI must run these tests; .ci/run starts the service)")
    pytest.skip(reason)


async def create_postgres_database() -> str:
    """A new empty database; returns its SQLAlchemy URL."""
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        require_service(False, f"PostgreSQL is not reachable at {POSTGRES_ADMIN_DSN}: {exc}")
        raise
    name = f"mlp_test_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def require_redis(url: str) -> None:
    """Skip (fail in CI) when Redis does not answer at `url`."""
    import redis.asyncio as aioredis

    probe = aioredis.Redis.from_url(url)
    try:
        await probe.ping()
    except (OSError, aioredis.RedisError) as exc:
        require_service(False, f"Redis is not reachable at {url}: {exc}")
    finally:
        await probe.aclose()
