"""An account's marketplace activity feed (the `marketplaceActivity` subscription's source):
in memory when embedded, one Redis Stream per account in production (every API replica's
followers see what any worker published). A live feed of hints: followers see what happens
from the moment they follow; what matters is in the database (syncs, the price log)."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from domain.model.shop_sync import ActivityKind, MarketplaceActivity

MAX_EVENTS = 1_000  # per account stream (approximate trim)
TTL_SECONDS = 7 * 24 * 3600
BLOCK_MS = 5_000


def encode(activity: MarketplaceActivity) -> str:
    return json.dumps(
        {
            "kind": activity.kind.value,
            "at": activity.at.isoformat(),
            "message": activity.message,
            "connection_id": activity.connection_id,
            "sync_id": activity.sync_id,
            "listing_id": activity.listing_id,
            "progress": activity.progress,
            "data": activity.data,
        },
        separators=(",", ":"),
        default=str,
    )


def decode(account_id: str, raw: str | bytes) -> MarketplaceActivity:
    body: dict[str, Any] = json.loads(raw)
    return MarketplaceActivity(
        account_id=account_id,
        kind=ActivityKind(body["kind"]),
        at=datetime.fromisoformat(body["at"]),
        message=body["message"],
        connection_id=body.get("connection_id"),
        sync_id=body.get("sync_id"),
        listing_id=body.get("listing_id"),
        progress=body.get("progress"),
        data=body.get("data"),
    )


class MemoryActivityFeed:
    """Per-account subscriber queues in this process (the embedded mode)."""

    def __init__(self) -> None:
        self._followers: dict[str, set[asyncio.Queue[MarketplaceActivity]]] = defaultdict(set)

    async def publish(self, activity: MarketplaceActivity) -> None:
        for queue in list(self._followers.get(activity.account_id, ())):
            queue.put_nowait(activity)

    async def follow(self, account_id: str) -> AsyncIterator[MarketplaceActivity]:
        queue: asyncio.Queue[MarketplaceActivity] = asyncio.Queue()
        self._followers[account_id].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._followers[account_id].discard(queue)
            if not self._followers[account_id]:
                del self._followers[account_id]


class RedisActivityFeed:
    """One stream per account (XADD, trimmed; XREAD BLOCK from the follower's last id)."""

    def __init__(self, redis: Redis, prefix: str = "mlp") -> None:
        self._redis = redis
        self._prefix = prefix

    def _stream(self, account_id: str) -> str:
        return f"{self._prefix}:account:{account_id}:marketplace"

    async def publish(self, activity: MarketplaceActivity) -> None:
        stream = self._stream(activity.account_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(stream, {"e": encode(activity)}, maxlen=MAX_EVENTS, approximate=True)
            pipe.expire(stream, TTL_SECONDS)
            await pipe.execute()

    async def follow(self, account_id: str) -> AsyncIterator[MarketplaceActivity]:
        stream = self._stream(account_id)
        seconds, micros = await self._redis.time()
        last = f"{seconds * 1000 + micros // 1000}-0"  # what is published from now on
        while True:
            answer = await self._redis.xread({stream: last}, count=100, block=BLOCK_MS)
            for _, entries in answer or []:
                for entry_id, fields in entries:
                    last = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
                    yield decode(account_id, fields[b"e"])
