"""The graphql-ws npm client (what browser frontends use) follows a real run."""

from __future__ import annotations

import asyncio
import json

from tests.e2e.runs.conftest import Stack
from tests.e2e.runs.data import demand_csv
from tests.e2e.runs.helpers import regression_experiment, start_run
from tests.support.api import Api
from tests.support.node import node_clients


async def test_the_graphql_ws_client_receives_the_whole_run(stack: Stack, stack_api: Api) -> None:
    folder = await asyncio.to_thread(node_clients)
    seller = await stack_api.sign_up()
    experiment_id = await regression_experiment(stack_api, seller, demand_csv(rows=150))
    run = await start_run(stack_api, seller, experiment_id, max_trials=2)
    process = await asyncio.create_subprocess_exec(
        "node",
        "subscribe.mjs",
        stack.base_url,
        seller.token,
        run["id"],
        "0",
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    lines = [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]
    print("\n".join(json.dumps(line) for line in lines))  # what the outside client got
    assert process.returncode == 0, stderr.decode() + stdout.decode()
    assert lines[-1] == {"complete": True}
    events = lines[:-1]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["data"]["status"] for e in events if e["type"] == "STATUS"] == [
        "QUEUED",
        "RUNNING",
        "SUCCEEDED",
    ]
    assert sum(e["type"] == "TRIAL" for e in events) == 2


async def test_the_graphql_ws_client_is_refused_without_a_valid_token(stack: Stack) -> None:
    folder = await asyncio.to_thread(node_clients)
    process = await asyncio.create_subprocess_exec(
        "node",
        "subscribe.mjs",
        stack.base_url,
        "forged-token",
        "any-run",
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), 60)
    lines = [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]
    assert process.returncode == 1
    assert lines[-1] == {"failure": {"code": 4403, "reason": "Forbidden"}}
