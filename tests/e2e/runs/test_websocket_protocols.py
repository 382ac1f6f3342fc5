"""WebSocket details: the legacy protocol's auth, and clean-up when clients go away."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio as aioredis
import websockets
from websockets.typing import Subprotocol

from tests.e2e.runs.conftest import REDIS_URL, Stack
from tests.support.api import Api, operation
from tests.support.ws import connect


async def legacy_init(stack: Stack, payload: dict) -> dict:
    url = stack.base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[Subprotocol("graphql-ws")]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        try:
            return json.loads(await asyncio.wait_for(socket.recv(), 10))
        except websockets.ConnectionClosed as closed:
            return {"closed": closed.rcvd.code if closed.rcvd else None}


async def test_the_legacy_protocol_enforces_the_same_auth(stack: Stack, stack_api: Api) -> None:
    refused = await legacy_init(stack, {"authorization": "Bearer forged"})
    assert refused.get("type") == "connection_error" or refused.get("closed") == 4403, refused
    seller = await stack_api.sign_up()
    accepted = await legacy_init(stack, {"authorization": f"Bearer {seller.token}"})
    assert accepted["type"] == "connection_ack"


@pytest.mark.parametrize("stack", ["production"], indirect=True)
async def test_a_disconnected_subscriber_leaves_nothing_behind(
    stack: Stack, stack_api: Api
) -> None:
    seller = await stack_api.sign_up()
    channel = f"mlp:account:{seller.account_id}:runs"
    redis = aioredis.Redis.from_url(REDIS_URL)

    async def subscribers() -> int:
        return int(dict(await redis.pubsub_numsub(channel)).get(channel.encode(), 0))

    try:
        async with connect(stack.base_url, seller.token) as connection:
            updates = connection.subscribe(operation("RunUpdates"), {})
            listening = asyncio.ensure_future(updates.__anext__())
            for _ in range(50):
                if await subscribers() == 1:
                    break
                await asyncio.sleep(0.1)
            assert await subscribers() == 1
            listening.cancel()
        for _ in range(50):  # the client is gone: the server's generator must close
            if await subscribers() == 0:
                break
            await asyncio.sleep(0.1)
        assert await subscribers() == 0
    finally:
        await redis.aclose()


@pytest.mark.parametrize("stack", ["production"], indirect=True)
async def test_history_survives_losing_the_event_stream(stack: Stack, stack_api: Api) -> None:
    from tests.e2e.runs.data import demand_csv
    from tests.e2e.runs.helpers import collect_events, regression_experiment, start_run, wait_for

    seller = await stack_api.sign_up()
    experiment_id = await regression_experiment(stack_api, seller, demand_csv(rows=100))
    run = await start_run(stack_api, seller, experiment_id, max_trials=2)
    await wait_for(stack_api, seller, run["id"], {"SUCCEEDED"})
    full = await collect_events(stack.base_url, seller, run["id"], after_seq=0)
    redis = aioredis.Redis.from_url(REDIS_URL)
    try:
        deleted = await redis.delete(f"mlp:run:{run['id']}:events")
    finally:
        await redis.aclose()
    assert deleted == 1
    replay = await collect_events(stack.base_url, seller, run["id"], after_seq=0)
    # Every event is in the database, not only milestones: the same log, seq for seq.
    assert replay == full
    assert [e["seq"] for e in replay] == list(range(1, len(replay) + 1))
    assert replay[-1]["data"]["status"] == "SUCCEEDED"
