"""The worker side of runs: claim an attempt, train, heart-beat, record, finish; and the sweeper.

Every write carries the attempt number and goes through the run's optimistic lock, so a
worker that lost its run (crashed, timed out, superseded by a retry) cannot change it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from domain.errors import Conflict, DomainError
from domain.model.models import Model, ModelStage
from domain.model.runs import (
    NewRunEvent,
    Run,
    RunEvent,
    RunEventType,
    RunMetrics,
    RunStatus,
    StaleAttempt,
    Trial,
)
from domain.ports import (
    Best,
    Clock,
    Log,
    Progress,
    RunEventLog,
    Trainer,
    TrainingCanceled,
    TrainingEvent,
    TrainingFailed,
    TrainingJob,
    TrainingOutcome,
    TrialFinished,
    UnitOfWork,
    UnitOfWorkFactory,
)
from domain.services.outbox import RunOutbox

log = logging.getLogger(__name__)
T = TypeVar("T")

_EVENT_TYPES: dict[type, RunEventType] = {
    TrialFinished: RunEventType.TRIAL,
    Best: RunEventType.BEST,
    Progress: RunEventType.PROGRESS,
    Log: RunEventType.LOG,
}


def _connection_trouble(exc: BaseException) -> bool:
    return isinstance(exc, (ConnectionError, TimeoutError))


@dataclass(frozen=True, slots=True)
class ExecutionPolicy:
    """Timings of the worker protocol."""

    heartbeat_interval: timedelta = timedelta(seconds=2)
    heartbeat_timeout: timedelta = timedelta(seconds=30)
    max_attempts: int = 3
    requeue_after: timedelta = timedelta(seconds=60)
    # Fairness: an account runs at most this many runs at once; a worker that takes one of its
    # runs beyond that hands the job back, to be tried again after about `defer`.
    max_running_per_account: int = 2
    defer: timedelta = timedelta(seconds=5)
    # Outages: writes that fail for a transient reason are retried with backoff this long,
    # then the attempt is abandoned (the sweeper retries it as a new attempt, never FAILED).
    write_retry_for: timedelta = timedelta(seconds=120)
    transient: Callable[[BaseException], bool] = _connection_trouble
    # Engine events (trials, progress, logs) are written in batches: one transaction per this
    # much time (or per `batch_size` events); status changes flush what waits first.
    batch_interval: timedelta = timedelta(milliseconds=250)
    batch_size: int = 100


class RunDeferred(Exception):
    """The run's account already runs its share: try this job again after `seconds`."""

    def __init__(self, run_id: str, seconds: float) -> None:
        super().__init__(f"Run {run_id} waits for a free slot of its account.")
        self.seconds = seconds


class RunAbandoned(Exception):
    """A write kept failing through an outage; the attempt stops and will be retried."""


