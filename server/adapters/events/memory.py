"""Run event streams in memory: the embedded mode, where API and runner share one process."""

from __future__ import annotations

import asyncio
import bisect
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from datetime import datetime

from domain.model.runs import NewRunEvent, RunEvent
from server.adapters.events.stream import SeqFloor

MAX_EVENTS_PER_RUN = 10_000


class MemoryEventStream:
    """Bounded per-run deques; followers wait on an asyncio.Event renewed at every append."""

    def __init__(self, max_events: int = MAX_EVENTS_PER_RUN) -> None:
        self._events: dict[str, deque[RunEvent]] = defaultdict(lambda: deque(maxlen=max_events))
        self._seq: dict[str, int] = {}
        self._changed: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._lock = asyncio.Lock()
        self._subscribers: dict[str, set[asyncio.Queue[str]]] = defaultdict(set)

    async def append(
        self, run_id: str, event: NewRunEvent, at: datetime, floor: SeqFloor, first: bool = False
    ) -> RunEvent:
        async with self._lock:
            if run_id not in self._seq:
                self._seq[run_id] = await floor()
            self._seq[run_id] += 1
            stored = RunEvent(
                run_id, self._seq[run_id], at, event.type, event.message, event.progress, event.data
            )
            self._events[run_id].append(stored)
            changed = self._changed.pop(run_id, None)
        if changed is not None:
            changed.set()
        return stored

    async def after(self, run_id: str, after_seq: int, limit: int) -> list[RunEvent]:
        events = self._events.get(run_id)
        if not events:
            return []
        seqs = [e.seq for e in events]
        start = bisect.bisect_right(seqs, after_seq)
        return list(events)[start : start + limit]

    async def wait_after(self, run_id: str, after_seq: int, wait_seconds: float) -> list[RunEvent]:
        changed = self._changed[run_id]
        found = await self.after(run_id, after_seq, 1000)
        if found:
            return found
        try:
            await asyncio.wait_for(changed.wait(), wait_seconds)
        except TimeoutError:
            return []
        return await self.after(run_id, after_seq, 1000)

    async def announce(self, account_id: str, run_id: str) -> None:
        for queue in list(self._subscribers.get(account_id, ())):
            queue.put_nowait(run_id)

    async def announcements(self, account_id: str) -> AsyncIterator[str]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._subscribers[account_id].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers[account_id].discard(queue)

    async def aclose(self) -> None:
        return None
