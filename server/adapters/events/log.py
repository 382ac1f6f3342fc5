"""The run event log: every event is stored in the database (numbered there, in the transaction
of the change it reports); a stream relays them live. Replays read the database; live followers
read the stream and go back to the database whenever the stream skips a seq or goes quiet."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

from domain.model.runs import RunEvent
from domain.ports import UnitOfWorkFactory
from server.adapters.events.stream import EventStream

log = logging.getLogger(__name__)
POLL_SECONDS = 5.0  # a quiet follower checks the database this often
RETRY_SECONDS = 1.0  # and this often while the stream is unreachable


class RunEventLog:
    """Implements domain.ports.RunEventLog over an EventStream and the run_events table."""

    def __init__(self, stream: EventStream, uow: UnitOfWorkFactory) -> None:
        self._stream = stream
        self._uow = uow
        self._relay_down = False

    async def publish(
        self, account_id: str, events: Sequence[RunEvent], announce: bool = True
    ) -> None:
        if not events:
            return
        try:
            for event in events:
                await self._stream.publish(event)
            if announce:
                await self._stream.announce(account_id, events[-1].run_id)
        except Exception as exc:
            # Stored already: followers will read them from the database.
            if not self._relay_down:
                log.warning("run events not relayed (stream unavailable): %s", exc)
            self._relay_down = True
            return
        if self._relay_down:
            log.info("run events relayed again")
            self._relay_down = False

    async def after(self, run_id: str, after_seq: int, limit: int = 1000) -> list[RunEvent]:
        async with self._uow() as uow:
            return await uow.run_events.after(run_id, after_seq, limit)

    async def follow(self, run_id: str, after_seq: int) -> AsyncIterator[RunEvent]:
        last = after_seq
        from_database = True  # replay first
        while True:
            if from_database:
                batch = await self.after(run_id, last)
                from_database = len(batch) >= 1000  # more to replay
                for event in batch:
                    yield event
                    last = event.seq
                    if event.ends_run:
                        return
                continue
            try:
                batch = await self._stream.wait_after(run_id, last, POLL_SECONDS)
            except Exception as exc:
                log.debug("live events unavailable: %s", exc, extra={"run_id": run_id})
                await asyncio.sleep(RETRY_SECONDS)
                batch = []
            # Quiet, unreachable, or the stream skipped a seq: the database has them all.
            from_database = not batch
            for event in batch:
                if event.seq <= last:
                    continue
                if event.seq != last + 1:
                    from_database = True
                    break
                yield event
                last = event.seq
                if event.ends_run:
                    return

    async def announce(self, account_id: str, run_id: str) -> None:
        try:
            await self._stream.announce(account_id, run_id)
        except Exception as exc:
            log.warning("run update not announced: %s", exc)

    def announcements(self, account_id: str) -> AsyncIterator[str]:
        return self._stream.announcements(account_id)

    async def aclose(self) -> None:
        await self._stream.aclose()
