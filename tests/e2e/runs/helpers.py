"""Shared steps of the run tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

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
    deadline = time.monotonic() + within
    while True:
        run = await run_state(api, seller, run_id)
        if run["status"] in statuses:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run stayed {run['status']}, wanted {statuses}: {run}")
        await asyncio.sleep(0.2)


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
