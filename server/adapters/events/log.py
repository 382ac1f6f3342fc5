"""The run event log: every event is stored in the database (numbered there, in the transaction
of the change it reports); a stream relays them live. Replays read the database; live followers
read the stream and go back to the database whenever the stream skips a seq or goes quiet."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Sequence

from domain.model.runs import RunEvent
from domain.ports import UnitOfWorkFactory
from server.adapters.events.stream import EventStream

log = logging.getLogger(__name__)
POLL_SECONDS = 5.0  # a quiet follower checks the database this often
RETRY_SECONDS = 1.0  # and this often while the stream is unreachable
MAX_PENDING = 10_000  # events kept for the relay through a stream outage


class RunEventLog:
    """Implements domain.ports.RunEventLog over an EventStream and the run_events table."""

    def __init__(
        self, stream: EventStream, uow: UnitOfWorkFactory, max_pending: int = MAX_PENDING
    ) -> None:
        self._stream = stream
        self._uow = uow
        self._relay_down = False
        # Committed events the stream did not take (an outage), relayed again in order once it
        # answers: at the next publish or relay pass (the sweeper's). Followers meanwhile read
        # them from the database, so losing these (a crash, an overflow) costs latency only.
        self._pending: deque[tuple[str, list[RunEvent], bool]] = deque()
        self._pending_events = 0
        self._max_pending = max_pending
        self._lock = asyncio.Lock()

    async def publish(
        self, account_id: str, events: Sequence[RunEvent], announce: bool = True
    ) -> None:
        """Relay events the caller committed (the run_events table is the outbox; this is its
        relay): one round trip per batch; kept and retried while the stream is down."""
        if not events:
            return
        if not self._pending:  # the usual case: straight out, concurrently with others
            try:
                await self._stream.publish_all(account_id, events, announce)
            except Exception as exc:
                self._went_down(exc)
                self._hold(account_id, events, announce)
                return
            if self._relay_down:
                log.info("run events relayed again")
                self._relay_down = False
            return
        async with self._lock:  # behind what an outage held back, in order
            self._hold(account_id, events, announce)
            await self._relay()

    def _hold(self, account_id: str, events: Sequence[RunEvent], announce: bool) -> None:
        self._pending.append((account_id, list(events), announce))
        self._pending_events += len(events)
        while self._pending_events > self._max_pending and len(self._pending) > 1:
            _, dropped, _ = self._pending.popleft()
            self._pending_events -= len(dropped)

    def _went_down(self, exc: Exception) -> None:
        if not self._relay_down:
            log.warning("run events not relayed (stream unavailable): %s", exc)
        self._relay_down = True

    async def relay_pending(self) -> int:
        """Relay again what an outage held back; returns how many events went out."""
        if not self._pending:
            return 0
        async with self._lock:
            return await self._relay()

    async def _relay(self) -> int:
        relayed = 0
        while self._pending:
            account_id, events, announce = self._pending[0]
            try:
                await self._stream.publish_all(account_id, events, announce)
            except Exception as exc:
                self._went_down(exc)
                return relayed
            self._pending.popleft()
            self._pending_events -= len(events)
            relayed += len(events)
        if self._relay_down:
            log.info("run events relayed again")
            self._relay_down = False
        return relayed

    async def after(self, run_id: str, after_seq: int, limit: int = 1000) -> list[RunEvent]:
        async with self._uow(read_only=True) as uow:
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
