"""The worker side of runs: claim an attempt, train, heart-beat, record, finish; and the sweeper.

Every write carries the attempt number and goes through the run's optimistic lock, so a
worker that lost its run (crashed, timed out, superseded by a retry) cannot change it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from domain.errors import Conflict
from domain.model.runs import (
    Model,
    ModelStage,
    NewRunEvent,
    Run,
    RunConfig,
    RunEventType,
    RunStatus,
    StaleAttempt,
    Trial,
)
from domain.ports import (
    Clock,
    JobQueue,
    RunEventLog,
    Trainer,
    TrainingCanceled,
    TrainingEvent,
    TrainingFailed,
    TrainingJob,
    TrainingOutcome,
    UnitOfWorkFactory,
)

log = logging.getLogger(__name__)

_EVENT_TYPES = {
    "trial_started": RunEventType.LOG,
    "trial_finished": RunEventType.TRIAL,
    "best": RunEventType.BEST,
    "progress": RunEventType.PROGRESS,
    "log": RunEventType.LOG,
}


@dataclass(frozen=True, slots=True)
class ExecutionPolicy:
    """Timings of the worker protocol."""

    heartbeat_interval: timedelta = timedelta(seconds=2)
    heartbeat_timeout: timedelta = timedelta(seconds=30)
    max_attempts: int = 3
    requeue_after: timedelta = timedelta(seconds=60)


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
        jobs: JobQueue | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._trainer = trainer
        self._events = events
        self._policy = policy
        self._worker_id = worker_id
        self._jobs = jobs  # where handed-back attempts are enqueued again
        self._leaving = False

    async def execute(self, run_id: str, attempt: int) -> RunStatus | None:
        """Run the attempt to its end; None when it was not this attempt's to run."""
        try:
            run, job = await self._claim(run_id, attempt)
        except StaleAttempt as exc:
            log.info("not starting run: %s", exc, extra={"run_id": run_id, "attempt": attempt})
            return None
        await self._publish(run, NewRunEvent.status(run, worker=self._worker_id))
        stop = asyncio.Event()
        progress = [0.0]  # the engine's latest progress, written by each heartbeat
        beating = asyncio.create_task(self._heartbeat(run, stop, progress))

        async def on_event(event: TrainingEvent) -> None:
            progress[0] = max(progress[0], event.progress)
            await self.record(run, attempt, event)

        def should_stop() -> bool:  # canceled, lost, or this worker is stopping
            return stop.is_set() or self._leaving

        try:
            outcome = await self._trainer.train(job, on_event, should_stop)
        except TrainingCanceled:
            if self._leaving:
                return await self.hand_back(run, attempt)
            return await self._finish(run, job, RunStatus.CANCELED, None, None)
        except TrainingFailed as exc:
            return await self._finish(run, job, RunStatus.FAILED, None, str(exc))
        except StaleAttempt:
            return None
        except Exception as exc:
            if self._leaving:
                return await self.hand_back(run, attempt)
            log.exception("training crashed", extra={"run_id": run_id, "attempt": attempt})
            message = f"Training failed unexpectedly ({type(exc).__name__}): {exc}"
            return await self._finish(run, job, RunStatus.FAILED, None, message[:2000])
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
        if self._leaving:
            return await self.hand_back(run, attempt)
        return await self._finish(run, job, RunStatus.SUCCEEDED, outcome, None)

    def leave(self) -> None:
        """The worker is stopping: every training in flight is told to stop, and its attempt is
        handed back instead of finished. Safe to call from a signal handler."""
        self._leaving = True

    @property
    def leaving(self) -> bool:
        return self._leaving

    async def hand_back(self, run: Run, attempt: int) -> RunStatus | None:
        """Give the attempt back: the run is queued again as a new attempt (enqueued where a
        job queue is bound), or ends CANCELED when a cancel was asked for."""
        try:
            async with self._uow() as uow:
                current = await uow.runs.find(run.id)
                if current is None:
                    return None
                queued = current.hand_back(attempt, self._clock.now())
                await uow.runs.save(current)
                await uow.commit()
        except StaleAttempt as exc:
            log.warning("hand-back refused: %s", exc, extra={"run_id": run.id, "attempt": attempt})
            return None
        log.info("run.handed_back", extra={"run_id": run.id, "attempt": attempt})
        await self._publish(current, NewRunEvent.status(current, handedBackBy=self._worker_id))
        if queued and self._jobs is not None:
            await self._jobs.enqueue_run(current)
        return current.status

    async def _claim(self, run_id: str, attempt: int) -> tuple[Run, TrainingJob]:
        async with self._uow() as uow:
            run = await uow.runs.find(run_id)
            if run is None:
                raise StaleAttempt(f"Run {run_id} no longer exists.")
            run.claim(attempt, self._clock.now())
            experiment = await uow.experiments.get(run.account_id, run.experiment_id)
            dataset = (
                await uow.datasets.get(run.account_id, experiment.dataset_id)
                if experiment
                else None
            )
            if experiment is None or dataset is None:
                raise StaleAttempt(f"The experiment or dataset of run {run_id} is gone.")
            await uow.runs.save(run)
            await uow.commit()
        date_column = next((c.name for c in dataset.columns if c.dtype == "datetime"), None)
        job = TrainingJob(
            run_id=run.id,
            attempt=attempt,
            account_id=run.account_id,
            experiment_id=experiment.id,
            experiment_name=f"{run.account_id}/{experiment.name}",
            dataset_key=dataset.storage_key,
            dataset_name=dataset.name,
            problem_type=experiment.problem_type,
            target=experiment.target,
            metric=experiment.metric,
            config=RunConfig.from_dict(run.config),
            date_column=date_column,
        )
        return run, job

    async def record(self, run: Run, attempt: int, event: TrainingEvent) -> None:
        """Publish an engine event; trials are also stored. Refused for a stale attempt."""
        kind = _EVENT_TYPES.get(event.kind, RunEventType.LOG)
        if kind is RunEventType.TRIAL:
            data = event.data or {}
            async with self._uow() as uow:
                current = await uow.runs.find(run.id)
                if current is None:
                    raise StaleAttempt(f"Run {run.id} no longer exists.")
                current.fence(attempt)
                await uow.trials.add(
                    Trial(
                        run_id=run.id,
                        account_id=run.account_id,
                        attempt=attempt,
                        number=int(data.get("number", 0)),
                        algorithm=str(data.get("algorithm", "")),
                        params=dict(data.get("params") or {}),
                        score=data.get("cv_score", data.get("score")),
                        status=str(data.get("status", "complete")).upper(),
                        duration_seconds=data.get("duration_seconds"),
                    )
                )
                await uow.commit()
        await self._publish(
            run,
            NewRunEvent(kind, event.message or None, event.progress, event.data),
            announce=kind is not RunEventType.LOG,
        )

    async def _heartbeat(self, run: Run, stop: asyncio.Event, progress: list[float]) -> None:
        """Keep the attempt alive; notice cancel requests and lost ownership."""
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
                if current.status is RunStatus.CANCELING:
                    stop.set()
            except StaleAttempt:
                log.warning("lost the run; stopping", extra={"run_id": run.id})
                stop.set()
                return
            except Exception:
                log.exception("heartbeat failed; will retry", extra={"run_id": run.id})

    async def _finish(
        self,
        run: Run,
        job: TrainingJob,
        status: RunStatus,
        outcome: TrainingOutcome | None,
        error: str | None,
    ) -> RunStatus | None:
        now = self._clock.now()
        attempt = job.attempt
        try:
            async with self._uow() as uow:
                current = await uow.runs.find(run.id)
                if current is None:
                    return None
                current.fence(attempt)
                if current.status is RunStatus.CANCELING:
                    # Asked to stop: the run ends CANCELED whatever the engine returned; its
                    # best score so far is kept on the run, but no model is registered.
                    status = RunStatus.CANCELED
                    if outcome is not None:
                        current.metrics = outcome.metrics
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
                await uow.runs.save(current)
                await uow.commit()
        except (StaleAttempt, Conflict) as exc:
            log.warning("finish refused: %s", exc, extra={"run_id": run.id, "attempt": attempt})
            return None
        if error:
            await self._publish(current, NewRunEvent(RunEventType.ERROR, error, None, None))
        await self._publish(current, NewRunEvent.status(current))
        return status

    async def _publish(self, run: Run, event: NewRunEvent, announce: bool = True) -> None:
        await self._events.append(run.id, event)
        if announce:
            await self._events.announce(run.account_id, run.id)


