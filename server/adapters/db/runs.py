"""Runs, their trials, events and outbox in SQL (models: server/adapters/db/models.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.model.runs import (
    ACTIVE_STATUSES,
    NewRunEvent,
    Run,
    RunEvent,
    RunStatus,
    StaleAttempt,
    Trial,
)
from domain.pagination import Page, PageRequest, offset_cursor
from domain.ports import ClaimRead, RunFilter
from server.adapters.db import run_statements as statements
from server.adapters.db.base import FieldMapper, SqlRepository, flush_or_conflict, split_row
from server.adapters.db.datasets import SqlDatasetRepository
from server.adapters.db.experiments import SqlExperimentRepository
from server.adapters.db.tables import (
    AccountRow,
    RunEventRow,
    RunOutboxRow,
    RunRow,
    TrialRow,
)

RUNS = FieldMapper(Run, RunRow)
TRIALS = FieldMapper(Trial, TrialRow)
EVENTS = FieldMapper(RunEvent, RunEventRow)


class SqlRunRepository(SqlRepository[Run, RunRow]):
    row = RunRow
    sort_field = "queued_at"

    def to_entity(self, row: RunRow) -> Run:
        return RUNS.to_entity(row)

    def to_values(self, entity: Run) -> dict[str, Any]:
        return RUNS.to_values(entity)

    async def save(self, entity: Run) -> None:
        """Compare-and-set on the version: a concurrent writer makes this a StaleAttempt."""
        await self.save_counting(entity, 0)

    async def save_counting(self, entity: Run, new_events: int) -> int:
        """`save`, taking `new_events` seqs of the run's event counter in the same statement;
        returns the counter (the last seq taken)."""
        values = self.to_values(entity)
        statement = statements.save_run(RUNS.names)
        params = statements.params_of_save(values, new_events)
        last = (await self.session.execute(statement, params)).scalar()
        if last is None:
            raise StaleAttempt(f"Run {entity.id} was changed by someone else; reload it.")
        entity.version += 1
        return int(last)

    async def find(self, run_id: str) -> Run | None:
        row = (await self.session.execute(statements.find_run(), {"p_id": run_id})).first()
        return self.to_entity(cast(Any, row)) if row is not None else None

    async def find_for_claim(self, run_id: str) -> ClaimRead | None:
        experiments, datasets = SqlExperimentRepository, SqlDatasetRepository
        groups = (self.columns(), experiments.columns(), datasets.columns())
        row = (await self.session.execute(statements.claim_read(), {"p_id": run_id})).first()
        if row is None:
            return None
        run, experiment, dataset = split_row(row, *groups)
        return ClaimRead(
            run=self.to_entity(run),
            experiment=experiments(self.session).to_entity(experiment) if experiment else None,
            dataset=datasets(self.session).to_entity(dataset) if dataset else None,
            running=int(row[-1]),
        )

    async def find_by_idempotency_key(self, account_id: str, key: str) -> Run | None:
        row = await self.session.scalar(
            select(RunRow).where(RunRow.account_id == account_id, RunRow.idempotency_key == key)
        )
        return self.to_entity(row) if row is not None else None

    async def stale(self, heartbeat_before: datetime, limit: int) -> list[Run]:
        rows = await self.session.scalars(
            select(RunRow)
            .where(
                RunRow.status.in_([RunStatus.RUNNING, RunStatus.CANCELING]),
                RunRow.heartbeat_at < heartbeat_before,
            )
            .limit(limit)
        )
        return [self.to_entity(row) for row in rows]

    async def queued_before(self, queued_before: datetime, limit: int) -> list[Run]:
        rows = await self.session.scalars(
            select(RunRow)
            .where(RunRow.status == RunStatus.QUEUED, RunRow.queued_at < queued_before)
            .order_by(RunRow.queued_at)
            .limit(limit)
        )
        return [self.to_entity(row) for row in rows]

    async def count_waiting(self, account_id: str, limit: int) -> int:
        return await self._count(account_id, [RunStatus.QUEUED], limit)

    async def count_running(self, account_id: str, limit: int) -> int:
        return await self._count(account_id, [RunStatus.RUNNING, RunStatus.CANCELING], limit)

    async def _count(self, account_id: str, statuses: list[RunStatus], limit: int) -> int:
        where = (RunRow.account_id == account_id, RunRow.status.in_(statuses))
        params = {"p_account_id": account_id}
        counted = await self.session.execute(statements.count_runs(tuple(statuses)), params)
        count = counted.scalar() or 0
        if count + 1 < limit:
            return count  # far from the limit: no need to queue behind anyone
        # Near it: the account row is the lock, so starts and claims of one account queue
        # behind each other for the last places, then count again, seeing what the ones before
        # committed. PostgreSQL locks the row; SQLite ignores FOR UPDATE and begins a
        # transaction only at the first write, so two claims could both count 0 and both run:
        # a no-op write takes its one writer lock before the count instead.
        if self.session.get_bind().dialect.name == "sqlite":
            await self.session.execute(
                update(AccountRow).where(AccountRow.id == account_id).values(id=AccountRow.id)
            )
        else:
            await self.session.execute(
                select(AccountRow.id).where(AccountRow.id == account_id).with_for_update()
            )
        return await self.session.scalar(select(func.count()).where(*where)) or 0

    async def page(self, account_id: str, request: PageRequest, where: RunFilter) -> Page[Run]:
        conditions = []
        if where.experiment_id is not None:
            conditions.append(RunRow.experiment_id == where.experiment_id)
        if where.status is not None:
            conditions.append(RunRow.status == where.status)
        return await self._page(account_id, request, *conditions)

    async def pages_by_experiment(
        self, account_id: str, experiment_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[Run]]:
        return await self._pages_by(RunRow.experiment_id, account_id, experiment_ids, request)

    async def count_active(self, account_id: str, experiment_id: str) -> int:
        count = await self.session.scalar(
            select(func.count()).where(
                RunRow.account_id == account_id,
                RunRow.experiment_id == experiment_id,
                RunRow.status.in_(ACTIVE_STATUSES),
            )
        )
        return count or 0

    async def delete_for_experiment(self, account_id: str, experiment_id: str) -> list[str]:
        deleted = await self.session.scalars(
            delete(RunRow)
            .where(RunRow.account_id == account_id, RunRow.experiment_id == experiment_id)
            .returning(RunRow.id)
        )
        return list(deleted)


class SqlTrialRepository:
    """A run's trials (its leaderboard), per attempt."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, trial: Trial) -> None:
        self.session.add(TrialRow(**TRIALS.to_values(trial)))

    @staticmethod
    def _entity(row: TrialRow) -> Trial:
        return TRIALS.to_entity(row)

    @staticmethod
    def _ranking(descending: bool) -> tuple[Any, ...]:
        score = TrialRow.score.desc() if descending else TrialRow.score.asc()
        # Trials without a score (failed, pruned) come last, then by number.
        return (TrialRow.score.is_(None), score, TrialRow.number)

    async def page(
        self, account_id: str, run_id: str, attempt: int, request: PageRequest, descending: bool
    ) -> Page[Trial]:
        where = (
            TrialRow.account_id == account_id,
            TrialRow.run_id == run_id,
            TrialRow.attempt == attempt,
        )
        total = await self.session.scalar(select(func.count()).select_from(TrialRow).where(*where))
        offset = request.after_offset or 0
        rows = []
        if request.first > 0:
            rows = list(
                await self.session.execute(
                    select(*TrialRow.__table__.columns)
                    .where(*where)
                    .order_by(*self._ranking(descending))
                    .offset(offset)
                    .limit(request.first + 1)
                )
            )
        items = [self._entity(cast(Any, row)) for row in rows[: request.first]]
        return Page(
            items=items,
            cursors=[offset_cursor(offset + i + 1) for i in range(len(items))],
            has_next_page=len(rows) > request.first,
            total_count=total or 0,
        )

    async def numbered(
        self, account_id: str, trials: Sequence[tuple[str, int, int]]
    ) -> dict[str, Trial]:
        if not trials:
            return {}
        wanted = set(trials)
        # Columns, not mapped objects: this also runs on a bare connection (the views).
        rows = await self.session.execute(
            select(*TrialRow.__table__.columns).where(
                TrialRow.account_id == account_id,
                TrialRow.run_id.in_({run_id for run_id, _, _ in wanted}),
                TrialRow.number.in_({number for _, _, number in wanted}),
            )
        )
        return {
            row.run_id: self._entity(cast(Any, row))
            for row in rows
            if (row.run_id, row.attempt, row.number) in wanted
        }

    async def best(
        self, account_id: str, runs: Sequence[tuple[str, int, bool]]
    ) -> dict[str, Trial]:
        if not runs:
            return {}
        wanted = {(run_id, attempt): descending for run_id, attempt, descending in runs}
        rows = await self.session.execute(
            select(*TrialRow.__table__.columns).where(
                TrialRow.account_id == account_id,
                TrialRow.run_id.in_({run_id for run_id, _ in wanted}),
                TrialRow.score.is_not(None),
            )
        )
        best: dict[str, Trial] = {}
        for row in rows:
            descending = wanted.get((row.run_id, row.attempt))
            if descending is None:
                continue  # a trial of an older attempt
            current = best.get(row.run_id)
            sign = 1 if descending else -1
            if current is None or sign * row.score > sign * (current.score or 0.0):
                best[row.run_id] = self._entity(cast(Any, row))
        return best


