"""The SQL unit of work: one session, one transaction, all repositories on it."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any, Self

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.errors import Conflict
from server.adapters.db.accounts import (
    SqlAccountRepository,
    SqlSessionRepository,
    SqlUserRepository,
)
from server.adapters.db.base import CLASH, flush_or_conflict
from server.adapters.db.campaigns import SqlCampaignRepository, SqlDiscountRepository
from server.adapters.db.datasets import SqlDatasetRepository
from server.adapters.db.experiments import SqlExperimentRepository
from server.adapters.db.marketplace import (
    SqlListingRepository,
    SqlMarketplaceConnectionRepository,
    SqlOAuthStateRepository,
    SqlOrderRepository,
    SqlSyncJobRepository,
    SqlWebhookReceiptRepository,
)
from server.adapters.db.models import SqlModelRepository
from server.adapters.db.price_changes import SqlPriceChangeRepository
from server.adapters.db.runs import (
    SqlRunEventRepository,
    SqlRunOutboxRepository,
    SqlRunRepository,
    SqlTrialRepository,
)

log = logging.getLogger(__name__)


class _Pending:
    """A repository whose adapter is not written yet."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, method: str) -> Any:
        raise NotImplementedError(f"The {self._name} repository is not implemented yet.")


class SqlUnitOfWork:
    """`async with uow: ...; await uow.commit()`; leaving without commit rolls back."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], read_only: bool = False) -> None:
        self._sessions = sessions
        self._read_only = read_only

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        self.accounts = SqlAccountRepository(self.session)
        self.users = SqlUserRepository(self.session)
        self.sessions = SqlSessionRepository(self.session)
        self.datasets = SqlDatasetRepository(self.session)
        self.experiments = SqlExperimentRepository(self.session)
        self.runs = SqlRunRepository(self.session)
        self.models = SqlModelRepository(self.session)
        self.campaigns = SqlCampaignRepository(self.session)
        self.discounts = SqlDiscountRepository(self.session)
        self.trials = SqlTrialRepository(self.session)
        self.run_events = SqlRunEventRepository(self.session)
        self.run_outbox = SqlRunOutboxRepository(self.session)
        # Issue 9 slices replace these with their SQL repositories.
        self.marketplace_connections = SqlMarketplaceConnectionRepository(self.session)
        self.listings = SqlListingRepository(self.session)
        self.orders = SqlOrderRepository(self.session)
        self.sync_jobs = SqlSyncJobRepository(self.session)
        self.webhook_receipts = SqlWebhookReceiptRepository(self.session)
        self.oauth_states = SqlOAuthStateRepository(self.session)
        self.price_changes = SqlPriceChangeRepository(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and returns the connection.
        await self.session.close()

    async def flush(self) -> None:
        self._refuse_writes()
        await flush_or_conflict(self.session)

    async def commit(self) -> None:
        self._refuse_writes()
        try:
            await self.session.commit()
        except IntegrityError as exc:
            # A concurrent request won a uniqueness race the service had checked for.
            log.info("integrity error on commit: %s", exc.orig)
            raise Conflict(CLASH) from exc

    def _refuse_writes(self) -> None:
        # Its statements run in autocommit on PostgreSQL: a write would not wait for commit.
        if self._read_only:
            raise RuntimeError("A read-only unit of work writes nothing.")


class SqlUnitOfWorkFactory:
    """Units of work on the engine's sessions; read-only ones on the reading engine's."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        reading: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self._sessions = sessions
        self._reading = reading or sessions

    def __call__(self, *, read_only: bool = False) -> SqlUnitOfWork:
        if read_only:
            return SqlUnitOfWork(self._reading, read_only=True)
        return SqlUnitOfWork(self._sessions)
