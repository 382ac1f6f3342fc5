"""The run_events table is the events' outbox, the stream its relay: events committed while
the stream is down are not only in the database (followers read them there), they are relayed
to the stream, in order, with their runUpdates announcement, once it answers again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis

from domain.model.runs import RunEvent, RunEventType
from server.adapters.events.log import RunEventLog
from server.adapters.events.redis import RedisEventStream
from tests.e2e.runs.stacks import OwnRedis

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def status(seq: int, value: str) -> RunEvent:
    return RunEvent("r1", seq, NOW, RunEventType.STATUS, None, None, {"status": value})


async def test_events_whose_relay_failed_after_commit_reach_the_stream_later(
    tmp_path: Path,
) -> None:
    server = OwnRedis(tmp_path)
    server.start()
    redis = Redis.from_url(server.url, socket_connect_timeout=1, socket_timeout=2)
    stream = RedisEventStream(redis)
    events = RunEventLog(stream, uow=None)  # type: ignore[arg-type]  # publish reads no table
    try:
        await events.publish("a1", [status(1, "RUNNING")])
        assert [e.seq for e in await stream.wait_after("r1", 0, 1)] == [1]

        server.kill()  # committed events keep coming while the stream is down
        trial = RunEvent("r1", 2, NOW, RunEventType.TRIAL, None, 0.5, {"number": 0})
        await events.publish("a1", [trial])
        await events.publish("a1", [status(3, "SUCCEEDED")])

        server.start()  # back, empty (no persistence)
        listener = Redis.from_url(server.url).pubsub(ignore_subscribe_messages=True)
        await listener.subscribe("mlp:account:a1:runs")
        relayed = []
        for _ in range(50):  # the sweeper's relay pass, until the stream answers
            await events.relay_pending()
            relayed = await stream.wait_after("r1", 0, 0.1)
            if len(relayed) == 2:
                break
            await asyncio.sleep(0.1)
        assert [(e.seq, e.type) for e in relayed] == [
            (2, RunEventType.TRIAL),
            (3, RunEventType.STATUS),
        ]
        announced = None
        for _ in range(50):
            message = await listener.get_message(timeout=0.1)
            if message is not None:
                announced = message["data"]
                break
        assert announced == b"r1", "runUpdates subscribers hear of the change too"
        assert await events.relay_pending() == 0, "relayed once"
        await listener.aclose()
    finally:
        await redis.aclose()
        server.kill()
