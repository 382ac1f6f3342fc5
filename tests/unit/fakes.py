"""Fakes for service tests that take milliseconds: an in-memory unit of work, a job queue and
file stores that record what they were asked, a scripted trainer and a steppable clock.

The run event log is the real one (`server/adapters/events/log.py`) over the memory stream,
reading this unit of work: both are pure Python, so followers wait on events, not on time.

The unit of work keeps the promises the services rely on, and no more:
- a transaction works on a snapshot and commits the rows it touched, all at once; leaving
  without commit discards them;
- a run's `version` is an optimistic lock (`save` and `commit` refuse a stale one with
  StaleAttempt), and (account, idempotency key) is unique (`flush`/`commit` raise Conflict);
- a run's events get gap-free seqs; deleting a run deletes its trials, events and outbox
  entries, and a model or run may not point at a missing run or experiment (Conflict).
Repositories the run services never touch (users, sessions, campaigns...) raise if used.

Engine-shaped values (TrainingEvent, TrainingOutcome) and the run-event payload are built and
read in exactly one function each below, so a change of their shape is a change here only.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, cast

from domain.errors import Conflict
from domain.model.accounts import Principal, Role
from domain.model.datasets import Dataset, DatasetColumn, TableProfile
from domain.model.experiments import Experiment, ProblemType
from domain.model.models import Model, ModelStage
from domain.model.runs import (
    ACTIVE_STATUSES,
    EnsembleMember,
    NewRunEvent,
    Run,
    RunEvent,
    RunMetrics,
    RunStatus,
    StaleAttempt,
    Trial,
)
from domain.pagination import Cursor, Page, PageRequest, offset_cursor
from domain.ports import (
    AccountRepository,
    CampaignRepository,
    ClaimRead,
    DatasetRepository,
    DiscountRepository,
    ExperimentFilter,
    ExperimentRepository,
    ListingRepository,
    MarketplaceConnectionRepository,
    ModelFilter,
    ModelRepository,
    OAuthStateRepository,
    OrderRepository,
    PriceChangeRepository,
    RunEventRepository,
    RunFilter,
    RunOutboxRepository,
    RunRepository,
    SessionRepository,
    SyncJobRepository,
    TrainingCanceled,
    TrainingEvent,
    TrainingJob,
    TrainingOutcome,
    TrialFinished,
    TrialRepository,
    UserRepository,
    WebhookReceiptRepository,
)
from domain.services.execution import ExecutionPolicy, RunExecution, Sweeper
from domain.services.experiments import ExperimentService
from domain.services.outbox import RunOutbox
from domain.services.runs import RunService
from server.adapters.events.log import RunEventLog
from server.adapters.events.memory import MemoryEventStream

E = TypeVar("E")
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
WAIT_SECONDS = 5.0  # a guard against a hung test, never a measurement


# -- time --------------------------------------------------------------------------------------


class FrozenClock:
    """Time stands still until a test moves it."""

    def __init__(self, now: datetime = START) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now


# -- the database ------------------------------------------------------------------------------

TABLES = ("accounts", "datasets", "experiments", "runs", "models", "trials", "events", "outbox")


class FakeDatabase:
    """The committed state, one dict per table; units of work snapshot it and commit to it."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[Any, Any]] = {name: {} for name in TABLES}
        self._meetings: dict[str, asyncio.Barrier] = {}

    def meet_at(self, point: str, parties: int) -> None:
        """Make the next `parties` callers wait for each other at `point` (say
        "runs.find_by_idempotency_key") before any goes on: how a test stages a race."""
        self._meetings[point] = asyncio.Barrier(parties)

    async def reached(self, point: str) -> None:
        meeting = self._meetings.get(point)
        if meeting is not None:
            await meeting.wait()
            self._meetings.pop(point, None)  # once: later callers go straight on

    def rows(self, table: str) -> list[Any]:
        """Committed rows of a table (copies: editing them changes nothing)."""
        return copy.deepcopy(list(self.tables[table].values()))

    def run(self, run_id: str) -> Run:
        return copy.deepcopy(self.tables["runs"][run_id])

    def events(self, run_id: str) -> list[RunEvent]:
        return sorted((e for e in self.rows("events") if e.run_id == run_id), key=lambda e: e.seq)

    def trials(self, run_id: str) -> list[Trial]:
        return [t for t in self.rows("trials") if t.run_id == run_id]

    def outbox(self) -> set[tuple[str, int]]:
        return set(self.tables["outbox"])

    def commit(self, tables: dict[str, dict[Any, Any]], touched: dict[str, set[Any]]) -> None:
        merged = {name: dict(rows) for name, rows in self.tables.items()}
        for name, keys in touched.items():
            for key in keys:
                if key in tables[name]:
                    merged[name][key] = copy.deepcopy(tables[name][key])
                else:
                    merged[name].pop(key, None)
        for key in touched["events"]:  # appended here, yet committed meanwhile by another
            if key in tables["events"] and key in self.tables["events"]:
                raise Conflict(f"Two transactions numbered event {key}; one must wait (fake).")
        _check_unique_keys(merged["runs"].values())
        _check_references(merged)
        self.tables = merged


