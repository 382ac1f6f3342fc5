"""What a trivial run costs the databases, counted: statements, transactions and, on
PostgreSQL and Redis, round trips (each message written to their sockets). Round trips are the
pipeline's main cost (`benchmarks/runs.py`): a regression here shows as a number, not a time.

A run takes two transactions on the worker: the claim (one read of the run, its experiment,
its dataset and the account's running count; the run's save numbering its RUNNING event; the
enqueue intent cleared; the event) and the finish (the save numbering the final event, the
model, the event); startRun one (the experiment, the queued count, the run with its first
event's number, the event, the enqueue intent). No pool pre-ping, no BEGIN for reads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from domain.model.runs import RunConfig, RunStatus
from server.app import create_app
from server.bootstrap import Container
from server.config import Settings
from tests.support.api import Api
from tests.support.seeding import seller_with_experiment

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
POSTGRES_PORT, REDIS_PORT = 5432, int(REDIS_URL.rsplit(":", 1)[1].split("/")[0])


@dataclasses.dataclass
class Cost:
    statements: int = 0
    transactions: int = 0
    round_trips: Counter[int] = dataclasses.field(default_factory=Counter)  # by server port


@contextmanager
def counting(container: Container, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cost]:
    cost = Cost()
    transport = asyncio.selector_events._SelectorSocketTransport  # type: ignore[attr-defined]
    write = transport.write

    def counted_write(self: Any, data: Any) -> None:
        peer = self.get_extra_info("peername") or ("", 0)
        cost.round_trips[peer[1]] += 1
        write(self, data)

    def statement(*_: Any) -> None:
        cost.statements += 1

    def begin(*_: Any) -> None:
        cost.transactions += 1

    engine = container.engine.sync_engine
    monkeypatch.setattr(transport, "write", counted_write)
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "begin", begin)
    try:
        yield cost
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "begin", begin)
        monkeypatch.setattr(transport, "write", write)


async def test_a_trivial_run_costs_three_transactions_and_counted_round_trips(
    pipeline: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    seller = await seller_with_experiment(pipeline)
    principal, experiment_id = seller.principal, seller.experiment.id
    postgres = pipeline.engine.dialect.name == "postgresql"
    for _ in range(2):  # the second run's figures count: its statements are prepared
        with counting(pipeline, monkeypatch) as start:
            run = await pipeline.runs.start(principal, experiment_id, RunConfig())
        with counting(pipeline, monkeypatch) as execute:
            assert await pipeline.execution.execute(run.id, run.attempt) is RunStatus.SUCCEEDED
    assert (start.statements, start.transactions) == (5, 1)
    assert (execute.statements, execute.transactions) == (7, 2)
    # Redis: startRun publishes the QUEUED event and enqueues (one round trip each); the
    # claim and the finish publish one batch of events each.
    assert (start.round_trips[REDIS_PORT], execute.round_trips[REDIS_PORT]) == (2, 2)
    if postgres:  # each statement, plus BEGIN and COMMIT per transaction
        assert (start.round_trips[POSTGRES_PORT], execute.round_trips[POSTGRES_PORT]) == (7, 11)


async def test_an_authenticated_read_is_one_round_trip_on_postgresql(
    settings: Settings, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    if container.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no round trips; its statement count is test_me_costs_one_...")
    transport = httpx.ASGITransport(app=create_app(settings, container))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        api = Api(http)
        seller = await api.sign_up()
        await api.ok("{ me { id } }", {}, seller.token)
        with counting(container, monkeypatch) as cost:
            data = await api.ok("{ me { id email } }", {}, seller.token)
    assert data["me"]["email"] == seller.email
    # The token check is the only statement: no pre-ping, no BEGIN or ROLLBACK around it.
    assert (cost.statements, cost.round_trips[POSTGRES_PORT]) == (1, 1), cost
