"""Shutdown mid-training: Ctrl-C on `mlproject serve` (embedded) and SIGTERM on a worker
(production) stop the process within seconds, hand the run back, and another attempt finishes
it; no traceback flood in the log."""

from __future__ import annotations

import asyncio
import signal

import pytest

from tests.e2e.runs.conftest import Stack
from tests.e2e.runs.data import demand_csv
from tests.e2e.runs.helpers import collect_events, regression_experiment, start_run, wait_for
from tests.e2e.runs.test_crashes import first_trial_and_worker
from tests.support.api import Api

# Longer than the 10 s the process may take to stop, short enough to finish after a restart.
BUDGET_SECONDS = 25


def handed_back(events: list[dict]) -> list[tuple[str, int]]:
    return [(e["data"]["status"], e["data"]["attempt"]) for e in events if e["type"] == "STATUS"]


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
async def test_ctrl_c_stops_the_embedded_server_mid_run_and_the_run_finishes_after_restart(
    stack: Stack, stack_api: Api
) -> None:
    api = stack_api
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, demand_csv(rows=400))
    run = await start_run(api, seller, experiment_id, max_trials=1000, seconds=BUDGET_SECONDS)
    await first_trial_and_worker(stack, seller.token, run["id"])
    log = stack.logs / "server.log"
    offset = log.stat().st_size

    took = stack.stop("server", signal.SIGINT)

    shutdown_log = log.read_bytes()[offset:].decode(errors="replace")
    assert took < 10, f"took {took:.1f} s to stop:\n{shutdown_log[-3000:]}"
    assert "Traceback" not in shutdown_log, shutdown_log[-3000:]
    assert "Event loop is closed" not in shutdown_log
    stack.start("server", "serve", "--port", stack.base_url.rsplit(":", 1)[1])
    await asyncio.to_thread(stack.wait_ready)
    finished = await wait_for(api, seller, run["id"], {"SUCCEEDED", "FAILED"}, within=300)
    assert (finished["status"], finished["attempt"]) == ("SUCCEEDED", 2), finished["error"]
    assert finished["model"] is not None
    statuses = handed_back(await collect_events(stack.base_url, seller, run["id"], after_seq=0))
    # Handed back, not crashed: RUNNING 1 -> QUEUED 2 directly.
    assert statuses == [
        ("QUEUED", 1),
        ("RUNNING", 1),
        ("QUEUED", 2),
        ("RUNNING", 2),
        ("SUCCEEDED", 2),
    ]


@pytest.mark.parametrize("stack", ["production"], indirect=True)
async def test_sigterm_stops_a_worker_mid_run_and_another_worker_finishes_the_run(
    stack: Stack, stack_api: Api
) -> None:
    api = stack_api
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, demand_csv(rows=400))
    run = await start_run(api, seller, experiment_id, max_trials=1000, seconds=BUDGET_SECONDS)
    worker = await first_trial_and_worker(stack, seller.token, run["id"])
    pid = int(worker.rsplit(":", 1)[1])
    victim = next(name for name, p in stack.processes.items() if p.pid == pid)
    log = stack.logs / f"{victim}.log"
    offset = log.stat().st_size
    try:
        took = stack.stop(victim, signal.SIGTERM)

        shutdown_log = log.read_bytes()[offset:].decode(errors="replace")
        assert took < 10, f"took {took:.1f} s to stop:\n{shutdown_log[-3000:]}"
        assert "Traceback" not in shutdown_log, shutdown_log[-3000:]
        finished = await wait_for(api, seller, run["id"], {"SUCCEEDED", "FAILED"}, within=300)
        assert (finished["status"], finished["attempt"]) == ("SUCCEEDED", 2), finished["error"]
        events = await collect_events(stack.base_url, seller, run["id"], after_seq=0)
        assert handed_back(events) == [
            ("QUEUED", 1),
            ("RUNNING", 1),
            ("QUEUED", 2),
            ("RUNNING", 2),
            ("SUCCEEDED", 2),
        ]
        second = next(
            e
            for e in events
            if e["type"] == "STATUS"
            and e["data"]["status"] == "RUNNING"
            and e["data"]["attempt"] == 2
        )
        assert second["data"]["worker"] != worker, "another worker took over"
    finally:
        stack.start(victim, "worker")
