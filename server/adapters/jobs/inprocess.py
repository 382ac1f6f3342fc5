"""The embedded job runner: runs execute as asyncio tasks in the API process."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from domain.model.runs import Run
from domain.services.execution import RunDeferred, RunExecution, Sweeper
from server.adapters.jobs.arq import job_id

log = logging.getLogger(__name__)


class InProcessJobQueue:
    """Same contract as the ARQ queue: a job id runs at most once, `concurrency` at a time."""

    def __init__(self, concurrency: int = 1) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._seen: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._execution: RunExecution | None = None
        self._closing = False

    def bind(self, execution: RunExecution) -> None:
        """The runner and the execution service need each other; wire them after building."""
        self._execution = execution

    async def enqueue_run(self, run: Run) -> None:
        await self.enqueue_attempt(run.id, run.attempt)

    async def enqueue_attempt(self, run_id: str, attempt: int) -> None:
        key = job_id(run_id, attempt)
        if key in self._seen or self._closing:
            return  # closing: the run stays QUEUED and is picked up at the next start
        self._seen.add(key)
        task = asyncio.create_task(self._execute(key, run_id, attempt), name=key)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, key: str, run_id: str, attempt: int) -> None:
        assert self._execution is not None, "InProcessJobQueue.bind() was not called"
        try:
            while True:
                async with self._slots:
                    if self._closing:
                        return
                    try:
                        await self._execution.execute(run_id, attempt)
                        return
                    except RunDeferred as deferred:
                        wait = deferred.seconds  # the account's slots are taken: give ours up
                    except Exception:
                        log.exception("run execution failed", extra={"run_id": run_id})
                        return
                await asyncio.sleep(wait)
        finally:
            # Done: the run has left QUEUED, so nothing enqueues this attempt again, and a
            # duplicate delivery would be refused by the claim anyway.
            self._seen.discard(key)

    def stop_taking(self) -> None:
        """Shutting down: start nothing more (runs handed back wait QUEUED for the next start)."""
        self._closing = True

    async def aclose(self, grace: float = 0.0) -> None:
        """Stop: nothing new starts; executions in flight get `grace` seconds to end (a
        stopping execution hands its attempt back) before they are cancelled."""
        self._closing = True
        tasks = list(self._tasks)
        if tasks and grace > 0:
            await asyncio.wait(tasks, timeout=grace)
        for task in tasks:
            if not task.done():
                log.warning("run.cancelled_at_shutdown", extra={"job_id": task.get_name()})
                task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def sweep_forever(sweeper: Sweeper, interval: float) -> None:
    """Run the sweeper every `interval` seconds until cancelled."""
    while True:
        try:
            await sweeper.sweep()
        except Exception:
            log.exception("sweep failed; will retry")
        await asyncio.sleep(interval)