async def retrying(policy: ExecutionPolicy, what: str, write: Callable[[], Awaitable[T]]) -> T:
    """Run `write`, retrying transient failures (connection errors) with backoff."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + policy.write_retry_for.total_seconds()
    pause = 0.1
    while True:
        try:
            return await write()
        except Exception as exc:
            if isinstance(exc, DomainError) or not policy.transient(exc):
                raise
            if loop.time() + pause > deadline:
                raise RunAbandoned(f"{what} kept failing: {exc}") from exc
            log.warning("run.write_retry: %s failed (%s); retrying", what, exc)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)


class RunExecution:
    """Executes one attempt of a run; safe to call twice for the same attempt."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        trainer: Trainer,
        events: RunEventLog,
        policy: ExecutionPolicy,
        worker_id: str = "worker",
        outbox: RunOutbox | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._trainer = trainer
        self._events = events
        self._policy = policy
        self._worker_id = worker_id
        self._outbox = outbox  # where handed-back attempts are enqueued again
        self._leaving = False
        self._stops: dict[str, tuple[int, asyncio.Event]] = {}  # attempts executing here

    async def execute(self, run_id: str, attempt: int) -> RunStatus | None:
        """Run the attempt to its end; None when it was not this attempt's to run (or it was
        handed back). Raises RunDeferred when the run's account has no free slot."""
        # Registered before the claim: a cancel signal arriving right after the claim commits
        # stops the training before it starts.
        stop = asyncio.Event()
        self._stops[run_id] = (attempt, stop)
        try:
            return await self._execute(run_id, attempt, stop)
        finally:
            if self._stops.get(run_id, (0, None))[1] is stop:
                del self._stops[run_id]

    def interrupt(self, run_id: str, attempt: int | None = None) -> bool:
        """Stop the run's training now if this process executes it (a cancel signal); True
        when it did. The run's state decides what follows: CANCELING ends CANCELED."""
        found = self._stops.get(run_id)
        if found is None or (attempt is not None and found[0] != attempt):
            return False
        found[1].set()
        log.info("run.interrupted", extra={"run_id": run_id, "attempt": found[0]})
        return True

    async def _execute(self, run_id: str, attempt: int, stop: asyncio.Event) -> RunStatus | None:
        try:
            run, job = await retrying(
                self._policy, "claiming the run", lambda: self._claim(run_id, attempt)
            )
        except StaleAttempt as exc:
            log.info("not starting run: %s", exc, extra={"run_id": run_id, "attempt": attempt})
            return None
        except RunAbandoned as exc:
            log.warning("run.abandoned: %s", exc, extra={"run_id": run_id, "attempt": attempt})
            return None
        progress = [0.0]  # the engine's latest progress, written by each heartbeat
        latest = [run]  # the run as last written by this attempt (its version)
        beating = asyncio.create_task(self._heartbeat(run, stop, progress, latest))
        batch = _EventBatch(self, run, attempt, stop)

        async def on_event(event: TrainingEvent) -> None:
            progress[0] = max(progress[0], event.progress)
            await batch.add(event)

        def should_stop() -> bool:  # canceled, lost, or this worker is stopping
            return stop.is_set() or self._leaving

        async def train() -> TrainingOutcome:
            try:
                result = await self._trainer.train(job, on_event, should_stop)
            except TrainingCanceled:
                batch.raise_failure()  # stopped because a batch could not be written
                raise
            batch.raise_failure()
            return result

        outcome: TrainingOutcome | None = None
        partial: RunMetrics | None = None  # the best so far of a canceled training
        error: str | None = None
        try:
            outcome = await train()
            status = RunStatus.SUCCEEDED
        except TrainingCanceled as exc:
            if self._leaving:
                return await self.hand_back(run, attempt)
            status = RunStatus.CANCELED
            partial = exc.metrics
        except TrainingFailed as exc:
            status, error = RunStatus.FAILED, str(exc)
        except StaleAttempt:
            return None
        except RunAbandoned as exc:
            log.warning("run.abandoned: %s", exc, extra={"run_id": run_id, "attempt": attempt})
            return None
        except Exception as exc:
            if self._leaving:
                return await self.hand_back(run, attempt)
            if self._policy.transient(exc):
                log.warning(
                    "run.abandoned: training hit an outage (%s); the attempt will be retried",
                    exc,
                    extra={"run_id": run_id, "attempt": attempt},
                )
                return None
            log.exception("training crashed", extra={"run_id": run_id, "attempt": attempt})
            message = f"Training failed unexpectedly ({type(exc).__name__}): {exc}"
            status, error = RunStatus.FAILED, message[:2000]
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
            await batch.close()
        if self._leaving:
            await batch.flush_quietly()
            return await self.hand_back(run, attempt)
        pending = batch.take()  # written with the final status, in its transaction
        try:
            return await retrying(
                self._policy,
                "finishing the run",
                lambda: self._finish(latest[0], job, status, outcome, error, pending, partial),
            )
        except RunAbandoned as exc:
            log.warning("run.abandoned: %s", exc, extra={"run_id": run_id, "attempt": attempt})
            return None

    def leave(self) -> None:
        """The worker is stopping: every training in flight is told to stop, and its attempt is
        handed back instead of finished. Safe to call from a signal handler."""
        self._leaving = True

    @property
    def leaving(self) -> bool:
        return self._leaving

    async def hand_back(self, run: Run, attempt: int) -> RunStatus | None:
        """Give the attempt back: the run is queued again as a new attempt (its status event
        and enqueue intent written in the same transaction), or ends CANCELED when a cancel
        was asked for."""
        now = self._clock.now()
        try:
            async with self._uow() as uow:
                current = await uow.runs.find(run.id)
                if current is None:
                    return None
                queued = current.hand_back(attempt, now)
                stored = await uow.run_events.append(
                    current.id,
                    [NewRunEvent.status(current, handedBackBy=self._worker_id)],
                    now,
                    saving=current,
                )
                if queued:
                    await uow.run_outbox.add(current.id, current.attempt, now)
                await uow.commit()
        except StaleAttempt as exc:
            log.warning("hand-back refused: %s", exc, extra={"run_id": run.id, "attempt": attempt})
            return None
        log.info("run.handed_back", extra={"run_id": run.id, "attempt": attempt})
        await self._events.publish(current.account_id, stored)
        if queued and self._outbox is not None:
            await self._outbox.enqueue([(current.id, current.attempt)])
        return current.status

    async def _claim(self, run_id: str, attempt: int) -> tuple[Run, TrainingJob]:
        async with self._uow() as uow:
            read = await uow.runs.find_for_claim(run_id)
            if read is None:
                raise StaleAttempt(f"Run {run_id} no longer exists.")
            run, experiment, dataset = read.run, read.experiment, read.dataset
            now = self._clock.now()
            run.claim(attempt, now)
            limit = self._policy.max_running_per_account
            # Far from the limit the count read with the run will do; near it, count again
            # behind the account's lock.
            if read.running + 1 >= limit and (
                await uow.runs.count_running(run.account_id, limit) >= limit
            ):
                base = self._policy.defer.total_seconds()
                raise RunDeferred(run.id, base * random.uniform(0.8, 1.2))
            if experiment is None or dataset is None:
                raise StaleAttempt(f"The experiment or dataset of run {run_id} is gone.")
            claimed = await uow.run_events.append(
                run.id, [NewRunEvent.status(run, worker=self._worker_id)], now, saving=run
            )
            # The attempt is taken: its enqueue intent is done (startRun does not clear it,
            # which saves a transaction per run).
            await uow.run_outbox.remove([(run.id, attempt)])
            await uow.commit()
        await self._events.publish(run.account_id, claimed)
        date_column = next((c.name for c in dataset.columns if c.dtype == "datetime"), None)
        job = TrainingJob(
            run_id=run.id,
            attempt=attempt,
            account_id=run.account_id,
            experiment_id=experiment.id,
            experiment_name=experiment.name,
            dataset_key=dataset.storage_key,
            dataset_name=dataset.name,
            problem_type=experiment.problem_type,
            target=experiment.target,
            metric=experiment.metric,
            config=run.config,
            date_column=date_column,
            column_types={c.name: c.dtype for c in dataset.columns},
        )
        return run, job

    async def record(self, run: Run, attempt: int, event: TrainingEvent) -> None:
        """Store and publish one engine event at once (see `record_many`)."""
        await self.record_many(run, attempt, [event])

    async def record_many(self, run: Run, attempt: int, events: Sequence[TrainingEvent]) -> None:
        """Store a batch of engine events and their trials in one transaction, then publish
        them; refused for a stale attempt; retried through outages."""
        news = [_stored(run, attempt, event) for event in events]
        if not news:
            return

        async def write() -> list[RunEvent]:
            async with self._uow() as uow:
                stored = await self._write_events(uow, run, attempt, news)
                await uow.commit()
            return stored

        stored = await retrying(self._policy, "recording events", write)
        announce = any(new.type is not RunEventType.LOG for new, _ in news)
        await self._events.publish(run.account_id, stored, announce=announce)

    async def _write_events(
        self,
        uow: UnitOfWork,
        run: Run,
        attempt: int,
        news: Sequence[tuple[NewRunEvent, Trial | None]],
    ) -> list[RunEvent]:
        """Within `uow`: the attempt's trials (fenced) and events."""
        trials = [trial for _, trial in news if trial is not None]
        if trials:
            current = await uow.runs.find(run.id)
            if current is None:
                raise StaleAttempt(f"Run {run.id} no longer exists.")
            current.fence(attempt)
        for trial in trials:
            await uow.trials.add(trial)
        return await uow.run_events.append(run.id, [new for new, _ in news], self._clock.now())

    async def _heartbeat(
        self, run: Run, stop: asyncio.Event, progress: list[float], latest: list[Run]
    ) -> None:
        """Keep the attempt alive; notice cancel requests (a fallback: a cancel signal
        usually stops the training first) and lost ownership. A run shorter than one interval
        never beats."""
        interval = self._policy.heartbeat_interval.total_seconds()
        while True:
            await asyncio.sleep(interval)
            try:
                async with self._uow() as uow:
                    current = await uow.runs.find(run.id)
                    if current is None:
                        raise StaleAttempt(f"Run {run.id} no longer exists.")
                    current.beat(run.attempt, progress[0], self._clock.now())
                    await uow.runs.save(current)
                    await uow.commit()
                latest[0] = current
                if current.status is RunStatus.CANCELING:
                    stop.set()
            except StaleAttempt:
                if await self._still_ours(run):
                    continue  # a concurrent write (a cancel request) won the version race
                log.warning("lost the run; stopping", extra={"run_id": run.id})
                stop.set()
                return
            except Exception as exc:
                if not self._policy.transient(exc):
                    log.exception("heartbeat failed; will retry", extra={"run_id": run.id})
                else:
                    log.warning("heartbeat failed (%s); will retry", exc, extra={"run_id": run.id})

    async def _still_ours(self, run: Run) -> bool:
        try:
            async with self._uow(read_only=True) as uow:
                current = await uow.runs.find(run.id)
        except Exception:
            return True  # cannot tell: keep beating, the next beat decides
        return (
            current is not None
            and current.attempt == run.attempt
            and current.status in (RunStatus.RUNNING, RunStatus.CANCELING)
        )

    async def _finish(
        self,
        run: Run,
        job: TrainingJob,
        status: RunStatus,
        outcome: TrainingOutcome | None,
        error: str | None,
        pending: Sequence[tuple[NewRunEvent, Trial | None]] = (),
        partial: RunMetrics | None = None,
    ) -> RunStatus | None:
        """Write the final state, with the engine events still waiting, in one transaction.
        First from the run as this attempt last wrote it (no read: nobody else writes a run
        while it trains, but for a cancel); when its version moved on, read it again."""
        try:
            return await self._finish_from(run, job, status, outcome, error, pending, partial)
        except StaleAttempt:
            pass
        return await self._finish_from(None, job, status, outcome, error, pending, partial)

    async def _finish_from(
        self,
        known: Run | None,
        job: TrainingJob,
        status: RunStatus,
        outcome: TrainingOutcome | None,
        error: str | None,
        pending: Sequence[tuple[NewRunEvent, Trial | None]],
        partial: RunMetrics | None,
    ) -> RunStatus | None:
        now = self._clock.now()
        attempt = job.attempt
        run_id = job.run_id
        try:
            async with self._uow() as uow:
                current = copy.copy(known) if known else await uow.runs.find(run_id)
                if current is None:
                    return None
                current.fence(attempt)
                if current.status is RunStatus.CANCELING:
                    # Asked to stop: the run ends CANCELED whatever the engine returned; its
                    # best score so far is kept on the run, but no model is registered.
                    status = RunStatus.CANCELED
                    if outcome is not None:
                        current.metrics = outcome.metrics
                    elif partial is not None:
                        current.metrics = partial
                elif outcome is not None:
                    current.metrics = outcome.metrics
                    current.mlflow_run_id = outcome.mlflow_run_id
                    current.progress = 1.0
                    await uow.models.add(
                        Model(
                            account_id=current.account_id,
                            experiment_id=current.experiment_id,
                            run_id=current.id,
                            stage=ModelStage.NONE,
                            metrics=outcome.metrics,
                            created_at=now,
                            feature_importances=outcome.feature_importances,
                            artifact_key=outcome.artifact_key,
                            input_schema=outcome.input_schema,
                            problem_type=job.problem_type.value.lower(),
                        )
                    )
                current.error = error
                current.move_to(status, now)
                news = [new for new, _ in pending]
                if error:
                    news.append(NewRunEvent(RunEventType.ERROR, error, None, None))
                news.append(NewRunEvent.status(current))
                for trial in (trial for _, trial in pending if trial is not None):
                    await uow.trials.add(trial)
                # StaleAttempt when `known` was out of date
                stored = await uow.run_events.append(current.id, news, now, saving=current)
                await uow.commit()
        except StaleAttempt:
            if known is not None:
                raise  # read the run again
            log.warning("finish refused: stale attempt", extra={"run_id": run_id})
            return None
        except Conflict as exc:
            log.warning("finish refused: %s", exc, extra={"run_id": run_id, "attempt": attempt})
            return None
        await self._events.publish(current.account_id, stored)
        return status


