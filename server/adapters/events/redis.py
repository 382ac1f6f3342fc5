"""Run event streams in Redis: one stream per run (XADD/XREAD) whose entry ids are the seqs the
database gave the events, and one shared pub/sub connection per process for announcements."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ResponseError

from domain.model.runs import RunEvent
from server.adapters.events.stream import decode, encode

log = logging.getLogger(__name__)
MAX_EVENTS = 10_000  # per run; older entries are trimmed (the database keeps every event)
TTL_SECONDS = 7 * 24 * 3600


def _seq(stream_id: bytes | str) -> int:
    text = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    return int(text.split("-", 1)[0])


class RedisEventStream:
    """A live relay of stored events; followers fill what it lost from the database."""

    def __init__(self, redis: Redis, prefix: str = "mlp") -> None:
        self._redis = redis
        self._prefix = prefix
        self._announcements = SharedSubscriptions(redis)

    def _stream(self, run_id: str) -> str:
        return f"{self._prefix}:run:{run_id}:events"

    async def publish(self, event: RunEvent) -> None:
        await self._relay([event], None)

    async def publish_all(
        self, account_id: str, events: Sequence[RunEvent], announce: bool
    ) -> None:
        if events:
            await self._relay(events, self._channel(account_id) if announce else None)

    async def _relay(self, events: Sequence[RunEvent], channel: str | None) -> None:
        """One pipeline (one round trip): XADD each event, EXPIRE, PUBLISH the announcement."""
        stream = self._stream(events[0].run_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.xadd(
                    stream,
                    {"e": encode(event)},
                    id=f"{event.seq}-1",
                    maxlen=MAX_EVENTS,
                    approximate=True,
                )
            pipe.expire(stream, TTL_SECONDS)
            if channel is not None:
                pipe.publish(channel, events[-1].run_id)
            results = await pipe.execute(raise_on_error=False)
        for result in results:
            if isinstance(result, ResponseError):
                # An id at or below the stream's newest: a later event was relayed first (or
                # this one already was). Followers that need it read it from the database.
                log.debug("event not relayed: %s", result, extra={"run_id": events[0].run_id})
            elif isinstance(result, Exception):
                raise result  # the connection failed: the caller keeps the events to retry

    async def wait_after(self, run_id: str, after_seq: int, wait_seconds: float) -> list[RunEvent]:
        stream = self._stream(run_id)
        answer = await self._redis.xread(
            {stream: f"{after_seq}-1"}, count=1000, block=max(1, int(wait_seconds * 1000))
        )
        events: list[RunEvent] = []
        for _, entries in answer or []:
            events += [decode(run_id, _seq(i), fields[b"e"]) for i, fields in entries]
        return events

    def _channel(self, account_id: str) -> str:
        return f"{self._prefix}:account:{account_id}:runs"

    async def announce(self, account_id: str, run_id: str) -> None:
        await self._redis.publish(self._channel(account_id), run_id)

    async def announcements(self, account_id: str) -> AsyncIterator[str]:
        async for run_id in self._announcements.listen(self._channel(account_id)):
            yield run_id

    async def aclose(self) -> None:
        await self._announcements.aclose()
        await self._redis.aclose()


class SharedSubscriptions:
    """One pub/sub connection for the whole process, fanned out to in-memory queues.

    A channel is subscribed while at least one local listener wants it, so PUBSUB NUMSUB counts
    processes, not clients; a lost connection is re-established and re-subscribed by the
    reader (redis-py re-subscribes on connect), listeners just wait through the outage.
    """

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._pubsub: PubSub | None = None
        self._listeners: dict[str, set[asyncio.Queue[str]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def listen(self, channel: str) -> AsyncIterator[str]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        await self._join(channel, queue)
        try:
            while True:
                yield await queue.get()
        finally:
            await asyncio.shield(self._leave(channel, queue))

    async def _join(self, channel: str, queue: asyncio.Queue[str]) -> None:
        async with self._lock:
            listeners = self._listeners.setdefault(channel, set())
            listeners.add(queue)
            if len(listeners) > 1:
                return
            if self._pubsub is None:
                self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await self._pubsub.subscribe(channel)
            except Exception:
                listeners.discard(queue)
                if not listeners:
                    del self._listeners[channel]
                raise
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read(), name="run-announcements")

    async def _leave(self, channel: str, queue: asyncio.Queue[str]) -> None:
        async with self._lock:
            listeners = self._listeners.get(channel)
            if listeners is None:
                return
            listeners.discard(queue)
            if listeners:
                return
            del self._listeners[channel]
            if self._pubsub is not None:
                try:
                    await self._pubsub.unsubscribe(channel)
                except Exception:
                    log.warning("could not unsubscribe", extra={"channel": channel})

    async def _read(self) -> None:
        pause = 0.1
        while True:
            pubsub = self._pubsub
            assert pubsub is not None
            try:
                message = await pubsub.get_message(timeout=1.0)
                pause = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("announcements connection lost; reconnecting: %s", exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else str(channel)
            data = message["data"]
            run_id = data.decode() if isinstance(data, bytes) else str(data)
            for queue in self._listeners.get(channel, ()):
                queue.put_nowait(run_id)

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
