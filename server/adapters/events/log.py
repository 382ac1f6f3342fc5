"""The run event log: a fast stream for everything plus the database for milestones."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from domain.model.runs import NewRunEvent, RunEvent
from domain.ports import Clock, UnitOfWorkFactory
from server.adapters.events.stream import EventStream

log = logging.getLogger(__name__)
POLL_SECONDS = 5.0


async def _nothing_before() -> int:
    return 0


class RunEventLog:
    """Implements domain.ports.RunEventLog over an EventStream and the run_events table."""

    def __init__(self, stream: EventStream, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._stream = stream
        self._uow = uow
        self._clock = clock

    async def append(self, run_id: str, event: NewRunEvent, first: bool = False) -> RunEvent:
        floor = _nothing_before if first else (lambda: self._db_last_seq(run_id))
        stored = await self._stream.append(run_id, event, self._clock.now(), floor, first)
        if event.type.is_milestone:
            async with self._uow() as uow:
                await uow.run_events.add(stored)
                await uow.commit()
        return stored

    async def _db_last_seq(self, run_id: str) -> int:
        async with self._uow() as uow:
            return await uow.run_events.last_seq(run_id)

    async def after(self, run_id: str, after_seq: int, limit: int = 1000) -> list[RunEvent]:
        """Stream events, with the gaps before them filled from the database's milestones."""
        fast = await self._stream.after(run_id, after_seq, limit)
        if fast and fast[0].seq == after_seq + 1:
            return fast
        async with self._uow() as uow:
            durable = await uow.run_events.after(run_id, after_seq, limit)
        merged = {e.seq: e for e in durable}
        merged.update({e.seq: e for e in fast})
        return [merged[seq] for seq in sorted(merged)][:limit]

    async def follow(self, run_id: str, after_seq: int) -> AsyncIterator[RunEvent]:
        last = after_seq
        while True:
            batch = await self.after(run_id, last)
            if not batch:
                break
            for event in batch:
                yield event
                last = event.seq
                if event.ends_run:
                    return
        while True:
            batch = await self._stream.wait_after(run_id, last, POLL_SECONDS)
            for event in batch:
                if event.seq <= last:
                    continue
                yield event
                last = event.seq
                if event.ends_run:
                    return
            if batch:
                continue
            # Quiet for a while: if the stream lost events (Redis restarted), the database
            # still has the milestones, including how the run ended.
            async with self._uow() as uow:
                missed = await uow.run_events.after(run_id, last, 1000)
            for event in missed:
                yield event
                last = event.seq
                if event.ends_run:
                    return

    async def announce(self, account_id: str, run_id: str) -> None:
        await self._stream.announce(account_id, run_id)

    def announcements(self, account_id: str) -> AsyncIterator[str]:
        return self._stream.announcements(account_id)

    async def aclose(self) -> None:
        await self._stream.aclose()
