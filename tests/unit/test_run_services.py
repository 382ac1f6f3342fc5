"""The run use cases on fakes: start, cancel, execute, sweep and delete, in milliseconds."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from domain.errors import Conflict
from domain.model.models import ModelStage
from domain.model.runs import (
    Run,
    RunConfig,
    RunEventType,
    RunStatus,
    StaleAttempt,
)
from domain.ports import TrainingFailed
from domain.services.execution import ExecutionPolicy
from tests.unit.fakes import (
    ANALYST,
    BEATING,
    QUIET,
    WAIT_SECONDS,
    FakeStack,
    ScriptedTrainer,
    outcome,
    statuses,
    trial_finished,
    wait_for_status,
)

QUEUED, RUNNING, CANCELING, CANCELED, CRASHED, FAILED, SUCCEEDED = (
    RunStatus.QUEUED,
    RunStatus.RUNNING,
    RunStatus.CANCELING,
    RunStatus.CANCELED,
    RunStatus.CRASHED,
    RunStatus.FAILED,
    RunStatus.SUCCEEDED,
)
CONFIG = RunConfig(max_trials=3, timeout_seconds=60)
CRASH_SECONDS = 31  # just over the policy's 30 s heartbeat timeout


async def start(stack: FakeStack, key: str | None = None) -> Run:
    experiment = await stack.experiment()
    return await stack.runs.start(ANALYST, experiment.id, CONFIG, key)


async def holding(trainer: ScriptedTrainer) -> None:
    """Wait until the training reported its events and is busy."""
    await asyncio.wait_for(trainer.holding.wait(), WAIT_SECONDS)


# -- finishing -----------------------------------------------------------------------------------


async def test_a_run_that_trains_to_the_end_registers_its_model() -> None:
    stack = FakeStack()
    run = await start(stack)
    trainer = ScriptedTrainer(trial_finished(1, 2.0), trial_finished(2, 1.5))
    assert await stack.execution(trainer).execute(run.id, 1) is SUCCEEDED
    done = stack.db.run(run.id)
    assert (done.status, done.metrics, done.progress) == (SUCCEEDED, outcome().metrics, 1.0)
    [model] = stack.db.rows("models")
    assert (model.run_id, model.artifact_key) == (run.id, outcome().artifact_key)
    assert [t.score for t in sorted(stack.db.trials(run.id), key=lambda t: t.number)] == [2.0, 1.5]
    events = await wait_for_status(stack.events, run.id, SUCCEEDED)
    assert statuses(events) == [QUEUED, RUNNING, SUCCEEDED]
    assert [e.type for e in events].count(RunEventType.TRIAL) == 2
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


async def test_a_cancel_that_arrives_as_training_finishes_ends_canceled_without_a_model() -> None:
    stack = FakeStack()
    run = await start(stack)
    trainer = ScriptedTrainer(trial_finished(1, 2.0), hold=True)
    worker = asyncio.create_task(stack.execution(trainer).execute(run.id, 1))
    await holding(trainer)
    asked = await stack.runs.cancel(ANALYST, run.id)
    assert asked.status is CANCELING
    trainer.release()  # the engine completes its budget before anyone tells it to stop
    assert await worker is CANCELED
    ended = stack.db.run(run.id)
    assert ended.status is CANCELED and ended.finished_at is not None
    assert ended.metrics == outcome().metrics, "the best score so far is kept on the run"
    assert stack.db.rows("models") == [], "a canceled run registers no model"
    events = await wait_for_status(stack.events, run.id, CANCELED)
    assert statuses(events) == [QUEUED, RUNNING, CANCELING, CANCELED]


@pytest.mark.parametrize("best_on_stop", [False, True], ids=["nothing-yet", "best-so-far"])
async def test_a_cancel_stops_a_running_training_at_the_next_heartbeat(best_on_stop: bool) -> None:
    stack = FakeStack()
    run = await start(stack)
    trainer = ScriptedTrainer(trial_finished(1, 2.0), hold=True, best_on_stop=best_on_stop)
    worker = asyncio.create_task(stack.execution(trainer, BEATING).execute(run.id, 1))
    await holding(trainer)
    await stack.runs.cancel(ANALYST, run.id)
    assert await asyncio.wait_for(worker, WAIT_SECONDS) is CANCELED
    assert trainer.stopped.is_set(), "the heartbeat told the engine to stop"
    ended = stack.db.run(run.id)
    assert ended.metrics == (outcome().metrics if best_on_stop else None)
    assert stack.db.rows("models") == []
    assert statuses(stack.db.events(run.id)) == [QUEUED, RUNNING, CANCELING, CANCELED]


async def test_a_training_that_fails_ends_failed_with_its_error_as_an_event() -> None:
    stack = FakeStack()
    run = await start(stack)
    trainer = ScriptedTrainer(failure=TrainingFailed("column 'note' is empty"))
    assert await stack.execution(trainer).execute(run.id, 1) is FAILED
    assert stack.db.run(run.id).error == "column 'note' is empty"
    events = stack.db.events(run.id)
    assert [e.message for e in events if e.type is RunEventType.ERROR] == ["column 'note' is empty"]
    assert statuses(events)[-1] is FAILED


# -- starting ------------------------------------------------------------------------------------


async def test_two_concurrent_starts_with_one_idempotency_key_make_one_run() -> None:
    stack = FakeStack()
    experiment = await stack.experiment()
    # Both requests look the key up before either stores its run: the race the unique key wins.
    stack.db.meet_at("runs.find_by_idempotency_key", 2)
    first, second = await asyncio.gather(
        stack.runs.start(ANALYST, experiment.id, CONFIG, "click-1"),
        stack.runs.start(ANALYST, experiment.id, CONFIG, "click-1"),
    )
    assert first.id == second.id
    assert [r.id for r in stack.db.rows("runs")] == [first.id]
    assert stack.jobs.enqueued == [(first.id, 1)]
    assert statuses(stack.db.events(first.id)) == [QUEUED]
    # The entry stays until a worker claims the attempt (the claim clears it).
    assert stack.db.outbox() == {(first.id, 1)}


async def test_a_repeated_start_returns_the_first_run_and_a_key_is_bound_to_its_experiment() -> (
    None
):
    stack = FakeStack()
    run = await start(stack, key="click-1")
    experiment = await stack.experiment(name="another")
    again = await stack.runs.start(ANALYST, run.experiment_id, CONFIG, "click-1")
    assert again.id == run.id and len(stack.db.rows("runs")) == 1
    other = await stack.runs.start(ANALYST, run.experiment_id, CONFIG, "click-2")
    assert other.id != run.id and len(stack.db.rows("runs")) == 2
    with pytest.raises(Conflict) as refused:
        await stack.runs.start(ANALYST, experiment.id, CONFIG, "click-1")
    assert refused.value.field == "idempotency_key"


async def test_a_start_is_queued_for_the_relay_when_the_job_queue_is_down() -> None:
    stack = FakeStack()
    stack.jobs.down = True
    run = await start(stack)
    assert stack.db.outbox() == {(run.id, 1)} and stack.jobs.enqueued == []
    stack.jobs.down = False
    stack.clock.advance(5)
    await stack.sweeper().sweep()
    assert stack.jobs.enqueued == [(run.id, 1)] and stack.db.outbox() == set()


# -- crashes -------------------------------------------------------------------------------------


async def test_the_sweeper_requeues_a_silent_run_then_gives_up_at_the_attempt_limit() -> None:
    stack = FakeStack()  # the policy allows 2 attempts
    run = await start(stack)
    first = ScriptedTrainer(hold=True)
    old_worker = asyncio.create_task(stack.execution(first).execute(run.id, 1))
    await holding(first)

    stack.clock.advance(CRASH_SECONDS - 2)  # quiet, but not for long enough
    assert await stack.sweeper().sweep() == 0
    assert stack.db.run(run.id).status is RUNNING

    stack.clock.advance(2)
    assert await stack.sweeper().sweep() == 1
    retried = stack.db.run(run.id)
    assert (retried.status, retried.attempt, retried.progress) == (QUEUED, 2, 0.0)
    assert stack.jobs.enqueued == [(run.id, 1), (run.id, 2)] and stack.db.outbox() == set()
    crash = [e for e in stack.db.events(run.id) if e.type is RunEventType.STATUS][-2:]
    assert statuses(crash) == [CRASHED, QUEUED] and "retrying" in (crash[0].message or "")

    first.release()  # the lost worker wakes up: its result is refused
    assert await asyncio.wait_for(old_worker, WAIT_SECONDS) is None
    assert stack.db.run(run.id).status is QUEUED and stack.db.rows("models") == []

    second = ScriptedTrainer(hold=True)
    new_worker = asyncio.create_task(stack.execution(second, worker="w2").execute(run.id, 2))
    await holding(second)
    stack.clock.advance(CRASH_SECONDS)
    assert await stack.sweeper().sweep() == 1
    given_up = stack.db.run(run.id)
    assert given_up.status is FAILED and "giving up" in (given_up.error or "")
    assert stack.jobs.enqueued == [(run.id, 1), (run.id, 2)], "no third attempt"
    assert statuses(stack.db.events(run.id))[-3:] == [RUNNING, CRASHED, FAILED]
    second.release()
    assert await asyncio.wait_for(new_worker, WAIT_SECONDS) is None


async def test_a_run_that_crashes_while_canceling_ends_canceled_not_retried() -> None:
    stack = FakeStack()
    run = await start(stack)
    trainer = ScriptedTrainer(hold=True)
    worker = asyncio.create_task(stack.execution(trainer).execute(run.id, 1))
    await holding(trainer)
    await stack.runs.cancel(ANALYST, run.id)
    stack.clock.advance(CRASH_SECONDS)
    assert await stack.sweeper().sweep() == 1
    assert stack.db.run(run.id).status is CANCELED
    assert stack.jobs.enqueued == [(run.id, 1)]
    trainer.release()
    assert await asyncio.wait_for(worker, WAIT_SECONDS) is None


async def test_a_stopping_worker_hands_its_attempt_back_without_using_up_an_attempt() -> None:
    stack = FakeStack()
    run = await start(stack)
    trainer = ScriptedTrainer(hold=True)
    execution = stack.execution(trainer)
    worker = asyncio.create_task(execution.execute(run.id, 1))
    await holding(trainer)
    execution.leave()  # SIGTERM: the training is told to stop
    assert await asyncio.wait_for(worker, WAIT_SECONDS) is QUEUED
    handed = stack.db.run(run.id)
    assert (handed.attempt, handed.handed_back) == (2, 1)
    assert stack.jobs.enqueued == [(run.id, 1), (run.id, 2)] and stack.db.outbox() == set()
    # The new attempt may crash up to the limit (2) before the run fails: hand-backs are free.
    second = ScriptedTrainer(hold=True)
    next_worker = asyncio.create_task(stack.execution(second).execute(run.id, 2))
    await holding(second)
    stack.clock.advance(CRASH_SECONDS)
    await stack.sweeper().sweep()
    assert (stack.db.run(run.id).status, stack.db.run(run.id).attempt) == (QUEUED, 3)
    second.release()
    assert await asyncio.wait_for(next_worker, WAIT_SECONDS) is None


# -- stale attempts ------------------------------------------------------------------------------


async def crash_once(
    stack: FakeStack, trainer: ScriptedTrainer, policy: ExecutionPolicy = QUIET
) -> asyncio.Task[RunStatus | None]:
    """Start attempt 1 on `trainer`, then let the sweeper declare it crashed (-> attempt 2)."""
    [run] = stack.db.rows("runs")
    worker = asyncio.create_task(stack.execution(trainer, policy).execute(run.id, 1))
    await holding(trainer)
    stack.clock.advance(CRASH_SECONDS)
    assert await stack.sweeper().sweep() == 1
    return worker


async def test_a_worker_of_a_superseded_attempt_cannot_record_trials_or_finish() -> None:
    stack = FakeStack()
    run = await start(stack)
    trainer = ScriptedTrainer(trial_finished(1, 2.0), hold=True, after=[trial_finished(2, 1.0)])
    # Unbatched, so attempt 1's first trial is stored before the crash is declared.
    worker = await crash_once(stack, trainer, dataclasses.replace(QUIET, batch_size=1))
    trainer.release()
    assert await asyncio.wait_for(worker, WAIT_SECONDS) is None
    assert [t.number for t in stack.db.trials(run.id)] == [1], "attempt 1's late trial refused"
    assert stack.db.run(run.id).status is QUEUED and stack.db.rows("models") == []
    with pytest.raises(StaleAttempt):
        await stack.execution(trainer).record(run, 1, trial_finished(3, 0.5))
    assert len(stack.db.trials(run.id)) == 1


async def test_an_old_or_repeated_attempt_does_not_start() -> None:
    stack = FakeStack()
    run = await start(stack)
    lost = ScriptedTrainer(hold=True)
    worker = await crash_once(stack, lost)
    late = ScriptedTrainer()
    assert await stack.execution(late).execute(run.id, 1) is None, "attempt 1 is over"
    assert late.jobs == [] and stack.db.run(run.id).status is QUEUED
    assert await stack.execution(ScriptedTrainer()).execute(run.id, 2) is SUCCEEDED
    duplicate = ScriptedTrainer()
    assert await stack.execution(duplicate).execute(run.id, 2) is None, "delivered twice"
    assert duplicate.jobs == [] and len(stack.db.rows("models")) == 1
    lost.release()
    assert await asyncio.wait_for(worker, WAIT_SECONDS) is None


async def test_a_worker_that_lost_its_run_stops_training_at_its_next_heartbeat() -> None:
    stack = FakeStack()
    run = await start(stack)
    trainer = ScriptedTrainer(hold=True)  # never released: only a stop ends it
    worker = await crash_once(stack, trainer, policy=BEATING)
    assert await asyncio.wait_for(worker, WAIT_SECONDS) is None
    assert trainer.stopped.is_set()
    assert (stack.db.run(run.id).status, stack.db.run(run.id).attempt) == (QUEUED, 2)


# -- deleting ------------------------------------------------------------------------------------


async def finished_run(stack: FakeStack, artifact: str) -> Run:
    run = await start(stack)
    trainer = ScriptedTrainer(trial_finished(1, 2.0), result=outcome(artifact_key=artifact))
    assert await stack.execution(trainer).execute(run.id, 1) is SUCCEEDED
    return run


async def test_deleting_a_run_removes_its_rows_and_then_its_files() -> None:
    stack = FakeStack()
    run = await finished_run(stack, "models/a.joblib")
    assert await stack.experiments.delete_run(ANALYST, run.id) == run.id
    assert stack.files.deleted == ["models/a.joblib"]
    assert stack.files.deleted_runs == [run.id]
    for table in ("runs", "models", "trials", "events", "outbox"):
        assert stack.db.rows(table) == [], table


async def test_a_live_run_or_one_serving_in_production_is_not_deleted() -> None:
    stack = FakeStack()
    live = await start(stack)
    with pytest.raises(Conflict):
        await stack.experiments.delete_run(ANALYST, live.id)
    await stack.runs.cancel(ANALYST, live.id)
    serving = await finished_run(stack, "models/b.joblib")
    async with stack.uow() as uow:
        model = (await uow.models.by_run(ANALYST.account_id, [serving.id]))[serving.id]
        model.promote(ModelStage.PRODUCTION)
        await uow.models.save(model)
        await uow.commit()
    with pytest.raises(Conflict):
        await stack.experiments.delete_run(ANALYST, serving.id)
    assert stack.files.deleted == [] and stack.files.deleted_runs == []
    assert len(stack.db.rows("runs")) == 2


async def test_deleting_an_experiment_removes_every_run_and_model_file() -> None:
    stack = FakeStack()
    first = await finished_run(stack, "models/a.joblib")
    second = await finished_run(stack, "models/b.joblib")
    await stack.experiments.delete(ANALYST, first.experiment_id)
    assert sorted(stack.files.deleted) == ["models/a.joblib", "models/b.joblib"]
    assert sorted(stack.files.deleted_runs) == sorted([first.id, second.id])
    assert stack.db.rows("runs") == [] and stack.db.rows("experiments") == []
