"""Run signals: a cancel reaches the process executing the run at once, instead of at that
run's next heartbeat. In the embedded mode a direct call; with workers, Redis pub/sub on one
channel that every worker listens to. Both are best effort: a lost signal costs latency only,
since each heartbeat reads the run's state too."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis

from domain.services.execution import RunExecution
from server.adapters.events.redis import SharedSubscriptions

log = logging.getLogger(__name__)
PUBLISH_TIMEOUT_SECONDS = 2.0


class InProcessRunSignals:
    """The embedded mode: the API and the runner share a process (and its RunExecution)."""

    def __init__(self) -> None:
        self._execution: RunExecution | None = None

    def bind(self, execution: RunExecution) -> None:
        self._execution = execution

    async def cancel(self, run_id: str, attempt: int) -> None:
        if self._execution is not None:
            self._execution.interrupt(run_id, attempt)

    async def aclose(self) -> None:
        return None


class RedisRunSignals:
    """PUBLISH `<prefix>:runs:cancel` "<run id> <attempt>"; each worker process subscribes once
    (one connection, shared with nothing else) and interrupts the attempt if it executes it."""

    def __init__(self, redis: Redis, prefix: str = "mlp") -> None:
        self._redis = redis
        self._channel = f"{prefix}:runs:cancel"
        self._subscriptions = SharedSubscriptions(redis)
        self._listener: asyncio.Task[None] | None = None

    async def cancel(self, run_id: str, attempt: int) -> None:
        await asyncio.wait_for(
            self._redis.publish(self._channel, f"{run_id} {attempt}"), PUBLISH_TIMEOUT_SECONDS
        )

    def listen(self, execution: RunExecution) -> None:
        """Start interrupting `execution`'s attempts as their cancels arrive (a worker)."""
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(execution), name="run-signals")

    async def _listen(self, execution: RunExecution) -> None:
        pause = 0.1
        while True:
            try:
                async for message in self._subscriptions.listen(self._channel):
                    pause = 0.1
                    run_id, _, attempt = message.partition(" ")
                    execution.interrupt(run_id, int(attempt) if attempt.isdigit() else None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down at subscribe time: the heartbeat covers
                log.warning("cancel signals unavailable (%s); retrying", exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        await self._subscriptions.aclose()
