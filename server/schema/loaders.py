"""Per-request DataLoaders: every relation costs one batched query, whatever the list size."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader

from domain.model.campaigns import Campaign, Discount
from domain.model.datasets import Dataset
from domain.model.experiments import Experiment
from domain.model.marketplace import PriceChange
from domain.model.models import Model
from domain.model.runs import (
    BestTrialQuery,
    Run,
    Trial,
)
from domain.pagination import Page, PageRequest
from domain.views import Views

V = TypeVar("V")


def by_key(fetch: Callable[[Sequence[str]], Awaitable[dict[str, V]]]) -> DataLoader[str, V | None]:
    async def load(keys: list[str]) -> list[V | None]:
        found = await fetch(keys)
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)


class Loaders:
    """Loaders over one caller's views, so batching never crosses accounts."""

    def __init__(self, views: Views) -> None:
        self.views = views
        self.datasets: DataLoader[str, Dataset | None] = by_key(views.datasets)
        self.experiments: DataLoader[str, Experiment | None] = by_key(views.experiments)
        self.runs: DataLoader[str, Run | None] = by_key(views.runs)
        self.models: DataLoader[str, Model | None] = by_key(views.models)
        self.models_by_run: DataLoader[str, Model | None] = by_key(views.models_by_run)
        self.production_models: DataLoader[str, Model | None] = by_key(views.production_models)
        self.campaigns: DataLoader[str, Campaign | None] = by_key(views.campaigns)
        self.discounts: DataLoader[str, Discount | None] = by_key(views.discounts)
        self.best_trials: DataLoader[BestTrialQuery, Trial | None] = DataLoader(
            load_fn=self._best_trials
        )
        self._run_pages: dict[PageRequest, DataLoader[str, Page[Run]]] = {}
        self._discount_pages: dict[PageRequest, DataLoader[str, Page[Discount]]] = {}
        self._price_pages: dict[PageRequest, DataLoader[str, Page[PriceChange]]] = {}

    async def _best_trials(self, keys: list[BestTrialQuery]) -> list[Trial | None]:
        found = await self.views.best_trials(keys)
        return [found.get(key.run_id) for key in keys]

    def runs_of_experiments(self, request: PageRequest) -> DataLoader[str, Page[Run]]:
        """One loader per distinct page request (`first`/`after`) in the document."""
        if request not in self._run_pages:

            async def load(ids: list[str]) -> list[Page[Run]]:
                pages = await self.views.run_pages_by_experiment(ids, request)
                return [pages[i] for i in ids]

            self._run_pages[request] = DataLoader(load_fn=load)
        return self._run_pages[request]

    def discounts_of_campaigns(self, request: PageRequest) -> DataLoader[str, Page[Discount]]:
        if request not in self._discount_pages:

            async def load(ids: list[str]) -> list[Page[Discount]]:
                pages = await self.views.discount_pages_by_campaign(ids, request)
                return [pages[i] for i in ids]

            self._discount_pages[request] = DataLoader(load_fn=load)
        return self._discount_pages[request]

    def price_history_of_listings(self, request: PageRequest) -> DataLoader[str, Page[PriceChange]]:
        if request not in self._price_pages:

            async def load(ids: list[str]) -> list[Page[PriceChange]]:
                pages = await self.views.price_change_pages_by_listing(ids, request)
                return [pages[i] for i in ids]

            self._price_pages[request] = DataLoader(load_fn=load)
        return self._price_pages[request]