def _check_unique_keys(runs: Iterable[Run]) -> None:
    seen: set[tuple[str, str]] = set()
    for run in runs:
        if run.idempotency_key is not None:
            key = (run.account_id, run.idempotency_key)
            if key in seen:
                raise Conflict("This clashes with a change made at the same time; try again.")
            seen.add(key)


def _check_references(tables: dict[str, dict[Any, Any]]) -> None:
    """The foreign keys without ON DELETE CASCADE: deleting what is still pointed at fails."""
    for model in tables["models"].values():
        if model.run_id not in tables["runs"] or model.experiment_id not in tables["experiments"]:
            raise Conflict(f"Model {model.id} points at a deleted run or experiment.")
    for run in tables["runs"].values():
        if run.experiment_id not in tables["experiments"]:
            raise Conflict(f"Run {run.id} points at a deleted experiment.")
    for experiment in tables["experiments"].values():
        if experiment.dataset_id not in tables["datasets"]:
            raise Conflict(f"Experiment {experiment.id} points at a deleted dataset.")


class FakeUnitOfWork:
    """One transaction over a snapshot of the FakeDatabase."""

    accounts: AccountRepository
    users: UserRepository
    sessions: SessionRepository
    datasets: DatasetRepository
    experiments: ExperimentRepository
    runs: RunRepository
    models: ModelRepository
    campaigns: CampaignRepository
    discounts: DiscountRepository
    trials: TrialRepository
    run_events: RunEventRepository
    run_outbox: RunOutboxRepository
    marketplace_connections: MarketplaceConnectionRepository
    listings: ListingRepository
    price_changes: PriceChangeRepository
    orders: OrderRepository
    sync_jobs: SyncJobRepository
    webhook_receipts: WebhookReceiptRepository
    oauth_states: OAuthStateRepository

    def __init__(self, db: FakeDatabase, read_only: bool = False) -> None:
        self.db = db
        self.read_only = read_only

    async def __aenter__(self) -> Self:
        self.tables = copy.deepcopy(self.db.tables)
        self.touched: dict[str, set[Any]] = {name: set() for name in TABLES}
        self.run_versions: dict[str, int] = {}  # the version each saved run was read at
        self.accounts = FakeAccounts(self)
        self.datasets = FakeDatasets(self, "datasets")
        self.experiments = FakeExperiments(self, "experiments")
        self.runs = FakeRuns(self, "runs", sort_field="queued_at")
        self.models = FakeModels(self, "models")
        self.trials = FakeTrials(self)
        self.run_events = FakeRunEvents(self)
        self.run_outbox = FakeRunOutbox(self)
        self.users = cast(UserRepository, _NotFaked("users"))
        self.sessions = cast(SessionRepository, _NotFaked("sessions"))
        self.campaigns = cast(CampaignRepository, _NotFaked("campaigns"))
        self.discounts = cast(DiscountRepository, _NotFaked("discounts"))
        self.marketplace_connections = cast(
            MarketplaceConnectionRepository, _NotFaked("marketplace_connections")
        )
        self.listings = cast(ListingRepository, _NotFaked("listings"))
        self.price_changes = cast(PriceChangeRepository, _NotFaked("price_changes"))
        self.orders = cast(OrderRepository, _NotFaked("orders"))
        self.sync_jobs = cast(SyncJobRepository, _NotFaked("sync_jobs"))
        self.webhook_receipts = cast(WebhookReceiptRepository, _NotFaked("webhook_receipts"))
        self.oauth_states = cast(OAuthStateRepository, _NotFaked("oauth_states"))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.tables = {}  # whatever was not committed is gone

    async def flush(self) -> None:
        """Uniqueness is checked against what others committed, as an INSERT would be."""
        runs = dict(self.db.tables["runs"])
        for key in self.touched["runs"]:
            if key in self.tables["runs"]:
                runs[key] = self.tables["runs"][key]
            else:
                runs.pop(key, None)
        _check_unique_keys(runs.values())

    async def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("A read-only unit of work writes nothing.")
        await self.db.reached("commit")
        for run_id, version in self.run_versions.items():
            committed = self.db.tables["runs"].get(run_id)
            if committed is None or committed.version != version:
                raise StaleAttempt(f"Run {run_id} was changed by someone else; reload it.")
        self.db.commit(self.tables, self.touched)
        self.touched = {name: set() for name in TABLES}
        self.run_versions = {}

    # -- rows, for the repositories ------------------------------------------------------------
    def all(self, table: str) -> list[Any]:
        return list(self.tables[table].values())

    def put(self, table: str, key: Any, row: Any) -> None:
        self.tables[table][key] = copy.deepcopy(row)
        self.touched[table].add(key)

    def drop(self, table: str, key: Any) -> None:
        self.tables[table].pop(key, None)
        self.touched[table].add(key)


