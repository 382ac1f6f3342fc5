"""Composition root: settings -> adapters -> services. The only place that picks adapters."""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from arq.connections import ArqRedis
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.ports import Clock, JobQueue, PasswordHasher, Trainer, UnitOfWorkFactory
from domain.services.accounts import AccountPolicy, AccountService
from domain.services.campaigns import CampaignService
from domain.services.datasets import DatasetService
from domain.services.execution import ExecutionPolicy, RunExecution, Sweeper
from domain.services.experiments import ExperimentService
from domain.services.models import ModelService
from domain.services.outbox import RunOutbox
from domain.services.promotions import PromotionService
from domain.services.runs import RunService
from domain.services.scheduler import DiscountScheduler, SchedulerPolicy
from domain.services.shops import Shops, StoredShops
from domain.views import ViewsFactory
from server.adapters.artifacts.runs import RunFileStore
from server.adapters.artifacts.store import LocalArtifactStore
from server.adapters.artifacts.tables import LocalTableStore
from server.adapters.auth.blocklist import common_passwords
from server.adapters.auth.passwords import Argon2PasswordHasher
from server.adapters.auth.tokens import JwtTokenService
from server.adapters.clock import SystemClock
from server.adapters.db.engine import create_engine, create_session_factory, reading_engine
from server.adapters.db.uow import SqlUnitOfWorkFactory
from server.adapters.db.views import SqlViewsFactory
from server.adapters.events.log import RunEventLog
from server.adapters.events.memory import MemoryEventStream
from server.adapters.events.redis import RedisEventStream
from server.adapters.events.signals import InProcessRunSignals, RedisRunSignals
from server.adapters.jobs.arq import ArqJobQueue
from server.adapters.jobs.inprocess import InProcessJobQueue
from server.adapters.outages import is_outage
from server.adapters.training.catalogue import AutoMLCatalogue
from server.adapters.training.trainer import AutoMLModelStore, AutoMLTrainer
from server.config import Settings
from server.marketplace_wiring import MarketplaceParts, build_marketplace
from server.ratelimit import RateLimits, SubscriptionSlots