class Sweeper:
    """Finds crashed attempts (no heartbeat) and re-queues them; re-enqueues lost jobs."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        jobs: JobQueue,
        events: RunEventLog,
        policy: ExecutionPolicy,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._jobs = jobs
        self._events = events
        self._policy = policy

    async def sweep(self) -> int:
        """One pass; returns how many runs it changed or re-enqueued."""
        now = self._clock.now()
        changed = 0
        async with self._uow() as uow:
            stale = await uow.runs.stale(now - self._policy.heartbeat_timeout, limit=100)
        for candidate in stale:
            try:
                async with self._uow() as uow:
                    run = await uow.runs.find(candidate.id)
                    if run is None or not run.is_stale(now, self._policy.heartbeat_timeout):
                        continue
                    retry = run.retry_after_crash(now, self._policy.max_attempts)
                    await uow.runs.save(run)
                    await uow.commit()
            except StaleAttempt:
                continue  # another sweeper (or the worker) got there first
            changed += 1
            log.warning(
                "run crashed", extra={"run_id": run.id, "attempt": run.attempt, "retry": retry}
            )
            await self._events.append(
                run.id,
                NewRunEvent(
                    RunEventType.STATUS,
                    "The worker stopped responding" + ("; retrying" if retry else ""),
                    run.progress,
                    {"status": RunStatus.CRASHED.value, "attempt": run.attempt - int(retry)},
                ),
            )
            await self._events.append(run.id, NewRunEvent.status(run))
            await self._events.announce(run.account_id, run.id)
            if retry:
                await self._jobs.enqueue_run(run)
        async with self._uow() as uow:
            waiting = await uow.runs.queued_before(now - self._policy.requeue_after, limit=100)
        for run in waiting:
            await self._jobs.enqueue_run(run)  # same job id: a no-op if the job still exists
            changed += 1
        return changed

    async def requeue_waiting(self) -> int:
        """Enqueue every queued run at once: an embedded server starting again lost its
        in-memory queue (runs handed back at shutdown wait in QUEUED)."""
        async with self._uow() as uow:
            waiting = await uow.runs.queued_before(self._clock.now() + timedelta(days=1), 1000)
        for run in waiting:
            await self._jobs.enqueue_run(run)
        return len(waiting)