class FakeUnitOfWorkFactory:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def __call__(self, *, read_only: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.db, read_only)


class _NotFaked:
    """A repository the fakes do not offer yet: say so instead of failing obscurely."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, method: str) -> Any:
        raise NotImplementedError(
            f"FakeUnitOfWork has no {self._name} repository; add one to tests/unit/fakes.py."
        )


# -- repositories ------------------------------------------------------------------------------


class FakeRepository(Generic[E]):
    """Account-scoped rows of one table; reads return copies, as a database would."""

    def __init__(self, uow: FakeUnitOfWork, table: str, sort_field: str = "created_at") -> None:
        self._uow = uow
        self._table = table
        self._sort = sort_field

    def _rows(self, account_id: str | None = None) -> list[E]:
        rows = self._uow.all(self._table)
        return [copy.deepcopy(r) for r in rows if account_id in (None, r.account_id)]

    async def add(self, entity: E) -> None:
        self._uow.put(self._table, entity.id, entity)  # type: ignore[attr-defined]

    async def save(self, entity: E) -> None:
        if entity.id in self._uow.tables[self._table]:  # type: ignore[attr-defined]
            self._uow.put(self._table, entity.id, entity)  # type: ignore[attr-defined]

    async def get(self, account_id: str, entity_id: str) -> E | None:
        await self._uow.db.reached(f"{self._table}.get")
        return (await self.get_many(account_id, [entity_id])).get(entity_id)

    async def get_many(self, account_id: str, ids: Sequence[str]) -> dict[str, E]:
        wanted = set(ids)
        return {r.id: r for r in self._rows(account_id) if r.id in wanted}  # type: ignore[attr-defined]

    async def delete(self, account_id: str, entity_id: str) -> None:
        if await self.get(account_id, entity_id) is not None:
            self._uow.drop(self._table, entity_id)

    def _page(self, rows: list[E], request: PageRequest) -> Page[E]:
        """Newest first, keyset after the cursor, as the SQL repositories page."""

        def key(row: Any) -> tuple[datetime, str]:
            return (getattr(row, self._sort), row.id)

        ranked = sorted(rows, key=key, reverse=True)
        if request.after is not None:
            ranked = [r for r in ranked if key(r) < (request.after.at, request.after.id)]
        items = ranked[: request.first]
        return Page(
            items=items,
            cursors=[Cursor(*key(item)).encode() for item in items],
            has_next_page=len(ranked) > request.first,
            total_count=len(rows),
        )


class FakeAccounts:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def add(self, account: Any) -> None:
        self._uow.put("accounts", account.id, account)

    async def get(self, account_id: str) -> Any:
        return copy.deepcopy(self._uow.tables["accounts"].get(account_id))

    async def get_many(self, ids: Sequence[str]) -> dict[str, Any]:
        return {i: a for i in ids if (a := await self.get(i)) is not None}


class FakeDatasets(FakeRepository[Dataset]):
    async def page(self, account_id: str, request: PageRequest) -> Page[Dataset]:
        return self._page(self._rows(account_id), request)


class FakeExperiments(FakeRepository[Experiment]):
    async def page(
        self, account_id: str, request: PageRequest, where: ExperimentFilter
    ) -> Page[Experiment]:
        rows = [
            e
            for e in self._rows(account_id)
            if where.dataset_id in (None, e.dataset_id)
            and where.problem_type in (None, e.problem_type)
            and (where.name_contains or "").lower() in e.name.lower()
        ]
        return self._page(rows, request)

    async def find_by_name(self, account_id: str, name: str) -> Experiment | None:
        return next((e for e in self._rows(account_id) if e.name == name), None)

    async def count_for_dataset(self, account_id: str, dataset_id: str) -> int:
        return sum(e.dataset_id == dataset_id for e in self._rows(account_id))


class FakeRuns(FakeRepository[Run]):
    async def save(self, entity: Run) -> None:
        """Compare-and-set on the version: against this transaction's own write of the run,
        else the latest committed one (as an UPDATE ... WHERE version = ? sees them)."""
        mine = entity.id in self._uow.touched["runs"]
        current = (self._uow.tables if mine else self._uow.db.tables)["runs"].get(entity.id)
        if current is None or current.version != entity.version:
            raise StaleAttempt(f"Run {entity.id} was changed by someone else; reload it.")
        self._uow.run_versions.setdefault(entity.id, entity.version)
        entity.version += 1
        self._uow.put("runs", entity.id, entity)

    async def delete(self, account_id: str, entity_id: str) -> None:
        if await self.get(account_id, entity_id) is None:
            return
        self._uow.drop("runs", entity_id)
        for table in ("trials", "events", "outbox"):  # ON DELETE CASCADE
            for key, row in list(self._uow.tables[table].items()):
                if _run_of(table, key, row) == entity_id:
                    self._uow.drop(table, key)

    async def page(self, account_id: str, request: PageRequest, where: RunFilter) -> Page[Run]:
        rows = [
            r
            for r in self._rows(account_id)
            if where.experiment_id in (None, r.experiment_id) and where.status in (None, r.status)
        ]
        return self._page(rows, request)

    async def pages_by_experiment(
        self, account_id: str, experiment_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[Run]]:
        return {
            e: await self.page(account_id, request, RunFilter(experiment_id=e))
            for e in experiment_ids
        }

    async def count_active(self, account_id: str, experiment_id: str) -> int:
        return sum(
            r.experiment_id == experiment_id and r.status in ACTIVE_STATUSES
            for r in self._rows(account_id)
        )

    async def delete_for_experiment(self, account_id: str, experiment_id: str) -> list[str]:
        ids = [r.id for r in self._rows(account_id) if r.experiment_id == experiment_id]
        for run_id in ids:
            await self.delete(account_id, run_id)
        return ids

    async def find(self, run_id: str) -> Run | None:
        await self._uow.db.reached("runs.find")
        return next((r for r in self._rows() if r.id == run_id), None)

    async def find_for_claim(self, run_id: str) -> ClaimRead | None:
        run = await self.find(run_id)
        if run is None:
            return None
        experiment = await self._uow.experiments.get(run.account_id, run.experiment_id)
        dataset = experiment and await self._uow.datasets.get(run.account_id, experiment.dataset_id)
        running = await self.count_running(run.account_id, 0)
        return ClaimRead(run, experiment, dataset or None, running)

    async def find_by_idempotency_key(self, account_id: str, key: str) -> Run | None:
        found = next((r for r in self._rows(account_id) if r.idempotency_key == key), None)
        await self._uow.db.reached("runs.find_by_idempotency_key")
        return found

    async def stale(self, heartbeat_before: datetime, limit: int) -> list[Run]:
        return [
            r
            for r in self._rows()
            if r.status in (RunStatus.RUNNING, RunStatus.CANCELING)
            and r.heartbeat_at is not None
            and r.heartbeat_at < heartbeat_before
        ][:limit]

    async def queued_before(self, queued_before: datetime, limit: int) -> list[Run]:
        rows = [r for r in self._rows() if r.status is RunStatus.QUEUED]
        return sorted((r for r in rows if r.queued_at < queued_before), key=lambda r: r.queued_at)[
            :limit
        ]

    async def count_waiting(self, account_id: str, limit: int) -> int:
        return sum(r.status is RunStatus.QUEUED for r in self._rows(account_id))

    async def count_running(self, account_id: str, limit: int) -> int:
        running = (RunStatus.RUNNING, RunStatus.CANCELING)
        return sum(r.status in running for r in self._rows(account_id))


def _run_of(table: str, key: Any, row: Any) -> str:
    return key[0] if table in ("events", "outbox") else row.run_id


class FakeModels(FakeRepository[Model]):
    async def page(self, account_id: str, request: PageRequest, where: ModelFilter) -> Page[Model]:
        rows = [
            m
            for m in self._rows(account_id)
            if where.experiment_id in (None, m.experiment_id) and where.stage in (None, m.stage)
        ]
        return self._page(rows, request)

    async def production_by_experiment(
        self, account_id: str, experiment_ids: Sequence[str]
    ) -> dict[str, Model]:
        return {
            m.experiment_id: m
            for m in self._rows(account_id)
            if m.experiment_id in experiment_ids and m.stage is ModelStage.PRODUCTION
        }

    async def by_run(self, account_id: str, run_ids: Sequence[str]) -> dict[str, Model]:
        return {m.run_id: m for m in self._rows(account_id) if m.run_id in run_ids}

    async def delete_for_experiment(self, account_id: str, experiment_id: str) -> list[str]:
        return self._delete_where(account_id, lambda m: m.experiment_id == experiment_id)

    async def delete_for_run(self, account_id: str, run_id: str) -> list[str]:
        return self._delete_where(account_id, lambda m: m.run_id == run_id)

    def _delete_where(self, account_id: str, match: Callable[[Model], bool]) -> list[str]:
        doomed = [m for m in self._rows(account_id) if match(m)]
        for model in doomed:
            self._uow.drop("models", model.id)
        return [m.artifact_key for m in doomed if m.artifact_key]


class FakeTrials:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    def _of(self, account_id: str, run_id: str, attempt: int) -> list[Trial]:
        return [
            copy.deepcopy(t)
            for t in self._uow.all("trials")
            if (t.account_id, t.run_id, t.attempt) == (account_id, run_id, attempt)
        ]

    async def add(self, trial: Trial) -> None:
        self._uow.put("trials", trial.id, trial)

    async def page(
        self, account_id: str, run_id: str, attempt: int, request: PageRequest, descending: bool
    ) -> Page[Trial]:
        ranked = _ranked(self._of(account_id, run_id, attempt), descending)
        offset = request.after_offset or 0
        items = ranked[offset : offset + request.first]
        return Page(
            items=items,
            cursors=[offset_cursor(offset + i + 1) for i in range(len(items))],
            has_next_page=len(ranked) > offset + request.first,
            total_count=len(ranked),
        )

    async def best(
        self, account_id: str, runs: Sequence[tuple[str, int, bool]]
    ) -> dict[str, Trial]:
        best = {}
        for run_id, attempt, descending in runs:
            scored = [t for t in self._of(account_id, run_id, attempt) if t.score is not None]
            if scored:
                best[run_id] = _ranked(scored, descending)[0]
        return best

    async def numbered(
        self, account_id: str, trials: Sequence[tuple[str, int, int]]
    ) -> dict[str, Trial]:
        wanted = set(trials)
        return {
            t.run_id: t
            for t in self._uow.all("trials")
            if t.account_id == account_id and (t.run_id, t.attempt, t.number) in wanted
        }


def _ranked(trials: list[Trial], descending: bool) -> list[Trial]:
    sign = -1 if descending else 1
    return sorted(trials, key=lambda t: (t.score is None, sign * (t.score or 0.0), t.number))


class FakeRunEvents:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def append(
        self,
        run_id: str,
        events: Sequence[NewRunEvent],
        at: datetime,
        *,
        saving: Run | None = None,
    ) -> list[RunEvent]:
        if saving is not None:
            await self._uow.runs.save(saving)
        if not events:
            return []
        if run_id not in self._uow.tables["runs"]:
            raise StaleAttempt(f"Run {run_id} no longer exists.")
        last = max((seq for rid, seq in self._uow.tables["events"] if rid == run_id), default=0)
        stored = [
            RunEvent(run_id, last + i + 1, at, e.type, e.message, e.progress, e.data)
            for i, e in enumerate(events)
        ]
        for event in stored:
            self._uow.put("events", (run_id, event.seq), event)
        return stored

    async def after(self, run_id: str, after_seq: int, limit: int) -> list[RunEvent]:
        found = [e for (rid, seq), e in self._uow.tables["events"].items() if rid == run_id]
        return sorted((e for e in found if e.seq > after_seq), key=lambda e: e.seq)[:limit]


class FakeRunOutbox:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def add(self, run_id: str, attempt: int, at: datetime) -> None:
        self._uow.put("outbox", (run_id, attempt), at)

    async def due(self, created_before: datetime, limit: int) -> list[tuple[str, int]]:
        entries = sorted(self._uow.tables["outbox"].items(), key=lambda item: item[1])
        return [key for key, at in entries if at < created_before][:limit]

    async def remove(self, entries: Sequence[tuple[str, int]]) -> None:
        for key in entries:
            if key in self._uow.tables["outbox"]:
                self._uow.drop("outbox", key)


# -- the outside world -------------------------------------------------------------------------


class FakeJobQueue:
    """Records what was enqueued; a job id is enqueued once; `down` makes it refuse."""

    def __init__(self) -> None:
        self.enqueued: list[tuple[str, int]] = []
        self.down = False

    async def enqueue_run(self, run: Run) -> None:
        await self.enqueue_attempt(run.id, run.attempt)

    async def enqueue_attempt(self, run_id: str, attempt: int) -> None:
        if self.down:
            raise ConnectionError("the job queue is down (fake)")
        if (run_id, attempt) not in self.enqueued:
            self.enqueued.append((run_id, attempt))


class FakeFiles:
    """A table store and run-file store that records the files it was asked to delete."""

    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.deleted_runs: list[str] = []

    async def store_csv(
        self, account_id: str, dataset_id: str, chunks: AsyncIterator[bytes]
    ) -> TableProfile:
        raise NotImplementedError("FakeFiles stores no tables; seed datasets directly.")

    def dataset_key(self, account_id: str, dataset_id: str) -> str:
        return f"{account_id}/datasets/{dataset_id}.csv"

    def model_key(self, account_id: str, run_id: str, attempt: int) -> str:
        return f"{account_id}/models/{run_id}/{attempt}.joblib"

    def tracking_experiment(self, account_id: str, experiment_name: str) -> str:
        return f"{account_id}/{experiment_name}"

    async def delete(self, storage_key: str) -> None:
        self.deleted.append(storage_key)

    async def delete_run_files(self, account_id: str, run_ids: Sequence[str]) -> None:
        self.deleted_runs.extend(run_ids)


class FakeCatalogue:
    """The engine's catalogue, reduced to what the run services ask of it."""

    def algorithms(self, problem_type: ProblemType) -> tuple[str, ...]:
        if problem_type is ProblemType.CLUSTERING:
            return ("kmeans",)
        return ("random_forest", "linear")

    def metrics(self, problem_type: ProblemType) -> tuple[str, ...]:
        return ("silhouette",) if problem_type is ProblemType.CLUSTERING else ("rmse", "r2")

    def greater_is_better(self, metric: str) -> bool:
        return metric in {"r2", "silhouette", "roc_auc", "accuracy"}

    def column_kind(self, column_type: str) -> str:
        return "numeric" if column_type in {"integer", "float"} else column_type


