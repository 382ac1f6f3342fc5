"""The run pipeline's costs, on an in-memory unit of work that counts its transactions: engine
events are written in batches (one transaction for many trials, the last batch inside the final
status change), and a cancel interrupts the training at once instead of at a heartbeat."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from domain.model.accounts import Principal, Role
from domain.model.experiments import ProblemType
from domain.model.runs import (
    NewRunEvent,
    Run,
    RunConfig,
    RunEvent,
    RunEventType,
    RunStatus,
    StaleAttempt,
    Trial,
)
from domain.ports import (
    ClaimRead,
    TrainingCanceled,
    TrainingEvent,
    TrainingJob,
    TrainingOutcome,
)
from domain.services.execution import ExecutionPolicy, RunExecution
from domain.services.outbox import RunOutbox
from domain.services.runs import RunService
from tests.unit.fakes import FakeCatalogue, outcome, trial_finished

NOW = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


class Store:
    """What the fake database holds, and how many transactions committed."""

    def __init__(self) -> None:
        self.runs: dict[str, Run] = {}
        self.trials: list[Trial] = []
        self.events: list[RunEvent] = []
        self.outbox: set[tuple[str, int]] = set()
        self.commits = 0
        self.experiment = SimpleNamespace(
            id="e1",
            name="demand",
            dataset_id="d1",
            problem_type=ProblemType.REGRESSION,
            target="units",
            metric="rmse",
        )
        self.dataset = SimpleNamespace(id="d1", name="demand", storage_key="d1.csv", columns=[])


class FakeUow:
    """Writes wait for commit; leaving without commit drops them (like the SQL one)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.writes: list[Callable[[], None]] = []
        self.runs = self
        self.trials = SimpleNamespace(add=self._add_trial)
        self.run_events = SimpleNamespace(append=self._append)
        self.run_outbox = SimpleNamespace(add=self._outbox_add, remove=self._outbox_remove)
        self.experiments = SimpleNamespace(get=self._experiment)
        self.datasets = SimpleNamespace(get=self._dataset)
        self.models = SimpleNamespace(add=self._add_model)

    async def __aenter__(self) -> FakeUow:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.writes.clear()

    async def commit(self) -> None:
        for write in self.writes:
            write()
        self.writes.clear()
        self.store.commits += 1

    async def flush(self) -> None:
        return None

    # runs
    async def find(self, run_id: str) -> Run | None:
        run = self.store.runs.get(run_id)
        return copy.copy(run) if run else None

    async def get(self, account_id: str, run_id: str) -> Run | None:
        return await self.find(run_id)

    async def save(self, run: Run) -> None:
        stored = self.store.runs[run.id]
        if stored.version != run.version:
            raise StaleAttempt("changed meanwhile")
        run.version += 1
        saved = copy.copy(run)
        self.writes.append(lambda: self.store.runs.__setitem__(run.id, saved))

    async def count_running(self, account_id: str, limit: int) -> int:
        return 0

    async def _experiment(self, account_id: str, experiment_id: str) -> Any:
        return self.store.experiment

    async def _dataset(self, account_id: str, dataset_id: str) -> Any:
        return self.store.dataset

    async def find_for_claim(self, run_id: str) -> ClaimRead | None:
        run = await self.find(run_id)
        store = cast(Any, self.store)  # namespaces standing in for the entities
        return ClaimRead(run, store.experiment, store.dataset, 0) if run else None

    async def _add_model(self, model: Any) -> None:
        return None

    async def _add_trial(self, trial: Trial) -> None:
        self.writes.append(lambda: self.store.trials.append(trial))

    async def _append(
        self, run_id: str, news: Sequence[NewRunEvent], at: datetime, saving: Run | None = None
    ) -> list:
        if saving is not None:
            await self.save(saving)
        pending = sum(len(getattr(w, "events", ())) for w in self.writes)
        first = len(self.store.events) + pending + 1
        stored = [
            RunEvent(run_id, first + i, at, e.type, e.message, e.progress, e.data)
            for i, e in enumerate(news)
        ]

        def write() -> None:
            self.store.events.extend(stored)

        write.events = stored  # type: ignore[attr-defined]
        self.writes.append(write)
        return stored

    async def _outbox_add(self, run_id: str, attempt: int, at: datetime) -> None:
        self.writes.append(lambda: self.store.outbox.add((run_id, attempt)))

    async def _outbox_remove(self, entries: Sequence[tuple[str, int]]) -> None:
        self.writes.append(lambda: self.store.outbox.difference_update(entries))


class Events:
    """A RunEventLog that keeps what was published."""

    def __init__(self) -> None:
        self.published: list[RunEvent] = []

    async def publish(self, account_id: str, events: Sequence[RunEvent], announce: bool = True):
        self.published += events

    async def relay_pending(self) -> int:
        return 0


class Clock:
    def now(self) -> datetime:
        return NOW


