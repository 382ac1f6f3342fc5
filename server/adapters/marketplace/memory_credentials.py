"""Credentials kept in memory: for tests and the embedded single-process server.

Refreshes are serialised per connection with an asyncio lock, which is enough in one process
(the SQL store serialises across processes too).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from domain.marketplace import StoredCredentials


class InMemoryCredentialStore:
    """A `CredentialStore` in a dict; nothing is written anywhere."""

    def __init__(self) -> None:
        self._credentials: dict[str, StoredCredentials] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def load(self, connection_id: str) -> StoredCredentials | None:
        return self._credentials.get(connection_id)

    async def save(self, credentials: StoredCredentials) -> None:
        self._credentials[credentials.connection_id] = credentials

    @asynccontextmanager
    async def refreshing(self, connection_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(connection_id, asyncio.Lock())
        async with lock:
            yield