def _stored(run: Run, attempt: int, event: TrainingEvent) -> tuple[NewRunEvent, Trial | None]:
    """An engine event as the run's log stores it, with its trial when it reports one."""
    new = NewRunEvent(_EVENT_TYPES[type(event)], event.message or None, event.progress, event.data)
    trial = _trial(run, attempt, event) if isinstance(event, TrialFinished) else None
    return new, trial


class _EventBatch:
    """Engine events of one attempt waiting to be written: one transaction per batch, at most
    `batch_interval` after its first event (or at `batch_size` events); what still waits at the
    end goes into the final status change's transaction. A failed write (a stale attempt)
    stops the training and is raised at the next event."""

    def __init__(self, execution: RunExecution, run: Run, attempt: int, stop: asyncio.Event):
        self._execution = execution
        self._run = run
        self._attempt = attempt
        self._stop = stop
        self._waiting: list[TrainingEvent] = []
        self._timer: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._lock = asyncio.Lock()

    async def add(self, event: TrainingEvent) -> None:
        if self._failure is not None:
            raise self._failure
        self._waiting.append(event)
        if len(self._waiting) >= self._execution._policy.batch_size:
            await self._flush()
        elif self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._flush_later())
        if self._failure is not None:
            raise self._failure

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._execution._policy.batch_interval.total_seconds())
        await self._flush()

    async def _flush(self) -> None:
        async with self._lock:
            events, self._waiting = self._waiting, []
            if not events or self._failure is not None:
                return
            try:
                await self._execution.record_many(self._run, self._attempt, events)
            except Exception as exc:
                self._failure = exc
                self._stop.set()

    def raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    async def close(self) -> None:
        """Stop the timer; what waits stays for `take` or `flush_quietly`."""
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        async with self._lock:  # a flush in flight ends first
            pass

    async def flush_quietly(self) -> None:
        with contextlib.suppress(Exception):
            await self._flush()

    def take(self) -> list[tuple[NewRunEvent, Trial | None]]:
        events, self._waiting = self._waiting, []
        if self._failure is not None:
            return []
        return [_stored(self._run, self._attempt, event) for event in events]