class Signals:
    """Cancel signals delivered in-process, as the embedded mode does."""

    def __init__(self) -> None:
        self.execution: RunExecution | None = None

    async def cancel(self, run_id: str, attempt: int) -> None:
        assert self.execution is not None
        self.execution.interrupt(run_id, attempt)


class ScriptedTrainer:
    """Emits `trials` trial events in a burst, then finishes; or trains until stopped."""

    def __init__(self, trials: int, until_stopped: bool = False) -> None:
        self.trials = trials
        self.until_stopped = until_stopped
        self.started = asyncio.Event()

    async def train(
        self,
        job: TrainingJob,
        on_event: Callable[[TrainingEvent], Awaitable[None]],
        should_stop: Callable[[], bool],
    ) -> TrainingOutcome:
        for number in range(self.trials):
            await on_event(trial_finished(number, 1.0 / (number + 1), "linear"))
        self.started.set()
        while self.until_stopped:
            if should_stop():
                raise TrainingCanceled("stopped")
            await asyncio.sleep(0)  # polls, as the engine adapter does
        return outcome(1.0, "a/model.joblib")


def setup(
    trainer: ScriptedTrainer, heartbeat: timedelta = HOUR
) -> tuple[Store, RunExecution, Run, Events]:
    store = Store()
    run = Run.queue("a1", "e1", RunConfig(), NOW)
    store.runs[run.id] = run
    store.outbox.add((run.id, 1))
    events = Events()
    policy = ExecutionPolicy(heartbeat_interval=heartbeat, heartbeat_timeout=heartbeat * 2)
    execution = RunExecution(lambda **_: FakeUow(store), Clock(), trainer, events, policy)  # type: ignore[arg-type]
    return store, execution, run, events


async def test_a_burst_of_trials_is_written_with_the_final_status_in_one_transaction() -> None:
    store, execution, run, events = setup(ScriptedTrainer(trials=25))
    assert await execution.execute(run.id, 1) is RunStatus.SUCCEEDED
    assert len(store.trials) == 25, "every trial is kept"
    assert store.commits == 2, "the claim, then the trials with the final status"
    types = [e.type for e in store.events]
    assert types == [RunEventType.STATUS] + [RunEventType.TRIAL] * 25 + [RunEventType.STATUS]
    assert [e.seq for e in store.events] == list(range(1, 28))
    assert store.events[-1].data and store.events[-1].data["status"] == "SUCCEEDED"
    assert [e.seq for e in events.published] == list(range(1, 28)), "relayed after commit"
    assert store.outbox == set(), "the claim cleared the enqueue intent"


async def test_trials_arriving_over_time_are_flushed_in_batches_before_the_end() -> None:
    trainer = ScriptedTrainer(trials=3, until_stopped=True)
    store, execution, run, _ = setup(trainer)
    task = asyncio.create_task(execution.execute(run.id, 1))
    await trainer.started.wait()
    for _ in range(200):  # the batch interval passes (no heartbeat in this hour)
        if len(store.trials) == 3:
            break
        await asyncio.sleep(0.01)
    assert len(store.trials) == 3
    assert store.commits == 2, "the claim, then one batch for the three trials"
    execution.interrupt(run.id, 1)
    assert await task is RunStatus.CANCELED


async def test_cancel_interrupts_a_running_attempt_without_a_heartbeat() -> None:
    trainer = ScriptedTrainer(trials=1, until_stopped=True)
    store, execution, run, events = setup(trainer, heartbeat=timedelta(days=365))
    signals = Signals()
    signals.execution = execution
    service = RunService(
        lambda **_: FakeUow(store),  # type: ignore[arg-type]
        Clock(),
        RunOutbox(lambda **_: FakeUow(store), jobs=None),  # type: ignore[arg-type]
        events,  # type: ignore[arg-type]
        signals=signals,
        catalogue=FakeCatalogue(),
    )
    task = asyncio.create_task(execution.execute(run.id, 1))
    await trainer.started.wait()
    asked = await service.cancel(Principal("u1", "a1", Role.OWNER), run.id)
    assert asked.status is RunStatus.CANCELING
    assert await asyncio.wait_for(task, 30) is RunStatus.CANCELED
    statuses = [e.data["status"] for e in store.events if e.type is RunEventType.STATUS and e.data]
    assert statuses == ["RUNNING", "CANCELING", "CANCELED"], store.events
    assert len(store.trials) == 1, "the trial recorded before the cancel is kept"


async def test_a_signal_for_another_attempt_is_ignored() -> None:
    trainer = ScriptedTrainer(trials=0, until_stopped=True)
    _, execution, run, _ = setup(trainer)
    task = asyncio.create_task(execution.execute(run.id, 1))
    await trainer.started.wait()
    assert not execution.interrupt(run.id, 2)
    assert not execution.interrupt("another-run", 1)
    assert execution.interrupt(run.id, 1)
    await task
