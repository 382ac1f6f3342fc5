"""Fairness between accounts: per-account limits on queued and running runs, and one tenant's
long queue does not hold back another tenant's run (embedded and production, real runs)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.runs.data import demand_csv
from tests.e2e.runs.helpers import regression_experiment, run_state, start_run, wait_for
from tests.e2e.runs.stacks import own_stack
from tests.support.api import Api, operation

QUEUED_LIMIT = 5
LIMITS = {
    "MAX_QUEUED_RUNS_PER_ACCOUNT": str(QUEUED_LIMIT),
    "MAX_RUNNING_RUNS_PER_ACCOUNT": "1",
    "RUN_DEFER_SECONDS": "2",
    "HEARTBEAT_TIMEOUT_SECONDS": "20",  # a loaded machine must not crash the runs
}


@pytest.mark.parametrize("mode", ["embedded", "production"])
async def test_one_tenants_long_queue_does_not_block_another_tenant(
    mode: str, tmp_path: Path
) -> None:
    # Two run slots in both modes: two workers of one job each, or an embedded server running
    # two at a time. Without fairness tenant A's runs would take both.
    env = {**LIMITS, "WORKER_CONCURRENCY": "2" if mode == "embedded" else "1"}
    async with (
        own_stack(tmp_path, mode, env) as stack,
        httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http,
    ):
        if True:
            api = Api(http)
            a, b = await api.sign_up("Tenant A"), await api.sign_up("Tenant B")
            a_experiment = await regression_experiment(api, a, demand_csv(rows=300))
            b_experiment = await regression_experiment(api, b, demand_csv(rows=100))
            a_runs: list[str] = []
            refused: dict = {}
            for _ in range(QUEUED_LIMIT + 3):  # one or two may have started meanwhile
                answer = (
                    await api.post(
                        operation("StartRun"),
                        {
                            "input": {
                                "experimentId": a_experiment,
                                "cvFolds": 2,
                                "budget": {"maxTrials": 1000, "timeoutSeconds": 90},
                            }
                        },
                        a.token,
                    )
                ).json()
                if answer.get("errors"):
                    refused = answer["errors"][0]
                    break
                a_runs.append(answer["data"]["startRun"]["run"]["id"])
            # Over the queued limit: a coded error that says what to do, and nothing stored.
            assert refused, f"{len(a_runs)} runs queued, none refused"
            assert refused["extensions"]["code"] == "CONFLICT", refused
            assert "MAX_QUEUED_RUNS_PER_ACCOUNT" in refused["message"]
            queued = await api.ok(
                "query($e: ID!) { runs(filter: {experimentId: $e, status: QUEUED}) "
                "{ totalCount } }",
                {"e": a_experiment},
                a.token,
            )
            assert queued["runs"]["totalCount"] == QUEUED_LIMIT
            assert QUEUED_LIMIT <= len(a_runs) <= QUEUED_LIMIT + 2

            await wait_for(api, a, a_runs[0], {"RUNNING"}, within=60)
            started = time.monotonic()
            b_run = await start_run(api, b, b_experiment, max_trials=2, seconds=30)
            try:
                running = await wait_for(api, b, b_run["id"], {"RUNNING", "SUCCEEDED"}, 45)
                assert running["status"] in {"RUNNING", "SUCCEEDED"}
                waited = time.monotonic() - started
                # A still has every run but one waiting: it runs one at a time.
                states = [(await run_state(api, a, r))["status"] for r in a_runs]
                assert states.count("RUNNING") + states.count("CANCELING") <= 1, states
                assert waited < 45
                finished = await wait_for(api, b, b_run["id"], {"SUCCEEDED", "FAILED"}, 90)
                assert finished["status"] == "SUCCEEDED", finished["error"]
            finally:
                for run_id in a_runs:
                    await api.post(
                        "mutation($i: CancelRunInput!) { cancelRun(input: $i) { run { id } } }",
                        {"i": {"id": run_id}},
                        a.token,
                    )
                for run_id in a_runs:
                    await wait_for(api, a, run_id, {"CANCELED", "SUCCEEDED", "FAILED"}, 60)
