"""Ports: what the domain needs from the outside world, as Protocols the adapters implement."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self, TypeVar

from domain.model.accounts import Account, Principal, Role, User
from domain.model.campaigns import Campaign, CampaignStatus, Discount, DiscountStatus
from domain.model.datasets import Dataset, TableProfile
from domain.model.experiments import Experiment, ProblemType
from domain.model.runs import Model, ModelStage, Run, RunStatus
from domain.pagination import Page, PageRequest

T = TypeVar("T")


class Clock(Protocol):
    """Where time comes from (tests freeze it)."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class PasswordHasher(Protocol):
    """A slow key-derivation function for passwords."""

    async def hash(self, password: str) -> str:
        """Hash a password for storage."""
        ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when the password matches the stored hash."""
        ...


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str


class TokenService(Protocol):
    """Issues and checks signed access and refresh tokens."""

    def issue(self, user: User) -> TokenPair:
        """A fresh access and refresh token for the user."""
        ...

    def principal_from_access(self, token: str) -> Principal:
        """The caller an access token names; Unauthenticated if invalid or expired."""
        ...

    def principal_from_refresh(self, token: str) -> Principal:
        """The user a refresh token names; Unauthenticated if invalid or expired."""
        ...


class TableStore(Protocol):
    """Stores uploaded tables as files and profiles them (never in the database)."""

    async def store_csv(
        self, account_id: str, dataset_id: str, chunks: AsyncIterator[bytes]
    ) -> TableProfile:
        """Write the CSV, check it, profile it; InvalidInput when it is not usable."""
        ...

    async def delete(self, storage_key: str) -> None:
        """Remove a stored table (used to undo a failed upload)."""
        ...


@dataclass(frozen=True, slots=True)
class ExperimentFilter:
    dataset_id: str | None = None
    problem_type: ProblemType | None = None
    name_contains: str | None = None


@dataclass(frozen=True, slots=True)
class RunFilter:
    experiment_id: str | None = None
    status: RunStatus | None = None


@dataclass(frozen=True, slots=True)
class ModelFilter:
    experiment_id: str | None = None
    stage: ModelStage | None = None


@dataclass(frozen=True, slots=True)
class CampaignFilter:
    status: CampaignStatus | None = None
    name_contains: str | None = None


@dataclass(frozen=True, slots=True)
class DiscountFilter:
    campaign_id: str | None = None
    listing_id: str | None = None
    status: DiscountStatus | None = None
    as_of: datetime | None = None  # the instant `status` is judged at (see Discount.status_at)


class Repository(Protocol[T]):
    """Account-scoped storage of one kind of entity: nothing crosses accounts."""

    async def add(self, entity: T) -> None: ...
    async def save(self, entity: T) -> None: ...
    async def get(self, account_id: str, entity_id: str) -> T | None: ...
    async def get_many(self, account_id: str, ids: Sequence[str]) -> dict[str, T]: ...
    async def delete(self, account_id: str, entity_id: str) -> None: ...


class AccountRepository(Protocol):
    async def add(self, account: Account) -> None: ...
    async def get(self, account_id: str) -> Account | None: ...
    async def get_many(self, ids: Sequence[str]) -> dict[str, Account]: ...


class UserRepository(Repository[User], Protocol):
    async def get_by_email(self, email: str) -> User | None:
        """Users sign in by e-mail before their account is known, so this is not scoped."""
        ...

    async def page(
        self, account_id: str, request: PageRequest, role: Role | None
    ) -> Page[User]: ...


class DatasetRepository(Repository[Dataset], Protocol):
    async def page(self, account_id: str, request: PageRequest) -> Page[Dataset]: ...


class ExperimentRepository(Repository[Experiment], Protocol):
    async def page(
        self, account_id: str, request: PageRequest, where: ExperimentFilter
    ) -> Page[Experiment]: ...

    async def find_by_name(self, account_id: str, name: str) -> Experiment | None: ...

    async def count_for_dataset(self, account_id: str, dataset_id: str) -> int: ...


class RunRepository(Repository[Run], Protocol):
    async def page(self, account_id: str, request: PageRequest, where: RunFilter) -> Page[Run]: ...

    async def pages_by_experiment(
        self, account_id: str, experiment_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[Run]]:
        """One page of runs for each experiment, in a constant number of queries."""
        ...

    async def count_active(self, account_id: str, experiment_id: str) -> int: ...

    async def delete_for_experiment(self, account_id: str, experiment_id: str) -> None: ...


class ModelRepository(Repository[Model], Protocol):
    async def page(
        self, account_id: str, request: PageRequest, where: ModelFilter
    ) -> Page[Model]: ...

    async def production_by_experiment(
        self, account_id: str, experiment_ids: Sequence[str]
    ) -> dict[str, Model]: ...

    async def by_run(self, account_id: str, run_ids: Sequence[str]) -> dict[str, Model]: ...

    async def delete_for_experiment(self, account_id: str, experiment_id: str) -> None: ...


class CampaignRepository(Repository[Campaign], Protocol):
    async def page(
        self, account_id: str, request: PageRequest, where: CampaignFilter
    ) -> Page[Campaign]: ...


class DiscountRepository(Repository[Discount], Protocol):
    async def page(
        self, account_id: str, request: PageRequest, where: DiscountFilter
    ) -> Page[Discount]: ...

    async def pages_by_campaign(
        self, account_id: str, campaign_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[Discount]]: ...

    async def live_on_listing(self, account_id: str, listing_id: str) -> list[Discount]:
        """Discounts on a listing that are not canceled (for overlap checks)."""
        ...


class UnitOfWork(Protocol):
    """One transaction: commit makes every change visible at once, leaving discards them."""

    accounts: AccountRepository
    users: UserRepository
    datasets: DatasetRepository
    experiments: ExperimentRepository
    runs: RunRepository
    models: ModelRepository
    campaigns: CampaignRepository
    discounts: DiscountRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
