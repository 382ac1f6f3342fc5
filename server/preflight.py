"""Start-up checks for `serve`, `worker` and `migrate`: the database and Redis answer, the
database exists and (where the command needs it) is migrated. Each failure is one sentence
naming the setting and the fix, instead of a 50-to-185-line traceback."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from pathlib import Path

import redis
from sqlalchemy.engine import URL, make_url

from server.adapters.db.engine import create_engine
from server.health import code_heads, schema_problem, schema_revisions

TIMEOUT_SECONDS = 5.0


class StartupError(RuntimeError):
    """A check failed; the message is one sentence with the fix."""


def check_database(database_url: str, *, migrated: bool) -> None:
    """The database answers; with `migrated`, its schema is at the code's head. A database
    migrated by newer code (a revision this code does not know) is always refused."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        _open_sqlite(url)
    problem = asyncio.run(_schema_problem(database_url, url))
    if problem is None:
        return
    if problem.startswith("ahead"):
        raise StartupError(
            f"The database in DATABASE_URL ({_where(url)}) is {problem}: run the newer version "
            "of mlproject that migrated it, or point DATABASE_URL at another database."
        )
    if migrated:
        raise StartupError(
            f"The database in DATABASE_URL ({_where(url)}) is {problem}: run `mlproject "
            "migrate` (or start with `mlproject serve --migrate`) first."
        )


def check_redis(redis_url: str) -> None:
    """Redis answers PING."""
    client = redis.Redis.from_url(
        redis_url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
    )
    where = _redis_where(client)
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        raise StartupError(
            f"Redis at {where} refused the login ({exc}): fix the password in REDIS_URL."
        ) from exc
    except (redis.RedisError, OSError) as exc:
        raise StartupError(
            f"Cannot reach Redis at {where} (REDIS_URL): {_reason(exc)}; start redis-server "
            "or fix REDIS_URL."
        ) from exc
    finally:
        client.close()


async def _schema_problem(database_url: str, url: URL) -> str | None:
    engine = create_engine(database_url)
    try:
        current = await asyncio.wait_for(schema_revisions(engine), TIMEOUT_SECONDS)
    except (OSError, TimeoutError) as exc:
        raise StartupError(
            f"Cannot reach the database server at {_where(url)} (DATABASE_URL): "
            f"{_reason(exc)}; start PostgreSQL or fix the host and port in DATABASE_URL."
        ) from exc
    except Exception as exc:  # the driver's own errors: missing database, role, password
        raise StartupError(_database_refused(url, exc)) from exc
    finally:
        await engine.dispose()
    code_heads()  # read once here, so the first /health/ready does not pay for it
    return schema_problem(current)


def _database_refused(url: URL, exc: Exception) -> str:
    detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    if "does not exist" in detail and f'database "{url.database}"' in detail:
        return (
            f'PostgreSQL database "{url.database}" does not exist on {_where(url, False)} '
            f"(DATABASE_URL): create it with `createdb -h {url.host or 'localhost'} -p "
            f"{url.port or 5432} -U {url.username or 'postgres'} {url.database}`, then run "
            "`mlproject migrate`."
        )
    return (
        f"The database at {_where(url)} refused the connection (DATABASE_URL): {detail}; "
        "check the user, password and database name in DATABASE_URL."
    )


def _open_sqlite(url: URL) -> None:
    """SQLite: the file can be created and opened (checked with the standard library, so a
    failure is an exception here instead of a traceback from the async driver's thread)."""
    database = url.database or ""
    if database in ("", ":memory:"):
        return
    path = Path(database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(path, timeout=TIMEOUT_SECONDS).close()
    except (OSError, sqlite3.Error) as exc:
        raise StartupError(
            f"Cannot open the SQLite database file {path} (DATABASE_URL): {_reason(exc)}; "
            "point DATABASE_URL at a writable directory."
        ) from exc


def _where(url: URL, with_database: bool = True) -> str:
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    host = f"{url.host or 'localhost'}:{url.port or 5432}"
    return f"{host}/{url.database}" if with_database else host


def _redis_where(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return str(kwargs["path"])
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS:g} s"
    text = str(exc).strip().rstrip(".") or type(exc).__name__
    return text.splitlines()[0]