def _trial(run: Run, attempt: int, event: TrialFinished) -> Trial:
    return Trial(
        run_id=run.id,
        account_id=run.account_id,
        attempt=attempt,
        number=event.number,
        algorithm=event.algorithm,
        params=dict(event.params),
        score=event.score,
        status=event.status.upper(),
        duration_seconds=event.duration_seconds,
    )


class Sweeper:
    """Finds crashed attempts (no heartbeat) and re-queues them; relays the outbox; re-enqueues
    runs whose jobs were lost (a Redis that lost its data)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        outbox: RunOutbox,
        events: RunEventLog,
        policy: ExecutionPolicy,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._outbox = outbox
        self._events = events
        self._policy = policy

    async def sweep(self) -> int:
        """One pass; returns how many runs it changed or re-enqueued."""
        now = self._clock.now()
        changed = 0
        async with self._uow(read_only=True) as uow:
            stale = await uow.runs.stale(now - self._policy.heartbeat_timeout, limit=100)
        for candidate in stale:
            try:
                async with self._uow() as uow:
                    run = await uow.runs.find(candidate.id)
                    if run is None or not run.is_stale(now, self._policy.heartbeat_timeout):
                        continue
                    crashed = NewRunEvent(
                        RunEventType.STATUS,
                        "The worker stopped responding",
                        run.progress,
                        {"status": RunStatus.CRASHED.value, "attempt": run.attempt},
                    )
                    retry = run.retry_after_crash(now, self._policy.max_attempts)
                    if retry:
                        crashed = NewRunEvent(
                            crashed.type,
                            f"{crashed.message}; retrying",
                            crashed.progress,
                            crashed.data,
                        )
                        await uow.run_outbox.add(run.id, run.attempt, now)
                    stored = await uow.run_events.append(
                        run.id, [crashed, NewRunEvent.status(run)], now, saving=run
                    )
                    await uow.commit()
            except StaleAttempt:
                continue  # another sweeper (or the worker) got there first
            changed += 1
            log.warning(
                "run crashed", extra={"run_id": run.id, "attempt": run.attempt, "retry": retry}
            )
            await self._events.publish(run.account_id, stored)
            if retry:
                await self._outbox.enqueue([(run.id, run.attempt)])
        changed += await self._outbox.relay(now)
        await self._events.relay_pending()
        async with self._uow(read_only=True) as uow:
            waiting = await uow.runs.queued_before(now - self._policy.requeue_after, limit=100)
        # Same job ids: a no-op for jobs the queue still has.
        changed += await self._outbox.enqueue(
            [(run.id, run.attempt) for run in waiting], clear=False
        )
        return changed

    async def requeue_waiting(self) -> int:
        """Enqueue every queued run at once: an embedded server starting again lost its
        in-memory queue (runs handed back at shutdown wait in QUEUED)."""
        async with self._uow(read_only=True) as uow:
            waiting = await uow.runs.queued_before(self._clock.now() + timedelta(days=1), 1000)
        await self._outbox.enqueue([(run.id, run.attempt) for run in waiting], clear=False)
        return len(waiting)