# -- the engine --------------------------------------------------------------------------------


def trial_finished(number: int, score: float, algorithm: str = "random_forest") -> TrainingEvent:
    """The engine's report of one finished trial (the one place that knows its shape)."""
    data = {"number": number, "algorithm": algorithm, "params": {}, "cv_score": score}
    return TrialFinished(
        number=number,
        algorithm=algorithm,
        params={},
        score=score,
        status="COMPLETE",
        duration_seconds=0.1,
        message=f"trial {number}: {score}",
        progress=0.1 * number,
        data=data,
    )


def outcome(score: float = 1.5, artifact_key: str = "models/fake.joblib") -> TrainingOutcome:
    """What a training returns (the one place that knows the metrics' shape)."""
    return TrainingOutcome(
        metrics=RunMetrics(
            metric="rmse",
            cv_score=score,
            best_algorithm="random_forest",
            trials=1,
            stopped_reason="max_trials",
            cv={"rmse": score},
            members=(EnsembleMember(1, "random_forest", 1.0, score),),
        ),
        feature_importances={"price": 1.0},
        input_schema={"price": "numeric"},
        artifact_key=artifact_key,
        mlflow_run_id=None,
    )


class ScriptedTrainer:
    """Plays a script: reports `events`, then (with `hold`) trains until released or told to
    stop, reports `after`, then returns `result`, or raises `failure`. Stopped, it raises
    TrainingCanceled, or returns its best so far with `best_on_stop`."""

    def __init__(
        self,
        *events: TrainingEvent,
        result: TrainingOutcome | None = None,
        failure: BaseException | None = None,
        hold: bool = False,
        best_on_stop: bool = False,
        after: Sequence[TrainingEvent] = (),
    ) -> None:
        self.events = events
        self.after = after
        self.result = result or outcome()
        self.failure = failure
        self.hold = hold
        self.best_on_stop = best_on_stop
        self.jobs: list[TrainingJob] = []
        self.holding = asyncio.Event()  # set once every event is reported and it holds
        self.stopped = asyncio.Event()  # set when should_stop() was seen true
        self._released = asyncio.Event()

    def release(self) -> None:
        """Let a holding training finish as if it completed its budget."""
        self._released.set()

    async def train(
        self,
        job: TrainingJob,
        on_event: Callable[[TrainingEvent], Awaitable[None]],
        should_stop: Callable[[], bool],
    ) -> TrainingOutcome:
        self.jobs.append(job)
        for event in self.events:
            await on_event(event)
        self.holding.set()
        while self.hold and not self._released.is_set() and not should_stop():
            # The engine checks should_stop between steps; so does this.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), 0.001)
        if should_stop():
            self.stopped.set()
            if not self.best_on_stop:
                raise TrainingCanceled("stopped before any model (fake)")
        for event in self.after:
            await on_event(event)
        if self.failure is not None:
            raise self.failure
        return self.result


