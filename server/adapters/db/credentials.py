"""Marketplace tokens at rest: encrypted, and refreshed by one holder at a time.

Tokens are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under a key
derived by HKDF from SECRET_KEY, so a database dump alone does not give a seller's account.

`refreshing(connection_id)` serialises refreshes of one connection across tasks and processes
(a refresh token is single-use): an asyncio lock in the process, and in the database a
session-level advisory lock (PostgreSQL) or the writer lock (SQLite). Inside it, `load` and
`save` of that connection run on the lock's own connection, so they neither wait for the lock
they are under nor escape it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.marketplace import MarketplaceAuthorizationLost, StoredCredentials
from server.adapters.db.marketplace_tables import MarketplaceCredentialRow


def derive_key(secret: str | bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from SECRET_KEY (HKDF-SHA256)."""
    material = secret.encode() if isinstance(secret, str) else secret
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"mlproject", info=purpose.encode()
    ).derive(material)


class TokenCipher:
    """Encrypts and decrypts short secrets (tokens) with a key derived from SECRET_KEY."""

    def __init__(self, secret: str | bytes) -> None:
        key = derive_key(secret, "marketplace-credentials")
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, value: str) -> str:
        try:
            return self._fernet.decrypt(value.encode()).decode()
        except InvalidToken as exc:
            # Another SECRET_KEY wrote it: the seller has to connect again.
            raise MarketplaceAuthorizationLost(
                "The stored marketplace credentials cannot be read (SECRET_KEY changed?); "
                "connect the marketplace again."
            ) from exc


def _lock_key(connection_id: str) -> int:
    return int.from_bytes(hashlib.sha256(connection_id.encode()).digest()[:8], "big", signed=True)


class SqlCredentialStore:
    """The CredentialStore port on the application database."""

    def __init__(self, engine: AsyncEngine, cipher: TokenCipher) -> None:
        self._engine = engine
        self._cipher = cipher
        self._locks: dict[str, asyncio.Lock] = {}
        self._held: ContextVar[dict[str, AsyncConnection] | None] = ContextVar(
            f"credentials-{id(self)}", default=None
        )
        self._sqlite = engine.dialect.name == "sqlite"

    async def load(self, connection_id: str) -> StoredCredentials | None:
        held = (self._held.get() or {}).get(connection_id)
        if held is not None:
            return await self._load(held, connection_id)
        async with self._engine.connect() as connection:
            return await self._load(connection, connection_id)

    async def _load(
        self, connection: AsyncConnection, connection_id: str
    ) -> StoredCredentials | None:
        row = (
            await connection.execute(
                select(MarketplaceCredentialRow).where(
                    MarketplaceCredentialRow.connection_id == connection_id
                )
            )
        ).first()
        if row is None:
            return None
        return StoredCredentials(
            connection_id=connection_id,
            access_token=self._cipher.decrypt(row.access_token),
            refresh_token=self._cipher.decrypt(row.refresh_token),
            expires_at=row.expires_at,
        )

    async def save(self, credentials: StoredCredentials) -> None:
        held = (self._held.get() or {}).get(credentials.connection_id)
        if held is not None:
            await self._save(held, credentials)
            if not self._sqlite:
                await held.commit()  # PostgreSQL: the advisory lock outlives the commit
            return
        async with self._engine.begin() as connection:
            await self._save(connection, credentials)

    async def _save(self, connection: AsyncConnection, credentials: StoredCredentials) -> None:
        values = {
            "connection_id": credentials.connection_id,
            "access_token": self._cipher.encrypt(credentials.access_token),
            "refresh_token": self._cipher.encrypt(credentials.refresh_token),
            "expires_at": credentials.expires_at,
            "updated_at": datetime.now(UTC),
        }
        make = sqlite_insert if self._sqlite else pg_insert
        statement = make(MarketplaceCredentialRow).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["connection_id"],
            set_={k: v for k, v in values.items() if k != "connection_id"},
        )
        await connection.execute(statement)

    @asynccontextmanager
    async def refreshing(self, connection_id: str) -> AsyncIterator[None]:
        held = self._held.get() or {}
        if connection_id in held:  # re-entered by the holder: it holds the lock already
            yield
            return
        lock = self._locks.setdefault(connection_id, asyncio.Lock())
        async with lock, self._engine.connect() as connection:
            if self._sqlite:
                # The writer lock, held to the end of the block (BEGIN, then a no-op write).
                await connection.execute(
                    update(MarketplaceCredentialRow)
                    .where(MarketplaceCredentialRow.connection_id == connection_id)
                    .values(connection_id=MarketplaceCredentialRow.connection_id)
                )
            else:
                await connection.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": _lock_key(connection_id)}
                )
                await connection.commit()
            token = self._held.set({**held, connection_id: connection})
            try:
                yield
                if self._sqlite:
                    await connection.commit()
            finally:
                self._held.reset(token)
                if not self._sqlite:
                    await connection.rollback()
                    await connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": _lock_key(connection_id)}
                    )
                    await connection.commit()
