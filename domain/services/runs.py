"""Starting and canceling runs; comparing them; following their event logs (reads: views)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass

from domain.errors import Conflict, InvalidInput, NotFound
from domain.model.accounts import Principal
from domain.model.experiments import ProblemType
from domain.model.runs import (
    BestTrialQuery,
    NewRunEvent,
    Run,
    RunConfig,
    RunEvent,
    RunStatus,
    StaleAttempt,
    Trial,
)
from domain.ports import (
    Clock,
    EngineCatalogue,
    RunEventLog,
    RunSignals,
    TrialRepository,
    UnitOfWorkFactory,
)
from domain.services.outbox import RunOutbox

log = logging.getLogger(__name__)
MAX_COMPARED_RUNS = 20
CANCEL_TRIES = 5  # a cancel racing the worker's writes is retried this many times
DEFAULT_MAX_QUEUED_RUNS = 20


@dataclass(frozen=True, slots=True)
class ComparedRun:
    """One column of a comparison: the run, its settings and its best trial."""

    run: Run
    best_trial: Trial | None


class RunService:
    """Runs of an account: the use cases (plain reads go through domain/views.py)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        outbox: RunOutbox,
        events: RunEventLog,
        max_queued_per_account: int = DEFAULT_MAX_QUEUED_RUNS,
        signals: RunSignals | None = None,
        *,
        catalogue: EngineCatalogue,
    ) -> None:
        self._uow = uow
        self._catalogue = catalogue
        self._clock = clock
        self._outbox = outbox
        self._events = events
        self._max_queued = max_queued_per_account
        self._signals = signals  # tells the executing worker to stop now, not at a heartbeat

    async def start(
        self,
        principal: Principal,
        experiment_id: str,
        config: RunConfig,
        idempotency_key: str | None = None,
    ) -> Run:
        """Queue a run of the experiment; the same idempotency key returns the same run."""
        principal.require_write()
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 100:
            raise InvalidInput("idempotencyKey must be 1 to 100 characters.", "idempotency_key")
        async with self._uow() as uow:
            experiment = await uow.experiments.get(principal.account_id, experiment_id)
            if experiment is None:
                raise NotFound(f"Experiment {experiment_id!r} was not found.", "experiment_id")
            config.check(
                experiment.problem_type, self._catalogue.algorithms(experiment.problem_type)
            )
            if experiment.problem_type is ProblemType.FORECASTING:
                dataset = await uow.datasets.get(principal.account_id, experiment.dataset_id)
                for name, column in (
                    ("series_id", config.series_id),
                    ("date_column", config.date_column),
                ):
                    if column is not None and (dataset is None or dataset.column(column) is None):
                        raise InvalidInput(f"The dataset has no column {column!r}.", name)
            if idempotency_key is not None:
                existing = await uow.runs.find_by_idempotency_key(
                    principal.account_id, idempotency_key
                )
                if existing is not None:
                    if existing.experiment_id != experiment_id:
                        raise Conflict(
                            "This idempotencyKey was used for another experiment.",
                            "idempotency_key",
                        )
                    return existing
            waiting = await uow.runs.count_waiting(principal.account_id, self._max_queued)
            if waiting >= self._max_queued:
                raise Conflict(
                    f"Your account already has {waiting} runs waiting to start, the most it "
                    f"may have (MAX_QUEUED_RUNS_PER_ACCOUNT={self._max_queued}). Wait for some "
                    "to start, or cancel some, then try again."
                )
            now = self._clock.now()
            run = Run.queue(principal.account_id, experiment_id, config, now, idempotency_key)
            # One transaction: the run, its first event and the intent to enqueue it. Either
            # all of it is stored, or nothing is.
            try:
                await uow.runs.add(run)
                # Numbered in the run's own row, written with it (a concurrent submit with the
                # same key clashes there: Conflict).
                events = await uow.run_events.append(run.id, [NewRunEvent.status(run)], now)
                await uow.run_outbox.add(run.id, run.attempt, now)
                await uow.commit()
            except Conflict:
                if idempotency_key is None:
                    raise
                # A concurrent submit with the same key won the race: answer with its run.
                winner = await self._by_key(principal, idempotency_key)
                if winner is None:
                    raise
                return winner
        # Both at once (the worker's claim, and so its RUNNING event, comes after several
        # database round trips); the claim clears the outbox entry, so no transaction here.
        await asyncio.gather(
            self._events.publish(principal.account_id, events),
            self._outbox.enqueue([(run.id, run.attempt)], clear=False),
        )
        return run

    async def _by_key(self, principal: Principal, key: str) -> Run | None:
        async with self._uow(read_only=True) as uow:
            return await uow.runs.find_by_idempotency_key(principal.account_id, key)

    async def cancel(self, principal: Principal, run_id: str) -> Run:
        """Queued runs cancel at once; running ones move to CANCELING and their worker is told
        at once (its next heartbeat notices the cancel too, should the signal be lost)."""
        principal.require_write()
        for tries_left in reversed(range(CANCEL_TRIES)):
            try:
                async with self._uow() as uow:
                    found = await uow.runs.get(principal.account_id, run_id)
                    if found is None:
                        raise NotFound.of("Run", run_id)
                    run = found
                    now = self._clock.now()
                    run.request_cancel(now)
                    events = await uow.run_events.append(
                        run.id, [NewRunEvent.status(run)], now, saving=run
                    )
                    await uow.run_outbox.remove([(run.id, run.attempt)])
                    await uow.commit()
                break
            except StaleAttempt:
                # The worker wrote the run meanwhile (a heartbeat, a trial): read it again and
                # decide anew; the client asked once and should not see the race.
                if not tries_left:
                    raise
        if run.status is RunStatus.CANCELING and self._signals is not None:
            try:
                await self._signals.cancel(run.id, run.attempt)
            except Exception as exc:  # best effort: the heartbeat is the fallback
                log.warning("cancel signal not sent (%s); the heartbeat will notice", exc)
        await self._events.publish(principal.account_id, events)
        return run

    async def _get_many(self, principal: Principal, ids: Sequence[str]) -> dict[str, Run]:
        async with self._uow(read_only=True) as uow:
            return await uow.runs.get_many(principal.account_id, ids)

    async def compare(self, principal: Principal, ids: Sequence[str]) -> list[ComparedRun]:
        """Runs side by side, in the order asked; all must exist."""
        unique = list(dict.fromkeys(ids))
        if not 1 <= len(unique) <= MAX_COMPARED_RUNS:
            raise InvalidInput(f"Compare from 1 to {MAX_COMPARED_RUNS} runs.", "ids")
        async with self._uow(read_only=True) as uow:
            runs = await uow.runs.get_many(principal.account_id, unique)
            missing = [i for i in unique if i not in runs]
            if missing:
                raise NotFound(f"Run(s) not found: {', '.join(missing)}.", "ids")
            experiments = await uow.experiments.get_many(
                principal.account_id, list({r.experiment_id for r in runs.values()})
            )
            queries = [
                r.best_trial_query(experiments[r.experiment_id].metric) for r in runs.values()
            ]
            best = await best_trials(
                uow.trials,
                principal.account_id,
                [q for q in queries if q is not None],
                self._catalogue.greater_is_better,
            )
        return [ComparedRun(runs[i], best.get(i)) for i in unique]

    async def follow(
        self, principal: Principal, run_id: str, after_seq: int | None
    ) -> AsyncGenerator[RunEvent, None]:
        """The run's events after `after_seq` (all when None), then live until it ends."""
        if after_seq is not None and after_seq < 0:
            raise InvalidInput("afterSeq must be 0 or more.", "after_seq")
        if run_id not in await self._get_many(principal, [run_id]):
            raise NotFound.of("Run", run_id)  # also for other accounts' runs
        async for event in self._events.follow(run_id, after_seq or 0):
            yield event

    async def updates(
        self, principal: Principal, experiment_id: str | None
    ) -> AsyncGenerator[Run, None]:
        """The account's runs (of one experiment, if given) each time they change."""
        if experiment_id is not None:
            async with self._uow(read_only=True) as uow:
                if await uow.experiments.get(principal.account_id, experiment_id) is None:
                    raise NotFound(f"Experiment {experiment_id!r} was not found.", "experiment_id")
        async for run_id in self._events.announcements(principal.account_id):
            run = (await self._get_many(principal, [run_id])).get(run_id)
            if run is not None and experiment_id in (None, run.experiment_id):
                yield run


async def best_trials(
    trials: TrialRepository,
    account_id: str,
    queries: Sequence[BestTrialQuery],
    greater_is_better: Callable[[str], bool],
) -> dict[str, Trial]:
    """The trial to show as each run's best, by run id: the one its delivered model is, or
    (no model yet) the top-scored of the current attempt. An ensemble names none."""
    chosen = [(q.run_id, q.attempt, q.number) for q in queries if q.number is not None]
    ranked = [
        (q.run_id, q.attempt, greater_is_better(q.metric)) for q in queries if q.number is None
    ]
    found = await trials.numbered(account_id, chosen) if chosen else {}
    if ranked:
        found.update(await trials.best(account_id, ranked))
    return found
