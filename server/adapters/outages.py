"""Which failures are outages (worth retrying) rather than bugs: connection trouble with the
database or Redis. The domain's retry policy asks this; it knows no driver."""

from __future__ import annotations

import errno

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

_TRANSIENT_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
}


def _one(exc: BaseException) -> bool:
    if isinstance(
        exc,
        (
            ConnectionError,
            TimeoutError,
            RedisConnectionError,
            RedisTimeoutError,
            OperationalError,
            InterfaceError,
            DisconnectionError,
        ),
    ):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS:
        return True
    module = type(exc).__module__
    # asyncpg's connection errors (ConnectionDoesNotExistError, CannotConnectNowError, ...)
    return module.startswith("asyncpg") and "Connect" in type(exc).__name__


def is_outage(exc: BaseException) -> bool:
    """True for connection trouble, also when wrapped (looks three causes deep)."""
    current: BaseException | None = exc
    for _ in range(4):
        if current is None:
            return False
        if _one(current):
            return True
        current = current.__cause__ or current.__context__
    return False
