"""The read side in SQL: one account's views, each read on a bare connection.

No session and no identity map: every read selects columns and maps each row straight to a
domain value, through the same repository code the unit of work uses (one mapping per
table). The account is bound once, when the views are built for a caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.model.accounts import Principal
from domain.model.campaigns import Campaign, Discount
from domain.model.datasets import Dataset
from domain.model.experiments import Experiment
from domain.model.marketplace import PriceChange
from domain.model.models import Model
from domain.model.runs import BestTrialQuery, Run, Trial
from domain.pagination import Page, PageRequest
from domain.ports import (
    CampaignFilter,
    DiscountFilter,
    EngineCatalogue,
    ExperimentFilter,
    ModelFilter,
    PriceChangeFilter,
    RunFilter,
)
from domain.services.runs import best_trials
from server.adapters.db.campaigns import SqlCampaignRepository, SqlDiscountRepository
from server.adapters.db.datasets import SqlDatasetRepository
from server.adapters.db.experiments import SqlExperimentRepository
from server.adapters.db.models import SqlModelRepository
from server.adapters.db.price_changes import SqlPriceChangeRepository
from server.adapters.db.runs import SqlRunRepository, SqlTrialRepository


class SqlViews:
    """`Views` of one account; each read takes (and returns) one pooled connection."""

    __slots__ = ("_account", "_catalogue", "_engine", "_turn")

    def __init__(self, engine: AsyncEngine, account_id: str, catalogue: EngineCatalogue) -> None:
        self._engine = engine
        self._account = account_id
        self._catalogue = catalogue
        # One read at a time per caller's views (one request), as a hand-written handler
        # would read: a document's DataLoaders fire together, and each taking a pooled
        # connection at once overflows the pool under load (16 requests x 3 loaders), and
        # overflow connections are opened and closed for every read.
        self._turn = asyncio.Lock()

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self._turn, self._engine.connect() as connection:
            yield connection  # leaving rolls the (read-only) transaction back

    async def datasets(self, ids: Sequence[str]) -> dict[str, Dataset]:
        if not ids:
            return {}
        async with self._read() as c:
            return await SqlDatasetRepository.reading(c).get_many(self._account, ids)

    async def dataset_page(self, request: PageRequest) -> Page[Dataset]:
        async with self._read() as c:
            return await SqlDatasetRepository.reading(c).page(self._account, request)

    async def experiments(self, ids: Sequence[str]) -> dict[str, Experiment]:
        if not ids:
            return {}
        async with self._read() as c:
            return await SqlExperimentRepository.reading(c).get_many(self._account, ids)

    async def experiment_page(
        self, request: PageRequest, where: ExperimentFilter
    ) -> Page[Experiment]:
        async with self._read() as c:
            return await SqlExperimentRepository.reading(c).page(self._account, request, where)

    async def runs(self, ids: Sequence[str]) -> dict[str, Run]:
        if not ids:
            return {}
        async with self._read() as c:
            return await SqlRunRepository.reading(c).get_many(self._account, ids)

    async def run_page(self, request: PageRequest, where: RunFilter) -> Page[Run]:
        async with self._read() as c:
            return await SqlRunRepository.reading(c).page(self._account, request, where)

    async def run_pages_by_experiment(
        self, experiment_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[Run]]:
        if not experiment_ids:
            return {}
        async with self._read() as c:
            return await SqlRunRepository.reading(c).pages_by_experiment(
                self._account, experiment_ids, request
            )

    async def trials(
        self, run_id: str, attempt: int, metric: str, request: PageRequest
    ) -> Page[Trial]:
        async with self._read() as c:
            return await SqlTrialRepository(c).page(  # type: ignore[arg-type]
                self._account, run_id, attempt, request, self._catalogue.greater_is_better(metric)
            )

    async def best_trials(self, queries: Sequence[BestTrialQuery]) -> dict[str, Trial]:
        if not queries:
            return {}
        async with self._read() as c:
            return await best_trials(
                SqlTrialRepository(c),  # type: ignore[arg-type]
                self._account,
                queries,
                self._catalogue.greater_is_better,
            )

    async def models(self, ids: Sequence[str]) -> dict[str, Model]:
        if not ids:
            return {}
        async with self._read() as c:
            return await SqlModelRepository.reading(c).get_many(self._account, ids)

    async def model_page(self, request: PageRequest, where: ModelFilter) -> Page[Model]:
        async with self._read() as c:
            return await SqlModelRepository.reading(c).page(self._account, request, where)

    async def production_models(self, experiment_ids: Sequence[str]) -> dict[str, Model]:
        if not experiment_ids:
            return {}
        async with self._read() as c:
            return await SqlModelRepository.reading(c).production_by_experiment(
                self._account, experiment_ids
            )

    async def models_by_run(self, run_ids: Sequence[str]) -> dict[str, Model]:
        if not run_ids:
            return {}
        async with self._read() as c:
            return await SqlModelRepository.reading(c).by_run(self._account, run_ids)

    async def campaigns(self, ids: Sequence[str]) -> dict[str, Campaign]:
        if not ids:
            return {}
        async with self._read() as c:
            return await SqlCampaignRepository.reading(c).get_many(self._account, ids)

    async def campaign_page(self, request: PageRequest, where: CampaignFilter) -> Page[Campaign]:
        async with self._read() as c:
            return await SqlCampaignRepository.reading(c).page(self._account, request, where)

    async def discounts(self, ids: Sequence[str]) -> dict[str, Discount]:
        if not ids:
            return {}
        async with self._read() as c:
            return await SqlDiscountRepository.reading(c).get_many(self._account, ids)

    async def discount_page(self, request: PageRequest, where: DiscountFilter) -> Page[Discount]:
        async with self._read() as c:
            return await SqlDiscountRepository.reading(c).page(self._account, request, where)

    async def discount_pages_by_campaign(
        self, campaign_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[Discount]]:
        if not campaign_ids:
            return {}
        async with self._read() as c:
            return await SqlDiscountRepository.reading(c).pages_by_campaign(
                self._account, campaign_ids, request
            )

    async def price_change_page(
        self, request: PageRequest, where: PriceChangeFilter
    ) -> Page[PriceChange]:
        async with self._read() as c:
            return await SqlPriceChangeRepository.reading(c).page(self._account, request, where)

    async def price_change_pages_by_listing(
        self, listing_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[PriceChange]]:
        if not listing_ids:
            return {}
        async with self._read() as c:
            return await SqlPriceChangeRepository.reading(c).pages_by_listing(
                self._account, listing_ids, request
            )


class SqlViewsFactory:
    """`ViewsFactory`: the caller's account is the only one their views can read."""

    def __init__(self, engine: AsyncEngine, catalogue: EngineCatalogue) -> None:
        self._engine = engine
        self._catalogue = catalogue

    def __call__(self, principal: Principal) -> SqlViews:
        return SqlViews(self._engine, principal.account_id, self._catalogue)
