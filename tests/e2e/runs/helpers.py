"""Shared steps of the run tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.support.api import Api, Seller, operation
from tests.support.ws import connect

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED"}


async def regression_experiment(api: Api, seller: Seller, csv: bytes) -> str:
    dataset = await api.dataset(seller, csv, name="demand")
    experiment = await api.experiment(seller, dataset["id"], target="units_sold")
    return experiment["id"]


async def start_run(
    api: Api,
    seller: Seller,
    experiment_id: str,
    max_trials: int = 3,
    seconds: int = 60,
    **extra: Any,
) -> dict:
    data = await api.op(
        "StartRun",
        {
            "input": {
                "experimentId": experiment_id,
                "cvFolds": 2,
                "budget": {"maxTrials": max_trials, "timeoutSeconds": seconds},
                **extra,
            }
        },
        seller.token,
    )
    return data["startRun"]["run"]


async def run_state(api: Api, seller: Seller, run_id: str) -> dict:
    return (await api.op("Run", {"id": run_id}, seller.token))["run"]


async def wait_for(
    api: Api, seller: Seller, run_id: str, statuses: set[str], within: float = 90
) -> dict:
    """Follow the run's events until it reports one of `statuses`, then read the run (which
    may have moved on since, e.g. from RUNNING to SUCCEEDED). An in-process (ASGI) client has
    no socket to subscribe on: it polls the run instead."""
    if isinstance(getattr(api.http, "_transport", None), httpx.ASGITransport):
        return await _poll_for(api, seller, run_id, statuses, within)
    base_url = str(api.http.base_url).rstrip("/")
    seen: list[str] = []

    async def reported() -> bool:
        async with connect(base_url, seller.token) as connection:
            async for data in connection.subscribe(
                operation("RunEvents"), {"runId": run_id, "afterSeq": 0}
            ):
                event = data["runEvents"]
                if event["type"] == "STATUS":
                    seen.append(event["data"]["status"])
                    if seen[-1] in statuses:
                        return True
        return False  # the run ended without reporting any of them

    try:
        found = await asyncio.wait_for(reported(), within)
    except TimeoutError:
        found = False
    run = await run_state(api, seller, run_id)
    if not found:
        raise AssertionError(f"run reported {seen}, wanted one of {statuses}: {run}")
    return run


async def _poll_for(
    api: Api, seller: Seller, run_id: str, statuses: set[str], within: float
) -> dict:
    deadline = time.monotonic() + within
    while True:
        run = await run_state(api, seller, run_id)
        if run["status"] in statuses:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run stayed {run['status']}, wanted {statuses}: {run}")
        await asyncio.sleep(0.1)


async def wait_for_event(
    api: Api, seller: Seller, run_id: str, kind: str, within: float = 120
) -> dict:
    """Follow the run's events until one of type `kind` (e.g. TRIAL) arrives; that event."""
    base_url = str(api.http.base_url).rstrip("/")

    async def first() -> dict | None:
        async with connect(base_url, seller.token) as connection:
            async for data in connection.subscribe(
                operation("RunEvents"), {"runId": run_id, "afterSeq": 0}
            ):
                if data["runEvents"]["type"] == kind:
                    return data["runEvents"]
        return None

    event = await asyncio.wait_for(first(), within)
    if event is None:
        raise AssertionError(f"run {run_id} ended without a {kind} event")
    return event


async def collect_events(
    base_url: str,
    seller: Seller,
    run_id: str,
    after_seq: int | None = None,
    limit: int | None = None,
) -> list[dict]:
    """Subscribe to runEvents; stop at completion (or after `limit` events: a disconnect)."""
    events: list[dict] = []
    async with connect(base_url, seller.token) as connection:
        async for data in connection.subscribe(
            operation("RunEvents"), {"runId": run_id, "afterSeq": after_seq}
        ):
            events.append(data["runEvents"])
            if limit is not None and len(events) >= limit:
                break
    return events
