"""A Redis outage mid-run, with real workers (one of them also SIGKILLed): no run fails for it,
and every run's event log replays from seq 0 with contiguous seqs and no duplicates."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.e2e.runs.data import demand_csv
from tests.e2e.runs.helpers import (
    collect_events,
    regression_experiment,
    start_run,
    wait_for,
    wait_for_event,
)
from tests.e2e.runs.stacks import OwnRedis, own_stack
from tests.support.api import Api

RUNS = 4
ENV = {
    "MAX_RUNNING_RUNS_PER_ACCOUNT": "4",
    "REQUEUE_AFTER_SECONDS": "3",  # the restarted Redis lost the queue: re-enqueue soon
    "HEARTBEAT_TIMEOUT_SECONDS": "8",
}


async def test_a_redis_outage_fails_no_run_and_loses_no_event(tmp_path: Path) -> None:
    redis_server = OwnRedis(tmp_path)
    redis_server.start()
    try:
        async with (
            own_stack(tmp_path, "production", ENV, redis_url=redis_server.url) as stack,
            httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http,
        ):
            api = Api(http)
            seller = await api.sign_up()
            experiment_id = await regression_experiment(api, seller, demand_csv(rows=300))
            runs = [
                (await start_run(api, seller, experiment_id, max_trials=300, seconds=15))["id"]
                for _ in range(RUNS)
            ]
            for run_id in runs[:2]:  # mid-training, events flowing
                await wait_for_event(api, seller, run_id, "TRIAL", within=120)

            redis_server.kill()  # no persistence: queue, streams and counters all gone
            await asyncio.sleep(4)
            redis_server.start()
            stack.kill("worker-2")  # and one worker dies outright

            finished = [
                await wait_for(api, seller, run_id, {"SUCCEEDED", "FAILED", "CANCELED"}, 300)
                for run_id in runs
            ]
            for run in finished:
                assert run["status"] == "SUCCEEDED", (run["attempt"], run["error"])
            for run_id in runs:
                events = await collect_events(stack.base_url, seller, run_id, after_seq=0)
                seqs = [e["seq"] for e in events]
                assert seqs == list(range(1, len(seqs) + 1)), f"{run_id}: {seqs}"
                assert events[-1]["data"]["status"] == "SUCCEEDED"
                replay = await collect_events(stack.base_url, seller, run_id, after_seq=3)
                assert replay == events[3:]
    finally:
        redis_server.kill()