class SqlRunEventRepository:
    """The event log of runs, numbered by the run's counter column."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(
        self,
        run_id: str,
        events: Sequence[NewRunEvent],
        at: datetime,
        *,
        saving: Run | None = None,
    ) -> list[RunEvent]:
        """The counter moves in the run's save (`saving`), or in the row of a run added in
        this transaction and not yet written, or else on its own (one UPDATE)."""
        if saving is not None:
            last = await SqlRunRepository(self.session).save_counting(saving, len(events))
        elif not events:
            return []
        elif (added := self._unwritten(run_id)) is not None:
            added.event_seq = (added.event_seq or 0) + len(events)
            last = added.event_seq
            # The run's INSERT, counter included, goes first: the flush orders rows of
            # unrelated mappers by class, not by foreign key. A concurrent submit with the
            # same idempotency key clashes here.
            await flush_or_conflict(self.session)
        else:
            counted = await self.session.scalar(
                update(RunRow)
                .where(RunRow.id == run_id)
                .values(event_seq=RunRow.event_seq + len(events))
                .returning(RunRow.event_seq)
                .execution_options(synchronize_session=False)
            )
            if counted is None:
                raise StaleAttempt(f"Run {run_id} no longer exists.")
            last = int(counted)
        first = last - len(events) + 1
        stored = [
            RunEvent(run_id, first + i, at, e.type, e.message, e.progress, e.data)
            for i, e in enumerate(events)
        ]
        if stored:  # a save alone (`saving`, no events) inserts nothing
            rows = [EVENTS.to_values(e) for e in stored]
            await self.session.execute(statements.insert_events(), rows)
        return stored

    def _unwritten(self, run_id: str) -> RunRow | None:
        """The run's row when it was added in this transaction and waits for the flush."""
        return next(
            (row for row in self.session.new if isinstance(row, RunRow) and row.id == run_id),
            None,
        )

    async def after(self, run_id: str, after_seq: int, limit: int) -> list[RunEvent]:
        rows = await self.session.scalars(
            select(RunEventRow)
            .where(RunEventRow.run_id == run_id, RunEventRow.seq > after_seq)
            .order_by(RunEventRow.seq)
            .limit(limit)
        )
        return [EVENTS.to_entity(row) for row in rows]


class SqlRunOutboxRepository:
    """Attempts waiting to be enqueued."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, run_id: str, attempt: int, at: datetime) -> None:
        self.session.add(RunOutboxRow(run_id=run_id, attempt=attempt, created_at=at))

    async def due(self, created_before: datetime, limit: int) -> list[tuple[str, int]]:
        rows = await self.session.execute(
            select(RunOutboxRow.run_id, RunOutboxRow.attempt)
            .where(RunOutboxRow.created_at < created_before)
            .order_by(RunOutboxRow.created_at)
            .limit(limit)
        )
        return [(run_id, attempt) for run_id, attempt in rows]

    async def remove(self, entries: Sequence[tuple[str, int]]) -> None:
        if entries:
            await self.session.execute(
                statements.delete_outbox(),
                [{"p_run_id": run_id, "p_attempt": attempt} for run_id, attempt in entries],
            )