@dataclass
class Container:
    """The wired application: what the GraphQL layer, the worker and the CLI use."""

    settings: Settings
    engine: AsyncEngine
    uow: UnitOfWorkFactory
    views: ViewsFactory
    clock: Clock
    accounts: AccountService
    datasets: DatasetService
    experiments: ExperimentService
    runs: RunService
    models: ModelService
    campaigns: CampaignService
    events: RunEventLog
    jobs: JobQueue
    execution: RunExecution
    sweeper: Sweeper
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # -- auth slice (issue 7) --
    ratelimits: RateLimits | None = None
    subscriptions: SubscriptionSlots = field(default_factory=lambda: SubscriptionSlots(20))
    leavers: list[Callable[[], None]] = field(default_factory=list)
    signals: RedisRunSignals | InProcessRunSignals | None = None  # cancels reach workers now
    # -- scheduler slice (issue 9): the discount scheduler and marketplace promotions --
    scheduler: DiscountScheduler | None = None
    promotions: PromotionService | None = None
    # -- marketplace store slice (issue 9): connections, syncs, webhooks, activity --
    marketplace: MarketplaceParts | None = None

    def listen_for_signals(self) -> None:
        """A worker process: interrupt the attempts it executes as their cancels arrive."""
        if isinstance(self.signals, RedisRunSignals):
            self.signals.listen(self.execution)

    def leave(self) -> None:
        """The process is stopping: training stops at once and running attempts are handed
        back (the caller then waits a bounded time before `aclose`). Signal-handler safe."""
        self.execution.leave()
        for leave in self.leavers:
            leave()

    @property
    def runs_in_process(self) -> bool:
        """Embedded mode: this process executes runs (no Redis, no separate workers)."""
        return isinstance(self.jobs, InProcessJobQueue)

    async def aclose(self) -> None:
        for close in reversed(self.closers):
            await close()
        await self.engine.dispose()


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    trainer: Trainer | None = None,
    shops: Shops | None = None,
) -> Container:
    """Build every adapter and service from settings (tests and benchmarks may pass a clock,
    a hasher, a trainer, or the shops the scheduler reaches listings through)."""
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url)
    reader = reading_engine(engine)  # the same pool, in autocommit on PostgreSQL
    uow = SqlUnitOfWorkFactory(create_session_factory(engine), create_session_factory(reader))
    tokens = JwtTokenService(
        settings.signing_key(),
        clock,
        access_ttl=timedelta(minutes=settings.access_token_minutes),
        refresh_ttl=timedelta(days=settings.refresh_token_days),
    )
    files = LocalArtifactStore(
        settings.artifacts_dir, settings.mlflow_tracking_uri, settings.mlflow_artifacts_dir
    )
    tables = LocalTableStore(files, settings.max_upload_bytes)
    closers: list[Callable[[], Awaitable[None]]] = []
    leavers: list[Callable[[], None]] = []

    signals: RedisRunSignals | InProcessRunSignals
    stream: RedisEventStream | MemoryEventStream
    redis: Redis | None = None
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url, socket_connect_timeout=5)
        stream, signals = RedisEventStream(redis), RedisRunSignals(redis)
    else:
        stream, signals = MemoryEventStream(), InProcessRunSignals()
    closers.append(stream.aclose)
    closers.append(signals.aclose)  # closed before the stream (which closes the client)
    events = RunEventLog(stream, uow)
    if trainer is None:
        engine_trainer = AutoMLTrainer(
            files, settings.worker_concurrency, holidays=settings.calendar_holidays
        )

        async def close_trainer() -> None:
            engine_trainer.close()

        closers.append(close_trainer)
        leavers.append(engine_trainer.abandon)
        trainer = engine_trainer
    policy = ExecutionPolicy(
        heartbeat_interval=timedelta(seconds=settings.heartbeat_seconds),
        heartbeat_timeout=timedelta(seconds=settings.heartbeat_timeout_seconds),
        max_attempts=settings.max_run_attempts,
        requeue_after=timedelta(seconds=settings.requeue_after_seconds),
        max_running_per_account=settings.max_running_runs_per_account,
        defer=timedelta(seconds=settings.run_defer_seconds),
        write_retry_for=timedelta(seconds=settings.run_write_retry_seconds),
        transient=is_outage,
    )
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    jobs: ArqJobQueue | InProcessJobQueue
    if settings.redis_url:
        jobs = ArqJobQueue(ArqRedis.from_url(settings.redis_url, socket_connect_timeout=5))
    else:
        jobs = InProcessJobQueue(settings.worker_concurrency)
        leavers.append(jobs.stop_taking)
    outbox = RunOutbox(uow, jobs)
    execution = RunExecution(uow, clock, trainer, events, policy, worker_id, outbox=outbox)
    if isinstance(jobs, InProcessJobQueue):
        jobs.bind(execution)
    if isinstance(signals, InProcessRunSignals):
        signals.bind(execution)
    closers.append(jobs.aclose)
    if hasher is None:
        argon2 = Argon2PasswordHasher(
            threads=settings.password_hash_threads, queue=settings.password_hash_queue
        )

        async def close_hasher() -> None:
            argon2.close()

        closers.append(close_hasher)
        hasher = argon2
    catalogue = AutoMLCatalogue()
    marketplace = build_marketplace(settings, engine, uow, clock, jobs, redis)
    closers.extend(marketplace.closers)
    shops = shops or StoredShops(uow, marketplace.providers)
    policy_accounts = AccountPolicy(common_passwords(), settings.max_accounts_per_email)
    return Container(
        settings=settings,
        engine=engine,
        uow=uow,
        views=SqlViewsFactory(reader, catalogue),
        clock=clock,
        accounts=AccountService(uow, clock, hasher, tokens, policy_accounts),
        datasets=DatasetService(uow, clock, tables),
        experiments=ExperimentService(uow, clock, files, RunFileStore(files), catalogue=catalogue),
        runs=RunService(
            uow,
            clock,
            outbox,
            events,
            settings.max_queued_runs_per_account,
            signals=signals,
            catalogue=catalogue,
        ),
        models=ModelService(uow, AutoMLModelStore(files)),
        campaigns=CampaignService(uow, clock),
        events=events,
        jobs=jobs,
        execution=execution,
        sweeper=Sweeper(uow, clock, outbox, events, policy),
        closers=closers,
        ratelimits=RateLimits(settings),
        subscriptions=SubscriptionSlots(settings.max_subscriptions_per_user),
        leavers=leavers,
        signals=signals,
        scheduler=DiscountScheduler(
            uow,
            clock,
            shops,
            SchedulerPolicy(lookahead=timedelta(seconds=settings.scheduler_tick_seconds)),
            activity=marketplace.activity,
        ),
        promotions=PromotionService(uow, clock, shops),
        marketplace=marketplace,
    )
