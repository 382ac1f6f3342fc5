"""Ports: what the domain needs from the outside world, as Protocols the adapters implement."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Any, Protocol, Self, TypeAlias, TypeVar

from domain.errors import InvalidInput
from domain.marketplace import Marketplace
from domain.model.accounts import Account, Principal, Role, SessionFamily, User
from domain.model.campaigns import (
    Campaign,
    CampaignStatus,
    Discount,
    DiscountStatus,
    DueDiscount,
)
from domain.model.datasets import Dataset, TableProfile
from domain.model.experiments import Experiment, ProblemType
from domain.model.marketplace import (
    Listing,
    MarketplaceConnection,
    MarketplaceProvider,
    Order,
    PriceChange,
    PriceChangeReason,
)
from domain.model.models import Model, ModelStage
from domain.model.runs import (
    NewRunEvent,
    Run,
    RunConfig,
    RunEvent,
    RunMetrics,
    RunStatus,
    Trial,
)
from domain.model.shop_sync import MarketplaceActivity, OAuthState, SyncJob, WebhookReceipt
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


@dataclass(frozen=True, slots=True)
class RefreshClaims:
    """What a refresh token names: its user, its session family and its own id."""

    user_id: str
    account_id: str
    session_id: str
    token_id: str


class TokenService(Protocol):
    """Issues and checks signed access and refresh tokens."""

    refresh_ttl: timedelta

    def new_token_id(self) -> str:
        """A fresh unguessable refresh-token id."""
        ...

    def issue(self, user: User, session_id: str, refresh_token_id: str) -> TokenPair:
        """An access token (with the user's token version) and a refresh token of a family."""
        ...

    def principal_from_access(self, token: str) -> Principal:
        """The caller an access token names; Unauthenticated if invalid or expired."""
        ...

    def read_refresh(self, token: str) -> RefreshClaims:
        """The claims of a refresh token; Unauthenticated if invalid or expired."""
        ...


class ArtifactStore(Protocol):
    """Where an account's files live: uploaded datasets, fitted models and tracking runs.

    The one place that turns ids into storage keys (relative, never absolute paths); every
    adapter that stores or reads those files asks it.
    """

    def dataset_key(self, account_id: str, dataset_id: str) -> str: ...

    def model_key(self, account_id: str, run_id: str, attempt: int) -> str:
        """An attempt's fitted model (each attempt writes its own)."""
        ...

    def tracking_experiment(self, account_id: str, experiment_name: str) -> str:
        """The tracking (MLflow) experiment an experiment's runs are logged under."""
        ...

    async def delete(self, key: str) -> None:
        """Remove a stored file by key (a dataset or a model); absent files are fine."""
        ...


class TableStore(Protocol):
    """Stores uploaded tables as files and profiles them (never in the database)."""

    async def store_csv(
        self, account_id: str, dataset_id: str, chunks: AsyncIterator[bytes]
    ) -> TableProfile:
        """Write the CSV, check it, profile it; InvalidInput when it is not usable."""
        ...

    async def delete(self, storage_key: str) -> None:
        """Remove a stored file by key: a table, or a model artifact written beside them."""
        ...


class RunFiles(Protocol):
    """What runs leave outside the database: model files of every attempt, MLflow runs."""

    async def delete_run_files(self, account_id: str, run_ids: Sequence[str]) -> None:
        """Remove every file of these runs (after their rows are gone); never raises."""
        ...


MAX_FILTER_TEXT = 200


class _Filter:
    """Filters hold short texts: a search string or an id, never a document.

    Bounded so that a LIKE pattern stays cheap (SQLite refuses patterns over 50,000 bytes).
    """

    __slots__ = ()

    def __post_init__(self) -> None:
        for spec in fields(self):  # type: ignore[arg-type]
            value = getattr(self, spec.name)
            if isinstance(value, str) and len(value) > MAX_FILTER_TEXT:
                raise InvalidInput(
                    f"The filter's {spec.name.replace('_', ' ')} must be at most "
                    f"{MAX_FILTER_TEXT} characters long (got {len(value)}).",
                    field=f"filter.{spec.name}",
                )


@dataclass(frozen=True, slots=True)
class ExperimentFilter(_Filter):
    dataset_id: str | None = None
    problem_type: ProblemType | None = None
    name_contains: str | None = None


@dataclass(frozen=True, slots=True)
class RunFilter(_Filter):
    experiment_id: str | None = None
    status: RunStatus | None = None


@dataclass(frozen=True, slots=True)
class ClaimRead:
    """What a worker's claim reads, in one query: the run, its experiment and dataset (None
    when either is gone) and how many runs its account runs, counted without a lock (near the
    limit, `RunRepository.count_running` counts again under it)."""

    run: Run
    experiment: Experiment | None
    dataset: Dataset | None
    running: int


@dataclass(frozen=True, slots=True)
class ModelFilter(_Filter):
    experiment_id: str | None = None
    stage: ModelStage | None = None


@dataclass(frozen=True, slots=True)
class CampaignFilter(_Filter):
    status: CampaignStatus | None = None
    name_contains: str | None = None


@dataclass(frozen=True, slots=True)
class DiscountFilter(_Filter):
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
    async def with_email(self, email: str, limit: int) -> list[User]:
        """Users with this e-mail in any account (one per account), most recently signed-in
        first; users sign in before their account is known, so this is not scoped."""
        ...

    async def in_account_with_email(self, account_id: str, email: str) -> User | None: ...

    async def record_login(self, account_id: str, user_id: str, at: datetime) -> None: ...

    async def for_token(
        self, account_id: str, user_id: str, session_id: str
    ) -> tuple[User, bool] | None:
        """The user and whether the session family is live, in one indexed lookup."""
        ...

    async def lock_owners(self, account_id: str) -> int:
        """Lock the account's OWNER rows until commit and count them."""
        ...

    async def page(
        self, account_id: str, request: PageRequest, role: Role | None
    ) -> Page[User]: ...


class SessionRepository(Protocol):
    """Refresh-token session families."""

    async def add(self, family: SessionFamily) -> None: ...
    async def get(self, account_id: str, session_id: str) -> SessionFamily | None: ...

    async def save_if_current(self, family: SessionFamily, expected_jti: str) -> bool:
        """Save unless another request rotated the family first (then False)."""
        ...

    async def save(self, family: SessionFamily) -> None: ...


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

    async def delete_for_experiment(self, account_id: str, experiment_id: str) -> list[str]:
        """Delete the experiment's runs; returns their ids (their files are removed next)."""
        ...

    async def find(self, run_id: str) -> Run | None:
        """Unscoped: for workers and the sweeper, which act for no caller."""
        ...

    async def find_for_claim(self, run_id: str) -> ClaimRead | None:
        """`find`, with what a claim needs besides (see ClaimRead); unscoped."""
        ...

    async def find_by_idempotency_key(self, account_id: str, key: str) -> Run | None: ...

    async def stale(self, heartbeat_before: datetime, limit: int) -> list[Run]:
        """Running runs whose last heartbeat is older than the given instant."""
        ...

    async def queued_before(self, queued_before: datetime, limit: int) -> list[Run]:
        """Runs still QUEUED since before the given instant (their job may be lost)."""
        ...

    async def count_waiting(self, account_id: str, limit: int) -> int:
        """The account's QUEUED runs; near `limit` it serialises concurrent starts of the
        account, so that they cannot all take the last place."""
        ...

    async def count_running(self, account_id: str, limit: int) -> int:
        """The account's RUNNING or CANCELING runs; near `limit` it serialises concurrent
        claims of the account, so two workers cannot both take the last free slot."""
        ...


class ModelRepository(Repository[Model], Protocol):
    async def page(
        self, account_id: str, request: PageRequest, where: ModelFilter
    ) -> Page[Model]: ...

    async def production_by_experiment(
        self, account_id: str, experiment_ids: Sequence[str]
    ) -> dict[str, Model]: ...

    async def by_run(self, account_id: str, run_ids: Sequence[str]) -> dict[str, Model]: ...

    async def delete_for_experiment(self, account_id: str, experiment_id: str) -> list[str]:
        """Delete the experiment's models; returns their artifact keys (files to remove)."""
        ...

    async def delete_for_run(self, account_id: str, run_id: str) -> list[str]:
        """Delete the run's model; returns its artifact keys (files to remove)."""
        ...


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

    # -- the scheduler (across accounts; see domain/services/scheduler.py) --
    async def due(
        self, now: datetime, limit: int, lookahead: timedelta = timedelta(0)
    ) -> list[DueDiscount]:
        """Discounts the scheduler owes an action now (`due_action` is not None; applies
        starting within `lookahead` included), withdrawals first, with their campaign's status
        and the claim an earlier attempt left, if any."""
        ...

    async def claim(
        self, discount_id: str, *, seen: str | None, claim: str, until: datetime, now: datetime
    ) -> bool:
        """Take the discount for one attempt: only if its claim is still `seen` and expired
        (a conditional UPDATE: of two schedulers, one wins)."""
        ...

    async def claim_many(
        self, discount_ids: Sequence[str], *, claim: str, until: datetime, now: datetime
    ) -> list[str]:
        """`claim` for every discount no attempt holds or left behind; the ids it took."""
        ...

    async def record(self, discount: Discount, claim: str) -> bool:
        """Write the marketplace side (state, deal price, ...) and release the claim, only if
        `claim` still holds it (a stale attempt whose claim expired writes nothing)."""
        ...

    async def committed_spend(self, account_id: str, campaign_id: str) -> Decimal:
        """The spend estimates of the campaign's APPLIED discounts."""
        ...


# -- marketplace (issue 9): the store slice owns connections and listings, the scheduler slice
# the price log; their adapters replace the pending placeholders in SqlUnitOfWork.


@dataclass(frozen=True, slots=True)
class ListingFilter(_Filter):
    connection_id: str | None = None
    status: str | None = None
    category: str | None = None
    title_contains: str | None = None
    has_live_discount: bool | None = None
    price_automated: bool | None = None
    as_of: datetime | None = None  # the instant `has_live_discount` is judged at


@dataclass(frozen=True, slots=True)
class PriceChangeFilter(_Filter):
    listing_id: str | None = None
    reason: PriceChangeReason | None = None
    since: datetime | None = None
    until: datetime | None = None


class MarketplaceConnectionRepository(Repository[MarketplaceConnection], Protocol):
    async def for_account(self, account_id: str) -> list[MarketplaceConnection]: ...

    async def with_seller(
        self, provider: MarketplaceProvider, seller_id: str
    ) -> list[MarketplaceConnection]:
        """Connections to one marketplace seller in any account (webhooks name only the
        seller, so this is not scoped)."""
        ...


class ListingRepository(Repository[Listing], Protocol):
    async def page(
        self, account_id: str, request: PageRequest, where: ListingFilter
    ) -> Page[Listing]: ...

    async def stamps(self, account_id: str, ids: Sequence[str]) -> dict[str, datetime]:
        """The stored `updated_at` of the listings that exist, by id (sync skips unchanged)."""
        ...

    async def save_synced(self, listings: Sequence[Listing]) -> None:
        """Insert or update each listing's marketplace fields (never `unit_cost`)."""
        ...


# -- the store slice (issue 9): orders, syncs, webhook receipts, OAuth states, activity.


@dataclass(frozen=True, slots=True)
class OrderFilter(_Filter):
    connection_id: str | None = None
    listing_id: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class OrderRepository(Repository[Order], Protocol):
    async def add_many(self, orders: Sequence[Order]) -> int:
        """Insert the orders not stored yet (with their items); how many were new."""
        ...

    async def page(
        self, account_id: str, request: PageRequest, where: OrderFilter
    ) -> Page[Order]: ...

    async def pages_by_listing(
        self, account_id: str, listing_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[Order]]: ...

    async def stamps(self, account_id: str, ids: Sequence[str]) -> dict[str, datetime]:
        """The stored `updated_at` of the orders that exist, by id."""
        ...

    async def latest_created_at(self, account_id: str, connection_id: str) -> datetime | None: ...


class SyncJobRepository(Repository[SyncJob], Protocol):
    async def unfinished(self, account_id: str, connection_id: str) -> SyncJob | None:
        """The connection's QUEUED or RUNNING full sync, if any."""
        ...

    async def get_for_update(self, sync_id: str) -> SyncJob | None:
        """The sync by id alone (jobs carry ids only), locked for this transaction."""
        ...

    async def resumable(self) -> list[SyncJob]:
        """Every QUEUED or RUNNING sync (re-enqueued at an embedded start)."""
        ...


class WebhookReceiptRepository(Protocol):
    async def add_once(self, receipt: WebhookReceipt) -> bool:
        """Record the notification; False when its id was recorded already (a replay)."""
        ...


class OAuthStateRepository(Protocol):
    async def add(self, state: OAuthState) -> None: ...

    async def take(self, state: str) -> OAuthState | None:
        """The state, removed (single use); None when unknown or taken already."""
        ...


class ActivityFeed(Protocol):
    """An account's marketplace activity, live (memory when embedded, Redis Streams in
    production); a hint stream, not a log: the database holds what matters."""

    async def publish(self, activity: MarketplaceActivity) -> None: ...

    def follow(self, account_id: str) -> AsyncIterator[MarketplaceActivity]: ...


class MarketplaceProviders(Protocol):
    """The marketplaces the server can connect to (Mercado Livre, the simulator speaking its
    API), each behind the same `Marketplace` port and the same HTTP adapter."""

    def marketplace(self, provider: MarketplaceProvider) -> Marketplace: ...

    async def simulated_seller(self, seed: int) -> str:
        """A seller shop the simulator generates from `seed`; its user id."""
        ...

    async def simulated_consent(self, authorization_url: str, seller_id: str | None) -> str:
        """The simulator's consent step, which approves at once: the authorization code its
        redirect carries (a browser does this step on Mercado Livre)."""
        ...


class SyncQueue(Protocol):
    """Where sync jobs wait for a worker; `marketplace.sync:{id}:{attempt}` runs at most once."""

    async def enqueue_sync(self, sync_id: str, attempt: int) -> None: ...


class PriceChangeRepository(Protocol):
    """The append-only price log: entries are added, never changed or deleted."""

    async def add(self, change: PriceChange) -> None: ...

    async def page(
        self, account_id: str, request: PageRequest, where: PriceChangeFilter
    ) -> Page[PriceChange]: ...


class UnitOfWork(Protocol):
    """One transaction: commit makes every change visible at once, leaving discards them.

    The repositories are read-only properties: as plain attributes they would be invariant, and
    an adapter's own repository classes (`SqlRunRepository`...) would not match them."""

    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def users(self) -> UserRepository: ...
    @property
    def sessions(self) -> SessionRepository: ...
    @property
    def datasets(self) -> DatasetRepository: ...
    @property
    def experiments(self) -> ExperimentRepository: ...
    @property
    def runs(self) -> RunRepository: ...
    @property
    def models(self) -> ModelRepository: ...
    @property
    def campaigns(self) -> CampaignRepository: ...
    @property
    def discounts(self) -> DiscountRepository: ...
    @property
    def trials(self) -> TrialRepository: ...
    @property
    def run_events(self) -> RunEventRepository: ...
    @property
    def run_outbox(self) -> RunOutboxRepository: ...
    @property
    def marketplace_connections(self) -> MarketplaceConnectionRepository: ...
    @property
    def listings(self) -> ListingRepository: ...
    @property
    def price_changes(self) -> PriceChangeRepository: ...
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def sync_jobs(self) -> SyncJobRepository: ...
    @property
    def webhook_receipts(self) -> WebhookReceiptRepository: ...
    @property
    def oauth_states(self) -> OAuthStateRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def flush(self) -> None:
        """Send pending writes now, inside the transaction (to order them)."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A unit of work; `read_only` for one that never commits (cheaper: no transaction
        to open and roll back where the database allows it)."""
        ...


# -- runs: execution, events, jobs ---------------------------------------------------------------


class TrialRepository(Protocol):
    async def add(self, trial: Trial) -> None: ...

    async def page(
        self, account_id: str, run_id: str, attempt: int, request: PageRequest, descending: bool
    ) -> Page[Trial]:
        """The attempt's trials, best score first (descending when greater is better)."""
        ...

    async def best(
        self, account_id: str, runs: Sequence[tuple[str, int, bool]]
    ) -> dict[str, Trial]:
        """The best trial of each (run id, attempt, greater is better)."""
        ...

    async def numbered(
        self, account_id: str, trials: Sequence[tuple[str, int, int]]
    ) -> dict[str, Trial]:
        """The trial of each (run id, attempt, trial number), by run id."""
        ...


class RunEventRepository(Protocol):
    """A run's whole event log, the durable truth the live stream relays."""

    async def append(
        self,
        run_id: str,
        events: Sequence[NewRunEvent],
        at: datetime,
        *,
        saving: Run | None = None,
    ) -> list[RunEvent]:
        """Number the events with the run's next seqs and store them, in this transaction
        (the counter is a column of the run, so concurrent writers queue behind each other).
        With `saving`, the run's new state is saved too, in the same write (as `runs.save`:
        StaleAttempt when its version moved on)."""
        ...

    async def after(self, run_id: str, after_seq: int, limit: int) -> list[RunEvent]: ...


class RunOutboxRepository(Protocol):
    """Attempts to put on the job queue, written in the transaction that queues them."""

    async def add(self, run_id: str, attempt: int, at: datetime) -> None: ...

    async def due(self, created_before: datetime, limit: int) -> list[tuple[str, int]]:
        """(run id, attempt) of intents older than the given instant, oldest first."""
        ...

    async def remove(self, entries: Sequence[tuple[str, int]]) -> None: ...


class RunEventLog(Protocol):
    """A run's ordered, gap-free event log: stored by RunEventRepository, relayed live here."""

    async def publish(
        self, account_id: str, events: Sequence[RunEvent], announce: bool = True
    ) -> None:
        """Relay stored (committed) events to live followers, and tell runUpdates subscribers;
        best effort: a follower that misses one reads it from the database."""
        ...

    async def relay_pending(self) -> int:
        """Relay again the committed events a stream outage held back (the relay pass of the
        events' outbox); returns how many went out."""
        ...

    async def after(self, run_id: str, after_seq: int, limit: int = 1000) -> list[RunEvent]:
        """Events with seq > after_seq, oldest first."""
        ...

    def follow(self, run_id: str, after_seq: int) -> AsyncIterator[RunEvent]:
        """Replay what comes after `after_seq`, then yield live events until the run ends."""
        ...

    async def announce(self, account_id: str, run_id: str) -> None:
        """Tell runUpdates subscribers of an account that a run changed."""
        ...

    def announcements(self, account_id: str) -> AsyncIterator[str]:
        """Ids of the account's runs as they change (from now on)."""
        ...


class RunSignals(Protocol):
    """Tells the process executing a run to act now rather than at its next heartbeat (best
    effort: a lost signal costs latency only, the heartbeat notices a cancel anyway)."""

    async def cancel(self, run_id: str, attempt: int) -> None:
        """The run's attempt was asked to stop (its CANCELING state is committed)."""
        ...


class JobQueue(Protocol):
    """Where runs wait for a worker; a job id is enqueued at most once."""

    async def enqueue_run(self, run: Run) -> None: ...

    async def enqueue_attempt(self, run_id: str, attempt: int) -> None:
        """The same, by ids (the outbox relay knows no more)."""
        ...


@dataclass(frozen=True, slots=True)
class TrainingJob:
    """Everything a trainer needs to execute one attempt of a run."""

    run_id: str
    attempt: int
    account_id: str
    experiment_id: str
    experiment_name: str  # as the seller named it; the artifact store places its tracking
    dataset_key: str
    dataset_name: str
    problem_type: ProblemType
    target: str | None
    metric: str
    config: RunConfig
    date_column: str | None = None
    # The dataset's profiled column types: name -> integer, float, boolean, datetime or string
    # (automl.catalogue's ColumnType), so the trainer reads the table as the upload found it.
    column_types: dict[str, str] | None = None


class EngineCatalogue(Protocol):
    """What the AutoML engine offers: algorithms, metrics and column kinds per problem type."""

    def algorithms(self, problem_type: ProblemType) -> tuple[str, ...]:
        """The algorithm families a run of this problem type may search."""
        ...

    def metrics(self, problem_type: ProblemType) -> tuple[str, ...]:
        """The metrics this problem type is scored with; the first is the default."""
        ...

    def greater_is_better(self, metric: str) -> bool:
        """Which way a metric improves (leaderboards, best trials)."""
        ...

    def column_kind(self, column_type: str) -> str:
        """The engine's kind (numeric, boolean, categorical, datetime) of a profiled column
        type (integer, float, boolean, datetime, string)."""
        ...


# What the engine reports while it trains, typed by the trainer adapter. `data` is the
# event's JSON as clients see it in `runEvents`; the domain relays it and reads only the
# typed fields.
@dataclass(frozen=True, slots=True)
class TrialFinished:
    """A trial ended: complete (with a score), pruned, failed, cancelled or timed out."""

    number: int
    algorithm: str
    params: dict[str, Any]
    score: float | None
    status: str
    duration_seconds: float | None
    message: str = ""
    progress: float = 0.0
    data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Best:
    """A trial beat every earlier one."""

    number: int
    algorithm: str
    score: float | None
    message: str = ""
    progress: float = 0.0
    data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    """How far the training is: trials done and the share of the budget used."""

    trials_done: int
    message: str = ""
    progress: float = 0.0
    data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Log:
    """A line worth showing (a trial started, rows dropped, a stop was noticed...)."""

    message: str = ""
    progress: float = 0.0
    data: dict[str, Any] | None = None


TrainingEvent: TypeAlias = TrialFinished | Best | Progress | Log


@dataclass(frozen=True, slots=True)
class TrainingOutcome:
    """What a finished training produced."""

    metrics: RunMetrics  # the run's, and the registered model's
    feature_importances: dict[str, float] | None
    input_schema: dict[str, str]
    artifact_key: str
    mlflow_run_id: str | None


class Trainer(Protocol):
    """Runs the AutoML engine off the event loop, streaming its events back."""

    async def train(
        self,
        job: TrainingJob,
        on_event: Callable[[TrainingEvent], Awaitable[None]],
        should_stop: Callable[[], bool],
    ) -> TrainingOutcome:
        """Raises TrainingCanceled when stopped before any model, TrainingFailed on errors."""
        ...


class TrainingCanceled(Exception):
    """The training stopped on request before it produced a model; `metrics` holds the best
    found so far, if any (kept on a canceled run)."""

    def __init__(self, message: str = "", metrics: RunMetrics | None = None) -> None:
        super().__init__(message)
        self.metrics = metrics


class TrainingFailed(Exception):
    """The training raised; the message is meant for the seller."""


class ModelStore(Protocol):
    """Loads fitted models from their artifacts (cached)."""

    async def predict(
        self, artifact_key: str, rows: list[dict[str, Any]]
    ) -> list[dict[str, Any]]: ...
