"""ARQ worker: executes runs and sweeps crashed ones. Started by `mlproject worker`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from signal import Signals
from typing import Any

from arq import cron, func
from arq.connections import RedisSettings
from arq.worker import Retry, Worker

from domain.ports import Trainer
from domain.services.execution import RunDeferred
from domain.services.shops import Shops
from server.adapters.jobs.arq import (
    EXECUTE_RUN,
    MAX_JOB_TRIES,
    SYNC_MARKETPLACE,
    OutageTolerantWorker,
)
from server.adapters.jobs.discounts import TICK_DISCOUNTS, cron_seconds, tick_discounts
from server.adapters.jobs.inprocess import sweep_forever
from server.bootstrap import build
from server.config import ConfigError, Settings

log = logging.getLogger("mlproject.worker")
JOB_TIMEOUT_SECONDS = 26 * 3600  # longer than the longest run budget allowed (24 h)
SYNC_TIMEOUT_SECONDS = 3600  # a sync cut off here resumes from its last batch when started again


async def execute_run(ctx: dict[str, Any], run_id: str, attempt: int) -> str | None:
    """The ARQ job: one attempt of one run (a no-op for a stale or finished attempt)."""
    try:
        status = await ctx["container"].execution.execute(run_id, attempt)
    except RunDeferred as deferred:  # the account's slots are taken: try again later
        raise Retry(defer=deferred.seconds) from None
    return status.value if status else None


async def sync_marketplace(ctx: dict[str, Any], sync_id: str, attempt: int) -> str | None:
    """The ARQ job `marketplace.sync`: one attempt of one sync (a no-op when stale)."""
    job = await ctx["container"].marketplace.sync.execute(sync_id, attempt)
    return job.status.value if job else None


async def startup(ctx: dict[str, Any]) -> None:
    container = build(ctx["settings"], trainer=ctx.get("trainer"), shops=ctx.get("shops"))
    ctx["container"] = container
    container.listen_for_signals()  # cancels stop trainings at once, not at a heartbeat
    ctx["sweeper"] = asyncio.create_task(
        sweep_forever(container.sweeper, container.settings.sweep_seconds)
    )
    if container.marketplace is not None:  # syncs whose worker was killed are resumed
        ctx["sync_sweeper"] = asyncio.create_task(
            container.marketplace.service.sweep_syncs_forever()
        )
    log.info("worker ready", extra={"concurrency": container.settings.worker_concurrency})


async def shutdown(ctx: dict[str, Any]) -> None:
    for name in ("sweeper", "sync_sweeper"):
        if name in ctx:
            ctx[name].cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ctx[name]
    await ctx["container"].aclose()


class RunWorker(OutageTolerantWorker):
    """ARQ's worker, stopping within seconds. ARQ alone cancels the job's task, while the
    training thread trains on to the end of its budget. Here SIGINT/SIGTERM first tell the
    training to stop (each attempt is then handed back and re-enqueued for another worker);
    ARQ waits up to SHUTDOWN_GRACE_SECONDS for the jobs to return, then cancels the rest."""

    def handle_sig_wait_for_completion(self, signum: Signals) -> None:
        if not self.allow_pick_jobs:  # a second signal: stop waiting
            self.handle_sig(signum)
            return
        self._leave()
        super().handle_sig_wait_for_completion(signum)

    def handle_sig(self, signum: Signals) -> None:
        self._leave()
        super().handle_sig(signum)

    def _leave(self) -> None:
        container = self.ctx.get("container")
        if container is not None:
            container.leave()


def create_worker(
    settings: Settings, trainer: Trainer | None = None, shops: Shops | None = None
) -> Worker:
    """An ARQ worker for the settings (a trainer or the scheduler's shops may be injected,
    e.g. by benchmarks and tests)."""
    if not settings.redis_url:
        raise ConfigError("REDIS_URL must be set to run workers (the embedded mode needs none)")
    return RunWorker(
        functions=[
            func(
                execute_run, name=EXECUTE_RUN, timeout=JOB_TIMEOUT_SECONDS, max_tries=MAX_JOB_TRIES
            ),
            func(
                sync_marketplace, name=SYNC_MARKETPLACE, timeout=SYNC_TIMEOUT_SECONDS, max_tries=3
            ),
        ],
        cron_jobs=[
            cron(
                tick_discounts,
                name=TICK_DISCOUNTS,
                second=cron_seconds(settings.scheduler_tick_seconds),
                microsecond=0,
                unique=True,  # one tick per instant across workers (claims guard the rest)
                timeout=max(60.0, settings.scheduler_tick_seconds * 10),
                max_tries=1,
            )
        ],
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        ctx={"settings": settings, "trainer": trainer, "shops": shops},
        max_jobs=settings.worker_concurrency,
        poll_delay=settings.worker_poll_delay,
        job_timeout=JOB_TIMEOUT_SECONDS,
        keep_result=3600,
        handle_signals=True,
        job_completion_wait=math.ceil(settings.shutdown_grace_seconds),
    )
