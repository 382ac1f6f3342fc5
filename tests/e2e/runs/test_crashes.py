"""Crashes: a worker killed mid-training, a server killed mid-run (embedded)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from domain.model.runs import StaleAttempt
from domain.ports import TrialFinished
from server.bootstrap import build
from tests.e2e.runs.conftest import Stack
from tests.e2e.runs.data import demand_csv
from tests.e2e.runs.helpers import (
    collect_events,
    regression_experiment,
    run_state,
    start_run,
    wait_for,
)
from tests.support.api import Api, operation
from tests.support.ws import connect


async def first_trial_and_worker(stack: Stack, token: str, run_id: str) -> str:
    """Follow the run until its first trial; return the worker id that runs it."""
    worker = ""
    async with connect(stack.base_url, token) as connection:
        async for data in connection.subscribe(operation("RunEvents"), {"runId": run_id}):
            event = data["runEvents"]
            if event["type"] == "STATUS" and event["data"]["status"] == "RUNNING":
                worker = event["data"]["worker"]
            if event["type"] == "TRIAL":
                return worker
    raise AssertionError("the run ended before its first trial")


@pytest.mark.parametrize("stack", ["production"], indirect=True)
async def test_a_killed_worker_run_is_retried_by_another_and_succeeds(
    stack: Stack, stack_api: Api
) -> None:
    api = stack_api
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, demand_csv(rows=400))
    run = await start_run(api, seller, experiment_id, max_trials=300, seconds=10)
    worker = await first_trial_and_worker(stack, seller.token, run["id"])
    pid = int(worker.rsplit(":", 1)[1])
    victim = next(name for name, p in stack.processes.items() if p.pid == pid)
    stack.kill(victim)  # SIGKILL: no goodbye, the heartbeat just stops
    try:
        finished = await wait_for(api, seller, run["id"], {"SUCCEEDED", "FAILED"}, within=90)
        assert finished["status"] == "SUCCEEDED", finished["error"]
        assert finished["attempt"] == 2
        models = await api.ok(
            "query($e: ID!) { models(filter: {experimentId: $e}) { totalCount } }",
            {"e": experiment_id},
            seller.token,
        )
        assert models["models"]["totalCount"] == 1

        # The subscription ends with the final event (a query right after SUCCEEDED may run
        # a few milliseconds ahead of the event log).
        events = await collect_events(stack.base_url, seller, run["id"], after_seq=0)
        statuses = [
            (e["data"]["status"], e["data"]["attempt"]) for e in events if e["type"] == "STATUS"
        ]
        assert statuses[:3] == [("QUEUED", 1), ("RUNNING", 1), ("CRASHED", 1)]
        assert statuses[-3:] == [("QUEUED", 2), ("RUNNING", 2), ("SUCCEEDED", 2)]
        running_2 = next(
            e
            for e in events
            if e["type"] == "STATUS"
            and e["data"]["status"] == "RUNNING"
            and e["data"]["attempt"] == 2
        )
        assert running_2["data"]["worker"] != worker, "another worker took over"

        await late_writes_of_attempt_one_are_refused(stack, run["id"])
        after = await run_state(api, seller, run["id"])
        assert (after["status"], after["attempt"]) == ("SUCCEEDED", 2)
        assert after["trials"] == finished["trials"]
    finally:
        stack.start(victim, "worker")


async def late_writes_of_attempt_one_are_refused(stack: Stack, run_id: str) -> None:
    """What a zombie attempt 1 would try: record a trial, start over, heart-beat."""
    container = build(stack.settings)
    try:
        async with container.uow() as uow:
            run = await uow.runs.find(run_id)
        assert run is not None
        late_trial = TrialFinished(
            number=999,
            algorithm="linear",
            params={},
            score=0.0,
            status="complete",
            duration_seconds=0.1,
            message="late",
            progress=0.5,
        )
        with pytest.raises(StaleAttempt):
            await container.execution.record(run, 1, late_trial)
        assert await container.execution.execute(run_id, 1) is None
        async with container.uow() as uow:
            current = await uow.runs.find(run_id)
            assert current is not None
            with pytest.raises(StaleAttempt):
                current.beat(1, 0.9, container.clock.now())
            assert current.heartbeat_at is not None
            stale = current.heartbeat_at - timedelta(hours=1)
            current.heartbeat_at = stale
            current.version -= 1  # a writer that read an older version
            with pytest.raises(StaleAttempt):
                await uow.runs.save(current)
    finally:
        await container.aclose()


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
async def test_a_run_survives_a_killed_embedded_server(stack: Stack, stack_api: Api) -> None:
    api = stack_api
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, demand_csv(rows=400))
    run = await start_run(api, seller, experiment_id, max_trials=300, seconds=8)
    await first_trial_and_worker(stack, seller.token, run["id"])
    stack.kill("server")
    stack.start("server", "serve", "--port", stack.base_url.rsplit(":", 1)[1])
    await asyncio.to_thread(stack.wait_ready)
    finished = await wait_for(api, seller, run["id"], {"SUCCEEDED", "FAILED"}, within=90)
    assert (finished["status"], finished["attempt"]) == ("SUCCEEDED", 2), finished["error"]
    assert finished["model"] is not None
