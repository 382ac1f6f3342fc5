"""ARQ on Redis: the production job queue (`mlproject worker` processes execute the jobs)."""

from __future__ import annotations

import asyncio
import logging

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from domain.model.runs import Run

log = logging.getLogger(__name__)
EXECUTE_RUN = "execute_run"
# A job is tried again each time its run is deferred (its account has no free slot), so ARQ's
# try counter must not end it; stale or finished attempts are refused by the claim anyway.
MAX_JOB_TRIES = 1_000_000


SYNC_MARKETPLACE = "marketplace.sync"


def job_id(run_id: str, attempt: int) -> str:
    return f"run:{run_id}:{attempt}"


def sync_job_id(sync_id: str, attempt: int) -> str:
    return f"{SYNC_MARKETPLACE}:{sync_id}:{attempt}"


# ARQ's enqueue_job, in one round trip instead of three (WATCH, EXISTS, MULTI/EXEC): the
# same job key, result key and queue entry, written only when neither key exists yet.
_ENQUEUE_ONCE = """
if redis.call('exists', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('psetex', KEYS[1], ARGV[1], ARGV[2])
redis.call('zadd', KEYS[3], ARGV[3], ARGV[4])
return 1
"""


class ArqJobQueue:
    """Enqueues with the run's deterministic job id, so an attempt is enqueued at most once."""

    def __init__(self, redis: ArqRedis) -> None:
        self._redis = redis
        self._enqueue_once = redis.register_script(_ENQUEUE_ONCE)

    async def enqueue_run(self, run: Run) -> None:
        await self.enqueue_attempt(run.id, run.attempt)

    async def enqueue_attempt(self, run_id: str, attempt: int) -> None:
        """Put the attempt's job on ARQ's queue unless it is there (or ran) already."""
        await self._enqueue(EXECUTE_RUN, job_id(run_id, attempt), (run_id, attempt))

    async def enqueue_sync(self, sync_id: str, attempt: int) -> None:
        """A marketplace sync's attempt (`marketplace.sync`), at most once per attempt."""
        await self._enqueue(SYNC_MARKETPLACE, sync_job_id(sync_id, attempt), (sync_id, attempt))

    async def _enqueue(self, function: str, key: str, args: tuple[object, ...]) -> None:
        now_ms = timestamp_ms()
        job = serialize_job(function, args, {}, None, now_ms, serializer=self._redis.job_serializer)
        await self._enqueue_once(
            keys=[job_key_prefix + key, result_key_prefix + key, self._redis.default_queue_name],
            args=[self._redis.expires_extra_ms, job, now_ms, key],
        )

    async def aclose(self) -> None:
        await self._redis.aclose()


_OUTAGE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError, OSError)


class OutageTolerantWorker(Worker):
    """An ARQ worker that waits out a Redis outage instead of exiting.

    ARQ's poll loop lets a connection error end the worker, and a job that ends while Redis is
    down would lose its bookkeeping; here both are retried with backoff, and running jobs
    (whose runs write to the database) carry on meanwhile.
    """

    async def _poll_iteration(self) -> None:
        pause = 0.1
        while True:
            try:
                await super()._poll_iteration()
                return
            except _OUTAGE as exc:
                log.warning("job queue unreachable (%s); retrying in %.1f s", exc, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)

    async def finish_job(self, job_id: str, *args: object, **kwargs: object) -> None:
        pause = 0.1
        for _ in range(60):
            try:
                await super().finish_job(job_id, *args, **kwargs)  # type: ignore[arg-type]
                return
            except _OUTAGE as exc:
                log.warning("could not finish job %s (%s); retrying", job_id, exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
        log.error("gave up finishing job %s; its attempt is fenced anyway", job_id)
