"""The SQL credential store, on SQLite and PostgreSQL: tokens encrypted at rest, and refreshes
of one connection single-flight across processes (two containers on one database stand for
two processes: each has its own store, locks and HTTP clients)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from domain.errors import Conflict
from domain.marketplace import MarketplaceAuthorizationLost, StoredCredentials
from domain.model.marketplace import ConnectionStatus, MarketplaceProvider, SyncStatus
from domain.model.shop_sync import SyncJob
from server.adapters.db.credentials import SqlCredentialStore, TokenCipher
from server.bootstrap import Container, build
from server.config import Settings
from server.simulator import SimulatorConfig
from tests.support.simulator import START, running_simulator


@pytest.fixture(scope="module")
def simulator() -> Iterator[str]:
    with running_simulator(SimulatorConfig(seed=9, items=20, start=START)) as url:
        yield url


@pytest_asyncio.fixture
async def two_processes(
    settings: Settings, simulator: str
) -> AsyncIterator[tuple[Container, Container]]:
    shared = dataclasses.replace(settings, simulator_url=simulator)
    first, second = build(shared), build(shared)
    yield first, second
    await first.aclose()
    await second.aclose()


async def _finished(container: Container, job: SyncJob) -> SyncJob:
    for _ in range(2400):
        async with container.uow() as uow:
            stored = await uow.sync_jobs.get(job.account_id, job.id)
        assert stored is not None
        if stored.finished:
            return stored
        await asyncio.sleep(0.05)
    raise AssertionError(f"sync {job.id} did not finish")


async def _connection(container: Container) -> str:
    tag = uuid.uuid4().hex[:8]
    session = await container.accounts.sign_up(f"S{tag}", f"{tag}@example.com", "a long password")
    principal = container.accounts.authenticate(session.tokens.access_token)
    assert container.marketplace is not None
    service = container.marketplace.service
    return (await service.connect(principal, MarketplaceProvider.SIMULATOR)).connection.id


async def test_two_processes_refreshing_after_expiry_make_one_exchange(
    two_processes: tuple[Container, Container], simulator: str
) -> None:
    first, second = two_processes
    connection_id = await _connection(first)
    store = SqlCredentialStore(first.engine, TokenCipher(first.settings.signing_key()))
    before = await store.load(connection_id)
    assert before is not None
    exchanges: list[str] = []

    async def count(request: httpx.Request) -> None:
        if request.url.path.endswith("/oauth/token"):
            exchanges.append(request.url.path)

    def client(container: Container) -> Any:
        assert container.marketplace is not None
        marketplace: Any = container.marketplace.providers.marketplace(
            MarketplaceProvider.SIMULATOR
        )
        # Count token requests on this "process's" connection pool (the adapter's own client).
        marketplace._sender.http.event_hooks["request"] = [count]
        return marketplace.client(connection_id)

    clients = [client(first), client(second)]
    async with httpx.AsyncClient() as http:  # every call now is slow, and every token expired
        await http.post(f"{simulator}/_sim/faults", json={"expire_tokens": True, "latency_ms": 50})
        try:
            # A refresh token is single-use: two refreshes would lose one (invalid_grant, so
            # MarketplaceAuthorizationLost). Four calls from two processes: one exchange.
            profiles = await asyncio.gather(*(c.me() for c in clients * 2))
        finally:
            await http.post(f"{simulator}/_sim/faults", json={"latency_ms": 0})
    assert len({p.user_id for p in profiles}) == 1
    assert len(exchanges) == 1
    after = await store.load(connection_id)
    assert after is not None
    assert after.refresh_token != before.refresh_token
    assert after.access_token != before.access_token


async def test_a_second_holder_waits_for_the_first_and_sees_its_tokens(
    two_processes: tuple[Container, Container],
) -> None:
    first, second = two_processes
    connection_id = await _connection(first)
    cipher = TokenCipher(first.settings.signing_key())
    one, other = SqlCredentialStore(first.engine, cipher), SqlCredentialStore(second.engine, cipher)
    order: list[str] = []
    inside = asyncio.Event()

    async def refresh_slowly() -> None:
        async with one.refreshing(connection_id):
            order.append("first in")
            inside.set()
            await asyncio.sleep(0.3)
            await one.save(
                StoredCredentials(
                    connection_id,
                    "new-access",
                    "new-refresh",
                    datetime.now(UTC) + timedelta(hours=6),
                )
            )
            order.append("first out")

    async def refresh_after() -> None:
        await inside.wait()
        async with other.refreshing(connection_id):
            order.append("second in")
            seen = await other.load(connection_id)
            assert seen is not None and seen.access_token == "new-access"

    await asyncio.gather(refresh_slowly(), refresh_after())
    assert order == ["first in", "first out", "second in"]


async def test_tokens_written_under_another_secret_key_cannot_be_read(
    two_processes: tuple[Container, Container],
) -> None:
    first, _ = two_processes
    connection_id = await _connection(first)
    stranger = SqlCredentialStore(first.engine, TokenCipher("another-secret-key-entirely-0123"))
    with pytest.raises(MarketplaceAuthorizationLost):
        await stranger.load(connection_id)


async def test_a_refused_refresh_revokes_the_connection_and_fails_its_sync(
    two_processes: tuple[Container, Container], simulator: str
) -> None:
    container, _ = two_processes
    assert container.marketplace is not None
    tag = uuid.uuid4().hex[:8]
    session = await container.accounts.sign_up(f"S{tag}", f"{tag}@example.com", "a long password")
    principal = container.accounts.authenticate(session.tokens.access_token)
    service = container.marketplace.service
    connection = (await service.connect(principal, MarketplaceProvider.SIMULATOR)).connection
    store = SqlCredentialStore(container.engine, TokenCipher(container.settings.signing_key()))
    stolen = await store.load(connection.id)
    assert stolen is not None
    async with httpx.AsyncClient() as http:  # someone else spends our refresh token
        spent = await http.post(
            f"{simulator}/oauth/token",
            data={
                "grant_type": "refresh_token",
                "client_id": container.settings.simulator_client_id,
                "client_secret": container.settings.simulator_client_secret,
                "refresh_token": stolen.refresh_token,
            },
        )
        assert spent.status_code == 200
        await http.post(f"{simulator}/_sim/faults", json={"expire_tokens": True})

    job = await service.start_sync(principal, connection.id)
    finished = await _finished(container, job)
    assert finished.status is SyncStatus.FAILED
    assert "connect" in (finished.error or "")
    async with container.uow() as uow:
        revoked = await uow.marketplace_connections.get(principal.account_id, connection.id)
    assert revoked is not None and revoked.status is ConnectionStatus.REVOKED
    with pytest.raises(Conflict):
        await service.start_sync(principal, connection.id)
    again = await service.connect(principal, MarketplaceProvider.SIMULATOR)  # reconnecting
    assert again.connection.id == connection.id
    assert again.connection.status is ConnectionStatus.CONNECTED
