"""A cancel reaches the training at once: with heartbeats an hour apart (the only other way a
worker learns of a cancel), a running run still ends CANCELED, long before its 10-minute
budget would have ended it. Embedded (a direct call) and production (Redis pub/sub to the
worker processes)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.runs.data import demand_csv
from tests.e2e.runs.helpers import collect_events, regression_experiment, start_run, wait_for
from tests.e2e.runs.stacks import OwnRedis, own_stack
from tests.support.api import Api

NO_HEARTBEAT = {"HEARTBEAT_SECONDS": "3600", "HEARTBEAT_TIMEOUT_SECONDS": "7200"}


@pytest.mark.parametrize("mode", ["embedded", "production"])
async def test_cancel_stops_a_running_run_without_waiting_for_a_heartbeat(
    tmp_path: Path, mode: str
) -> None:
    # Production gets a redis-server of its own: the session stack's workers share the tests'
    # Redis database, and would take (and refuse) this stack's jobs.
    redis_server = OwnRedis(tmp_path) if mode == "production" else None
    if redis_server is not None:
        redis_server.start()
    try:
        await cancel_without_heartbeats(tmp_path, mode, redis_server)
    finally:
        if redis_server is not None:
            redis_server.kill()


async def cancel_without_heartbeats(
    tmp_path: Path, mode: str, redis_server: OwnRedis | None
) -> None:
    async with (
        own_stack(
            tmp_path, mode, NO_HEARTBEAT, redis_url=redis_server.url if redis_server else None
        ) as stack,
        httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http,
    ):
        api = Api(http)
        seller = await api.sign_up()
        experiment_id = await regression_experiment(api, seller, demand_csv(rows=400))
        run = await start_run(api, seller, experiment_id, max_trials=1000, seconds=600)
        # QUEUED, RUNNING, then the engine's first event: the training is under way.
        started = await collect_events(stack.base_url, seller, run["id"], limit=3)
        assert [e["data"]["status"] for e in started[:2]] == ["QUEUED", "RUNNING"]

        asked = await api.op("CancelRun", {"input": {"id": run["id"]}}, seller.token)
        assert asked["cancelRun"]["run"]["status"] == "CANCELING"
        # Without the signal nothing would stop this run before its budget ends (10 min).
        stopped = await wait_for(api, seller, run["id"], {"CANCELED", "SUCCEEDED"}, within=120)
        assert stopped["status"] == "CANCELED"
        assert stopped["model"] is None

        events = await collect_events(stack.base_url, seller, run["id"], after_seq=0)
        statuses = [e["data"]["status"] for e in events if e["type"] == "STATUS"]
        assert statuses == ["QUEUED", "RUNNING", "CANCELING", "CANCELED"]
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        trials = [e for e in events if e["type"] == "TRIAL"]
        listed = await api.op("Run", {"id": run["id"]}, seller.token)
        assert listed["run"]["trials"]["totalCount"] == len(trials), "every trial is kept"
