"""runUpdates subscriptions share one Redis pub/sub connection per process (400 subscriptions
once made 400 connections)."""

from __future__ import annotations

import asyncio
import os
from contextlib import AsyncExitStack
from urllib.parse import urlparse

import pytest
import redis.asyncio as aioredis

from tests.e2e.runs.conftest import REDIS_URL, Stack
from tests.e2e.runs.data import demand_csv
from tests.e2e.runs.helpers import regression_experiment, start_run
from tests.support.api import Api, operation
from tests.support.ws import connect


def _local_ports_to(pid: int, remote_port: int) -> set[int]:
    """Local ports of the process's TCP connections to `remote_port` (from /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == remote_port:
                    ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


async def _server_clients(redis: aioredis.Redis, stack: Stack) -> list[dict]:
    """CLIENT LIST entries of the API server process."""
    ports = _local_ports_to(stack.processes["server"].pid, urlparse(REDIS_URL).port or 6379)
    clients = await redis.client_list()
    return [c for c in clients if int(c["addr"].rsplit(":", 1)[1]) in ports]


@pytest.mark.parametrize("stack", ["production"], indirect=True)
async def test_run_updates_share_one_redis_connection(stack: Stack, stack_api: Api) -> None:
    sellers = [await stack_api.sign_up() for _ in range(3)]
    redis = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    channels = [f"mlp:account:{s.account_id}:runs" for s in sellers]

    async def subscribed() -> int:
        return sum(n for _, n in await redis.pubsub_numsub(*channels))

    async def listen(exits: AsyncExitStack, per_seller: int) -> list[asyncio.Future]:
        """Open subscriptions; each future resolves with the first update it receives."""
        firsts: list[asyncio.Future] = []
        for seller in sellers:
            for _ in range(per_seller):
                connection = await exits.enter_async_context(connect(stack.base_url, seller.token))
                updates = connection.subscribe(operation("RunUpdates"), {})
                task = asyncio.ensure_future(updates.__anext__())
                exits.callback(task.cancel)
                firsts.append(task)
        return firsts

    async def until_live(firsts: list[asyncio.Future]) -> None:
        """A subscription is live once it has an update: change a run of each account until
        every one has had one (a probe it subscribed too late for is followed by another)."""
        while not all(first.done() for first in firsts):
            for seller, experiment_id in zip(sellers, experiments, strict=True):
                probe = await start_run(stack_api, seller, experiment_id, max_trials=1)
                await stack_api.op("CancelRun", {"input": {"id": probe["id"]}}, seller.token)
            await asyncio.wait(firsts, timeout=2)

    experiments = [
        await regression_experiment(stack_api, seller, demand_csv(rows=80)) for seller in sellers
    ]
    try:
        async with AsyncExitStack() as exits:
            await until_live(await listen(exits, 1))
            assert await subscribed() == len(sellers)  # one per channel and process
            few = await _server_clients(redis, stack)  # after starting runs, like `many`
            await until_live(await listen(exits, 6))  # 21 subscriptions in all
            many = await _server_clients(redis, stack)
            assert await subscribed() == len(sellers)
            assert len(many) == len(few), (few, many)
            assert len([c for c in many if int(c.get("sub", 0)) > 0]) == 1
        for _ in range(100):  # everyone left: the shared connection unsubscribes
            if await subscribed() == 0:
                break
            await asyncio.sleep(0.1)
        assert await subscribed() == 0
    finally:
        await redis.aclose()
