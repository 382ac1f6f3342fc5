"""startRun is atomic: the run, its first event and the intent to enqueue it are stored in one
transaction. A database failure leaves nothing; a queue that is down leaves a durable run that
starts once the queue is back (the sweeper relays the outbox)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.e2e.runs.conftest import Stack
from tests.e2e.runs.data import demand_csv
from tests.e2e.runs.helpers import collect_events, regression_experiment, start_run, wait_for
from tests.e2e.runs.stacks import OwnRedis, own_stack
from tests.support.api import Api, operation

FAILING_EVENTS = {
    "sqlite": [
        "CREATE TRIGGER fail_run_events BEFORE INSERT ON run_events "
        "BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION fail_run_events() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'disk full (test)'; END $$",
        "CREATE TRIGGER fail_run_events BEFORE INSERT ON run_events "
        "FOR EACH ROW EXECUTE FUNCTION fail_run_events()",
    ],
}
DROP = {
    "sqlite": ["DROP TRIGGER fail_run_events"],
    "postgresql": [
        "DROP TRIGGER fail_run_events ON run_events",
        "DROP FUNCTION fail_run_events()",
    ],
}


async def _execute(url: str, statements: list[str]) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _count(url: str, sql: str, **params: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(text(sql), params)).scalar_one())
    finally:
        await engine.dispose()


async def test_a_database_failure_in_start_run_leaves_nothing(stack: Stack, stack_api: Api) -> None:
    api = stack_api
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, demand_csv(rows=100))
    url = stack.settings.database_url
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    await _execute(url, FAILING_EVENTS[dialect])  # the event insert fails, mid-transaction
    try:
        error = await api.fail(
            operation("StartRun"),
            {"input": {"experimentId": experiment_id, "budget": {"maxTrials": 1}}},
            seller.token,
        )
    finally:
        await _execute(url, DROP[dialect])
    # SQLite reports a trigger abort as a constraint failure (CONFLICT), PostgreSQL as an
    # internal error; either way the mutation failed with a code.
    assert error["extensions"]["code"] in {"INTERNAL_SERVER_ERROR", "CONFLICT"}, error
    runs = await _count(url, "SELECT count(*) FROM runs WHERE experiment_id = :e", e=experiment_id)
    assert runs == 0, "a failed startRun left a run behind"
    outbox = await _count(
        url,
        "SELECT count(*) FROM run_outbox o JOIN runs r ON r.id = o.run_id "
        "WHERE r.experiment_id = :e",
        e=experiment_id,
    )
    assert outbox == 0
    # And the experiment still takes runs.
    run = await start_run(api, seller, experiment_id, max_trials=1)
    assert run["status"] == "QUEUED"


async def test_start_run_with_the_queue_down_is_durable_and_runs_later(tmp_path: Path) -> None:
    redis_server = OwnRedis(tmp_path)
    redis_server.start()
    env = {"HEARTBEAT_TIMEOUT_SECONDS": "20"}
    try:
        async with (
            own_stack(tmp_path, "production", env, redis_url=redis_server.url) as stack,
            httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http,
        ):
            api = Api(http)
            seller = await api.sign_up()
            experiment_id = await regression_experiment(api, seller, demand_csv(rows=100))
            redis_server.kill()
            run = await start_run(api, seller, experiment_id, max_trials=2)
            assert run["status"] == "QUEUED"  # answered, and stored
            redis_server.start()  # empty: the job was never enqueued
            finished = await wait_for(api, seller, run["id"], {"SUCCEEDED", "FAILED"}, 180)
            assert finished["status"] == "SUCCEEDED", finished["error"]
            assert finished["attempt"] == 1
            events = await collect_events(stack.base_url, seller, run["id"], after_seq=0)
            assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
            assert events[0]["data"]["status"] == "QUEUED"
    finally:
        redis_server.kill()


@pytest.mark.parametrize("stack", ["production"], indirect=True)
async def test_enqueued_runs_leave_no_outbox_entries(stack: Stack, stack_api: Api) -> None:
    seller = await stack_api.sign_up()
    experiment_id = await regression_experiment(stack_api, seller, demand_csv(rows=100))
    run = await start_run(stack_api, seller, experiment_id, max_trials=1)
    await wait_for(stack_api, seller, run["id"], {"SUCCEEDED"})
    url = stack.settings.database_url
    left = await _count(url, "SELECT count(*) FROM run_outbox WHERE run_id = :r", r=run["id"])
    assert left == 0
