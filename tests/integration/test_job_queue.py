"""The ARQ job queue on real Redis: an attempt is enqueued at most once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from arq.connections import ArqRedis

from domain.model.runs import Run, RunConfig
from server.adapters.jobs.arq import ArqJobQueue
from tests.e2e.runs.conftest import REDIS_URL
from tests.support.services import require_redis

NOW = datetime(2026, 11, 25, tzinfo=UTC)


@pytest.fixture
async def arq_redis() -> AsyncIterator[ArqRedis]:
    await require_redis(REDIS_URL)
    client = ArqRedis.from_url(REDIS_URL.rsplit("/", 1)[0] + "/10")
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


async def test_enqueuing_an_attempt_twice_queues_one_job(arq_redis: ArqRedis) -> None:
    queue = ArqJobQueue(arq_redis)
    run = Run.queue("acc", "exp", RunConfig(), NOW)
    await queue.enqueue_run(run)
    await queue.enqueue_run(run)
    assert await arq_redis.zcard("arq:queue") == 1
    run.attempt = 2  # a retry is a new job
    await queue.enqueue_run(run)
    assert await arq_redis.zcard("arq:queue") == 2
    jobs = sorted(str(job.job_id) for job in await arq_redis.queued_jobs())
    assert jobs == [f"run:{run.id}:1", f"run:{run.id}:2"]
