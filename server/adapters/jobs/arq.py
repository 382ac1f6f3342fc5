"""ARQ on Redis: the production job queue (`mlproject worker` processes execute the jobs)."""

from __future__ import annotations

from arq.connections import ArqRedis

from domain.model.runs import Run

EXECUTE_RUN = "execute_run"


class ArqJobQueue:
    """Enqueues with the run's deterministic job id, so an attempt is enqueued at most once."""

    def __init__(self, redis: ArqRedis) -> None:
        self._redis = redis

    async def enqueue_run(self, run: Run) -> None:
        await self._redis.enqueue_job(EXECUTE_RUN, run.id, run.attempt, _job_id=run.job_id)

    async def aclose(self) -> None:
        await self._redis.aclose()
