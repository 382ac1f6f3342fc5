"""Putting run attempts on the job queue through a transactional outbox.

Whoever queues an attempt (startRun, the sweeper's crash retry) writes an outbox entry in the
same transaction as the run's QUEUED state. After the commit the attempt is enqueued at once if
the queue answers, and the entry removed; if it does not, the relay (the sweeper, in every
worker and in the embedded server) enqueues it later. Job ids are deterministic, so enqueuing
an attempt twice runs it once; a queued run is durable whatever the queue is doing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from domain.ports import JobQueue, UnitOfWorkFactory

log = logging.getLogger(__name__)
ENQUEUE_TIMEOUT_SECONDS = 5.0
RELAY_BATCH = 100


class RunOutbox:
    """Enqueues outbox entries now, or later from the relay."""

    def __init__(
        self, uow: UnitOfWorkFactory, jobs: JobQueue, grace: timedelta = timedelta(seconds=2)
    ) -> None:
        self._uow = uow
        self._jobs = jobs
        self._grace = grace  # entries younger than this are being enqueued by their writer

    async def enqueue(self, entries: Sequence[tuple[str, int]], clear: bool = True) -> int:
        """Enqueue committed entries and remove those that made it; the rest wait for the relay.
        `clear=False` for attempts that have no entry (re-enqueuing lost jobs)."""
        done: list[tuple[str, int]] = []
        for run_id, attempt in entries:
            try:
                await asyncio.wait_for(
                    self._jobs.enqueue_attempt(run_id, attempt), ENQUEUE_TIMEOUT_SECONDS
                )
            except Exception as exc:
                log.warning(
                    "run.enqueue_deferred: the job queue is unavailable (%s); the relay will "
                    "enqueue it",
                    exc,
                    extra={"run_id": run_id, "attempt": attempt},
                )
                break  # the queue is down: do not wait out the timeout once per entry
            done.append((run_id, attempt))
        if done and clear:
            try:
                async with self._uow() as uow:
                    await uow.run_outbox.remove(done)
                    await uow.commit()
            except Exception:
                # Harmless: the relay enqueues them again, which the job ids make a no-op.
                log.warning("could not clear outbox entries", exc_info=True)
        return len(done)

    async def relay(self, now: datetime) -> int:
        """One pass of the relay: enqueue what waited longer than the grace period."""
        async with self._uow(read_only=True) as uow:
            due = await uow.run_outbox.due(now - self._grace, RELAY_BATCH)
        return await self.enqueue(due) if due else 0