# -- wiring ------------------------------------------------------------------------------------

ANALYST = Principal(user_id="user-1", account_id="account-1", role=Role.ANALYST)
VIEWER = Principal(user_id="user-2", account_id="account-1", role=Role.VIEWER)
# Timings for tests: no heartbeat unless a test asks for one; a crash is 30 s of silence.
QUIET = ExecutionPolicy(heartbeat_interval=timedelta(hours=1), max_attempts=2)
BEATING = ExecutionPolicy(heartbeat_interval=timedelta(milliseconds=1), max_attempts=2)


@dataclass
class FakeStack:
    """The run services wired to fakes, as server/bootstrap.py wires them to real adapters."""

    db: FakeDatabase = field(default_factory=FakeDatabase)
    clock: FrozenClock = field(default_factory=FrozenClock)
    jobs: FakeJobQueue = field(default_factory=FakeJobQueue)
    files: FakeFiles = field(default_factory=FakeFiles)

    def __post_init__(self) -> None:
        self.uow = FakeUnitOfWorkFactory(self.db)
        self.events = RunEventLog(MemoryEventStream(), self.uow)
        self.outbox = RunOutbox(self.uow, self.jobs)
        self.runs = RunService(
            self.uow, self.clock, self.outbox, self.events, catalogue=FakeCatalogue()
        )
        self.experiments = ExperimentService(
            self.uow, self.clock, self.files, self.files, catalogue=FakeCatalogue()
        )

    def execution(
        self, trainer: ScriptedTrainer, policy: ExecutionPolicy = QUIET, worker: str = "w1"
    ) -> RunExecution:
        return RunExecution(
            self.uow, self.clock, trainer, self.events, policy, worker, outbox=self.outbox
        )

    def sweeper(self, policy: ExecutionPolicy = QUIET) -> Sweeper:
        return Sweeper(self.uow, self.clock, self.outbox, self.events, policy)

    async def experiment(self, name: str = "demand", principal: Principal = ANALYST) -> Experiment:
        """The account's regression experiment of this name (made on first use, with a small
        stored dataset)."""
        account = principal.account_id
        async with self.uow() as uow:
            found = await uow.experiments.find_by_name(account, name)
            if found is not None:
                return found
            columns = [
                DatasetColumn("price", "float", 0, 50),
                DatasetColumn("units", "float", 0, 60),
            ]
            dataset = Dataset(account, "sales", f"tables/{name}.csv", 10, 100, columns, START)
            await uow.datasets.add(dataset)
            experiment = Experiment.define(
                account_id=account,
                dataset=dataset,
                name=name,
                description=None,
                problem_type=ProblemType.REGRESSION,
                target="units",
                metric=None,
                metrics=FakeCatalogue().metrics(ProblemType.REGRESSION),
                now=self.clock.now(),
            )
            await uow.experiments.add(experiment)
            await uow.commit()
        return experiment


def status_of(event: RunEvent) -> RunStatus | None:
    """The status a STATUS event reports (the one place that reads its payload)."""
    return RunStatus(event.data["status"]) if event.data and "status" in event.data else None


def statuses(events: Iterable[RunEvent]) -> list[RunStatus]:
    return [s for e in events if (s := status_of(e)) is not None]


async def wait_for_status(events: RunEventLog, run_id: str, status: RunStatus) -> list[RunEvent]:
    """Follow the run's log from its start until it reports `status`; the events up to it."""
    seen: list[RunEvent] = []
    async with asyncio.timeout(WAIT_SECONDS):
        async for event in events.follow(run_id, 0):
            seen.append(event)
            if status_of(event) is status:
                return seen
    raise AssertionError(f"run {run_id} ended without becoming {status.value}: {statuses(seen)}")
