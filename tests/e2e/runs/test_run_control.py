"""Reconnecting subscribers, cancellation, failures, double submits, runUpdates."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from tests.e2e.runs.conftest import Stack
from tests.e2e.runs.data import demand_csv, empty_feature_csv
from tests.e2e.runs.helpers import (
    collect_events,
    regression_experiment,
    run_state,
    start_run,
    wait_for,
)
from tests.support.api import Api, operation
from tests.support.ws import connect


async def test_a_reconnecting_client_gets_every_event_once(stack: Stack, stack_api: Api) -> None:
    api = stack_api
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, demand_csv())
    run = await start_run(api, seller, experiment_id, max_trials=4)
    first_part = await collect_events(stack.base_url, seller, run["id"], limit=4)  # disconnects
    assert [e["seq"] for e in first_part] == [1, 2, 3, 4]
    # Events keep coming while nobody listens: another client sees two more before we return.
    missed = await collect_events(stack.base_url, seller, run["id"], after_seq=4, limit=2)
    assert [e["seq"] for e in missed] == [5, 6]
    rest = await collect_events(stack.base_url, seller, run["id"], after_seq=first_part[-1]["seq"])
    received = first_part + rest
    seqs = [e["seq"] for e in received]
    assert seqs == list(range(1, len(received) + 1)), "no gap and no duplicate"
    assert received[-1]["data"]["status"] == "SUCCEEDED"
    replay = await collect_events(stack.base_url, seller, run["id"], after_seq=0)
    assert replay == received, "a full replay after the end equals what the client pieced together"


async def test_cancel_while_queued_and_while_running(stack: Stack, stack_api: Api) -> None:
    api = stack_api
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, demand_csv(rows=400))
    # Every worker slot busy with a long run, so one more waits in the queue.
    busy = [
        await start_run(api, seller, experiment_id, max_trials=500, seconds=120)
        for _ in range(len(stack.processes) - 1 or 1)
    ]
    for run in busy:
        await wait_for(api, seller, run["id"], {"RUNNING"})
    queued = await start_run(api, seller, experiment_id, max_trials=1)
    assert queued["status"] == "QUEUED"
    canceled = await api.op("CancelRun", {"input": {"id": queued["id"]}}, seller.token)
    # CANCELED at once (a started run would answer CANCELING): it never left the queue.
    assert canceled["cancelRun"]["run"]["status"] == "CANCELED"

    running = busy[0]
    for _ in range(100):  # heartbeats carry the engine's progress to the run
        if (await run_state(api, seller, running["id"]))["progress"] > 0:
            break
        await asyncio.sleep(0.1)
    asked = await api.op("CancelRun", {"input": {"id": running["id"]}}, seller.token)
    assert asked["cancelRun"]["run"]["status"] == "CANCELING"
    stopped = await wait_for(api, seller, running["id"], {"CANCELED"}, within=15)
    assert stopped["model"] is None
    assert 0 < stopped["progress"] < 1, "heartbeats reported the engine's progress"
    for run in busy[1:]:
        await api.op("CancelRun", {"input": {"id": run["id"]}}, seller.token)
        await wait_for(api, seller, run["id"], {"CANCELED"}, within=15)

    events = await collect_events(stack.base_url, seller, running["id"], after_seq=0)
    assert [e["data"]["status"] for e in events if e["type"] == "STATUS"] == [
        "QUEUED",
        "RUNNING",
        "CANCELING",
        "CANCELED",
    ]
    # The canceled queued run never starts, even once the workers are free: its whole log.
    never_started = await collect_events(stack.base_url, seller, queued["id"], after_seq=0)
    assert [e["data"]["status"] for e in never_started] == ["QUEUED", "CANCELED"]
    assert (await run_state(api, seller, queued["id"]))["status"] == "CANCELED"
    again = await api.fail(operation("CancelRun"), {"input": {"id": queued["id"]}}, seller.token)
    assert again["extensions"]["code"] == "CONFLICT"


async def test_a_run_whose_training_raises_ends_failed_with_the_error(
    stack: Stack, stack_api: Api
) -> None:
    api = stack_api
    seller = await api.sign_up()
    dataset = await api.dataset(seller, empty_feature_csv(), name="broken")
    experiment = await api.experiment(seller, dataset["id"], target="units")
    run = await start_run(api, seller, experiment["id"], max_trials=2)
    events = await collect_events(stack.base_url, seller, run["id"], after_seq=0)
    failed = await wait_for(api, seller, run["id"], {"FAILED"})
    assert "note" in failed["error"]  # names the unusable column
    errors = [e for e in events if e["type"] == "ERROR"]
    assert len(errors) == 1 and errors[0]["message"] == failed["error"]
    assert events[-1]["data"]["status"] == "FAILED"
    assert failed["model"] is None


async def test_a_double_submit_starts_one_run(stack: Stack, stack_api: Api) -> None:
    api = stack_api
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, demand_csv(rows=80))
    submits = await asyncio.gather(
        *(
            start_run(api, seller, experiment_id, max_trials=1, idempotencyKey="click-1")
            for _ in range(2)
        )
    )
    ids = {run["id"] for run in submits}
    assert len(ids) == 1
    await wait_for(api, seller, ids.pop(), {"SUCCEEDED"})
    listed = await api.ok(
        "query($e: ID!) { runs(filter: {experimentId: $e}) { totalCount } }",
        {"e": experiment_id},
        seller.token,
    )
    assert listed["runs"]["totalCount"] == 1


async def test_start_run_refuses_bad_input(stack: Stack, stack_api: Api) -> None:
    api = stack_api
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, demand_csv(rows=80))
    cases: list[tuple[dict[str, Any], str]] = [
        ({"budget": {"maxTrials": 0, "timeoutSeconds": 10}}, "budget.maxTrials"),
        ({"budget": {"maxTrials": None, "timeoutSeconds": None}}, "budget"),
        ({"algorithms": ["kmeans"]}, "algorithms"),
        ({"cvFolds": 1}, "cvFolds"),
    ]
    for extra, field in cases:
        error = await api.fail(
            operation("StartRun"),
            {"input": {"experimentId": experiment_id, **extra}},
            seller.token,
        )
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, extra
    missing = await api.fail(
        operation("StartRun"), {"input": {"experimentId": "nope"}}, seller.token
    )
    assert missing["extensions"] == {"code": "NOT_FOUND", "field": "experimentId"}
    viewer = await api.add_user(seller, "VIEWER")
    forbidden = await api.fail(
        operation("StartRun"), {"input": {"experimentId": experiment_id}}, viewer.token
    )
    assert forbidden["extensions"]["code"] == "FORBIDDEN"
    listed = await api.ok("{ runs { totalCount } }", token=seller.token)
    assert listed["runs"]["totalCount"] == 0


async def test_run_updates_stream_status_changes(stack: Stack, stack_api: Api) -> None:
    api = stack_api
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, demand_csv(rows=100))
    seen: list[str] = []
    real: dict[str, str] = {}  # the id of the run under test, once started
    listening = asyncio.Event()

    async def listen() -> None:
        async with connect(stack.base_url, seller.token) as connection:
            async for data in connection.subscribe(
                operation("RunUpdates"), {"experimentId": experiment_id}
            ):
                update = data["runUpdates"]
                if update["id"] != real.get("id"):
                    listening.set()  # a probe's change reached us: we are subscribed
                    continue
                seen.append(update["status"])
                if update["status"] == "SUCCEEDED":
                    return

    listener = asyncio.create_task(listen())
    # Subscribed before the run starts: wait until the listener sees a probe run change (a
    # probe it subscribed too late for is followed by another).
    while not listening.is_set():
        probe = await start_run(api, seller, experiment_id, max_trials=1)
        await api.op("CancelRun", {"input": {"id": probe["id"]}}, seller.token)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(listening.wait(), 2)
    real["id"] = (await start_run(api, seller, experiment_id, max_trials=2))["id"]
    await asyncio.wait_for(listener, 90)
    assert seen[0] in ("QUEUED", "RUNNING")
    assert seen[-1] == "SUCCEEDED"
    assert "RUNNING" in seen
