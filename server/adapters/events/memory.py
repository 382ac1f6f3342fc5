"""Run event streams in memory: the embedded mode, where API and runner share one process."""

from __future__ import annotations

import asyncio
import bisect
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence

from domain.model.runs import RunEvent

MAX_EVENTS_PER_RUN = 10_000


class MemoryEventStream:
    """Bounded per-run lists; followers wait on an asyncio.Event renewed at every publish."""

    def __init__(self, max_events: int = MAX_EVENTS_PER_RUN) -> None:
        self._max = max_events
        self._events: dict[str, list[RunEvent]] = defaultdict(list)
        self._changed: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._subscribers: dict[str, set[asyncio.Queue[str]]] = defaultdict(set)

    async def publish(self, event: RunEvent) -> None:
        events = self._events[event.run_id]
        if events and event.seq <= events[-1].seq:
            # Committed in seq order but published out of it (two writers): keep the order.
            at = bisect.bisect_left([e.seq for e in events], event.seq)
            if at < len(events) and events[at].seq == event.seq:
                return
            events.insert(at, event)
        else:
            events.append(event)
        if len(events) > self._max:
            del events[: len(events) - self._max]
        changed = self._changed.pop(event.run_id, None)
        if changed is not None:
            changed.set()

    async def publish_all(
        self, account_id: str, events: Sequence[RunEvent], announce: bool
    ) -> None:
        for event in events:
            await self.publish(event)
        if announce and events:
            await self.announce(account_id, events[-1].run_id)

    def _after(self, run_id: str, after_seq: int, limit: int) -> list[RunEvent]:
        events = self._events.get(run_id)
        if not events:
            return []
        start = bisect.bisect_right([e.seq for e in events], after_seq)
        return events[start : start + limit]

    async def wait_after(self, run_id: str, after_seq: int, wait_seconds: float) -> list[RunEvent]:
        changed = self._changed[run_id]
        found = self._after(run_id, after_seq, 1000)
        if found:
            return found
        try:
            await asyncio.wait_for(changed.wait(), wait_seconds)
        except TimeoutError:
            return []
        return self._after(run_id, after_seq, 1000)

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
            if not self._subscribers[account_id]:
                del self._subscribers[account_id]

    async def aclose(self) -> None:
        return None
