"""The read side: what a caller may see of their account, as typed values.

Writes are use cases (domain/services); reads are views. A read that applies no rule needs
no service method: the API asks `Views` directly, and `Views` is built for one account, so
the account scoping is written once, in the adapter that implements it, and never again per
method. Reads that apply a rule (comparing runs, following a run's events) stay use cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

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
    ExperimentFilter,
    ModelFilter,
    PriceChangeFilter,
    RunFilter,
)


class Views(Protocol):
    """One account's data, read-only; nothing of another account is ever returned.

    Lookups by id return only what exists in the account (absent ids are left out); pages
    are newest first; `*_by_*` lookups answer many parents in a constant number of queries.
    """

    async def datasets(self, ids: Sequence[str]) -> dict[str, Dataset]: ...

    async def dataset_page(self, request: PageRequest) -> Page[Dataset]: ...

    async def experiments(self, ids: Sequence[str]) -> dict[str, Experiment]: ...

    async def experiment_page(
        self, request: PageRequest, where: ExperimentFilter
    ) -> Page[Experiment]: ...

    async def runs(self, ids: Sequence[str]) -> dict[str, Run]: ...

    async def run_page(self, request: PageRequest, where: RunFilter) -> Page[Run]: ...

    async def run_pages_by_experiment(
        self, experiment_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[Run]]:
        """A page of runs for every experiment (each key present, maybe empty)."""
        ...

    async def trials(
        self, run_id: str, attempt: int, metric: str, request: PageRequest
    ) -> Page[Trial]:
        """The attempt's leaderboard, best first by the metric's direction."""
        ...

    async def best_trials(self, queries: Sequence[BestTrialQuery]) -> dict[str, Trial]:
        """The trial to show as each run's best, by run id: the one its delivered model is,
        or (no model yet) the top-scored of the attempt; an ensemble's run names none."""
        ...

    async def models(self, ids: Sequence[str]) -> dict[str, Model]: ...

    async def model_page(self, request: PageRequest, where: ModelFilter) -> Page[Model]: ...

    async def production_models(self, experiment_ids: Sequence[str]) -> dict[str, Model]:
        """The PRODUCTION model of each experiment that has one, by experiment id."""
        ...

    async def models_by_run(self, run_ids: Sequence[str]) -> dict[str, Model]:
        """The model each run registered, by run id."""
        ...

    async def campaigns(self, ids: Sequence[str]) -> dict[str, Campaign]: ...

    async def campaign_page(
        self, request: PageRequest, where: CampaignFilter
    ) -> Page[Campaign]: ...

    async def discounts(self, ids: Sequence[str]) -> dict[str, Discount]: ...

    async def discount_page(self, request: PageRequest, where: DiscountFilter) -> Page[Discount]:
        """A status filter is judged at `where.as_of` (the caller sets it, usually now)."""
        ...

    async def discount_pages_by_campaign(
        self, campaign_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[Discount]]: ...

    async def price_change_page(
        self, request: PageRequest, where: PriceChangeFilter
    ) -> Page[PriceChange]:
        """The price log, newest first."""
        ...

    async def price_change_pages_by_listing(
        self, listing_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[PriceChange]]:
        """Each listing's price history, newest first (Listing.priceHistory)."""
        ...


class ViewsFactory(Protocol):
    """Builds the views of the caller's account: the one place reads are scoped."""

    def __call__(self, principal: Principal) -> Views: ...
