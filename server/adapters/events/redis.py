"""Run event streams in Redis: one stream per run (XADD/XREAD), seq assigned atomically."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from redis.asyncio import Redis

from domain.model.runs import NewRunEvent, RunEvent
from server.adapters.events.stream import SeqFloor, decode, encode

MAX_EVENTS = 10_000  # per run; older events are trimmed (milestones stay in the database)
TTL_SECONDS = 7 * 24 * 3600

# KEYS: stream, counter. ARGV: payload, maxlen, floor ('' = unknown), ttl.
# Returns the new seq, or -1 when the counter is missing and no floor was given.
_APPEND = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  if ARGV[3] == '' then return -1 end
  redis.call('SET', KEYS[2], ARGV[3])
end
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], seq .. '-1', 'e', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return seq
"""


def _seq(stream_id: bytes | str) -> int:
    text = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    return int(text.split("-", 1)[0])


class RedisEventStream:
    """Durable for as long as Redis keeps it; milestones are in the database as well."""

    def __init__(self, redis: Redis, prefix: str = "mlp") -> None:
        self._redis = redis
        self._prefix = prefix
        self._append = redis.register_script(_APPEND)

    def _keys(self, run_id: str) -> tuple[str, str]:
        return f"{self._prefix}:run:{run_id}:events", f"{self._prefix}:run:{run_id}:seq"

    async def append(
        self, run_id: str, event: NewRunEvent, at: datetime, floor: SeqFloor, first: bool = False
    ) -> RunEvent:
        payload = encode(event, at)
        keys = list(self._keys(run_id))
        known = "0" if first else ""
        seq = int(await self._append(keys=keys, args=[payload, MAX_EVENTS, known, TTL_SECONDS]))
        if seq == -1:
            start = await floor()
            seq = int(await self._append(keys=keys, args=[payload, MAX_EVENTS, start, TTL_SECONDS]))
        return decode(run_id, seq, payload)

    async def after(self, run_id: str, after_seq: int, limit: int) -> list[RunEvent]:
        stream, _ = self._keys(run_id)
        entries = await self._redis.xrange(stream, min=f"({after_seq}-1", max="+", count=limit)
        return [decode(run_id, _seq(entry_id), fields[b"e"]) for entry_id, fields in entries]

    async def wait_after(self, run_id: str, after_seq: int, wait_seconds: float) -> list[RunEvent]:
        stream, _ = self._keys(run_id)
        answer = await self._redis.xread(
            {stream: f"{after_seq}-1"}, count=1000, block=max(1, int(wait_seconds * 1000))
        )
        events: list[RunEvent] = []
        for _, entries in answer or []:
            events += [decode(run_id, _seq(i), fields[b"e"]) for i, fields in entries]
        return events

    async def announce(self, account_id: str, run_id: str) -> None:
        await self._redis.publish(f"{self._prefix}:account:{account_id}:runs", run_id)

    async def announcements(self, account_id: str) -> AsyncIterator[str]:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(f"{self._prefix}:account:{account_id}:runs")
        try:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    data = message["data"]
                    yield data.decode() if isinstance(data, bytes) else str(data)
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()

    async def aclose(self) -> None:
        await self._redis.aclose()
