"""Marketplace syncs in the embedded mode: asyncio tasks in the API process, one per attempt
(ARQ runs them in production: `ArqJobQueue.enqueue_sync`, worker function `marketplace.sync`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from server.adapters.jobs.arq import sync_job_id

log = logging.getLogger(__name__)

Execute = Callable[[str, int], Awaitable[object]]


class InProcessSyncQueue:
    """Same contract as ARQ's: an attempt's job runs at most once; a few syncs at a time."""

    def __init__(self, concurrency: int = 2) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._seen: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._execute: Execute | None = None
        self._closing = False

    def bind(self, execute: Execute) -> None:
        """The sync service and this queue need each other; wired after building."""
        self._execute = execute

    @property
    def tasks(self) -> set[asyncio.Task[None]]:
        """The syncs in flight (tests cancel one to kill a sync halfway)."""
        return set(self._tasks)

    async def enqueue_sync(self, sync_id: str, attempt: int) -> None:
        key = sync_job_id(sync_id, attempt)
        if key in self._seen or self._closing:
            return  # closing: the sync stays QUEUED and resumes at the next start
        self._seen.add(key)
        task = asyncio.create_task(self._run(sync_id, attempt), name=key)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, sync_id: str, attempt: int) -> None:
        assert self._execute is not None, "InProcessSyncQueue.bind() was not called"
        async with self._slots:
            if self._closing:
                return
            try:
                await self._execute(sync_id, attempt)
            except Exception:
                log.exception("sync execution failed", extra={"sync_id": sync_id})
            finally:
                # Done (or stopped): a later delivery of this attempt is refused by its claim.
                self._seen.discard(sync_job_id(sync_id, attempt))

    async def aclose(self) -> None:
        """Stop: syncs in flight are cancelled; each resumes from its last saved batch."""
        self._closing = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
