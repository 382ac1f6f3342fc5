"""Composition root: settings -> adapters -> services. The only place that picks adapters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.ports import Clock, PasswordHasher, UnitOfWorkFactory
from domain.services.accounts import AccountService
from domain.services.campaigns import CampaignService
from domain.services.datasets import DatasetService
from domain.services.experiments import ExperimentService
from domain.services.runs import RunService
from server.adapters.artifacts.tables import LocalTableStore
from server.adapters.auth.passwords import Argon2PasswordHasher
from server.adapters.auth.tokens import JwtTokenService
from server.adapters.clock import SystemClock
from server.adapters.db.engine import create_engine, create_session_factory
from server.adapters.db.uow import SqlUnitOfWorkFactory
from server.config import Settings


@dataclass
class Container:
    """The wired application: what the GraphQL layer and the CLI use."""

    settings: Settings
    engine: AsyncEngine
    uow: UnitOfWorkFactory
    clock: Clock
    accounts: AccountService
    datasets: DatasetService
    experiments: ExperimentService
    runs: RunService
    campaigns: CampaignService

    async def aclose(self) -> None:
        await self.engine.dispose()


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
) -> Container:
    """Build every adapter and service from settings (tests may pass a clock or hasher)."""
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url)
    uow = SqlUnitOfWorkFactory(create_session_factory(engine))
    tokens = JwtTokenService(
        settings.signing_key(),
        clock,
        access_ttl=timedelta(minutes=settings.access_token_minutes),
        refresh_ttl=timedelta(days=settings.refresh_token_days),
    )
    tables = LocalTableStore(settings.artifacts_dir, settings.max_upload_bytes)
    return Container(
        settings=settings,
        engine=engine,
        uow=uow,
        clock=clock,
        accounts=AccountService(uow, clock, hasher or Argon2PasswordHasher(), tokens),
        datasets=DatasetService(uow, clock, tables),
        experiments=ExperimentService(uow, clock),
        runs=RunService(uow),
        campaigns=CampaignService(uow, clock),
    )
