"""Runs, their trials and events: start, cancel, delete, compare, follow live."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from domain.errors import NotFound
from domain.model.runs import Run, RunConfig, RunEvent, RunEventType, RunStatus, SearchMethod, Trial
from domain.pagination import PageRequest
from domain.ports import RunFilter
from domain.services.runs import describe_config
from server.schema.context import Info
from server.schema.models import ModelType
from server.schema.pagination import Connection, connection

if TYPE_CHECKING:
    from server.schema.experiments import ExperimentType

RunStatusEnum = strawberry.enum(RunStatus, name="RunStatus")
RunEventTypeEnum = strawberry.enum(RunEventType, name="RunEventType")
SearchMethodEnum = strawberry.enum(SearchMethod, name="SearchMethod")


@strawberry.type(name="Trial", description="One candidate the search evaluated.")
class TrialType:
    number: int
    algorithm: str
    params: JSON
    score: float | None = strawberry.field(description="Cross-validated, in the run's metric.")
    status: str = strawberry.field(description="COMPLETE, PRUNED or FAILED")
    duration_seconds: float | None

    @classmethod
    def of(cls, trial: Trial) -> TrialType:
        return cls(
            number=trial.number,
            algorithm=trial.algorithm,
            params=trial.params,
            score=trial.score,
            status=trial.status,
            duration_seconds=trial.duration_seconds,
        )


@strawberry.type(name="RunEvent", description="One entry of a run's ordered log.")
class RunEventGql:
    seq: int
    at: datetime
    type: RunEventTypeEnum  # type: ignore[valid-type]
    message: str | None
    progress: float | None
    data: JSON | None

    @classmethod
    def of(cls, event: RunEvent) -> RunEventGql:
        return cls(
            seq=event.seq,
            at=event.at,
            type=event.type,
            message=event.message,
            progress=event.progress,
            data=event.data,
        )


@strawberry.type(name="Run", description="One execution of an experiment.")
class RunType:
    id: strawberry.ID
    status: RunStatusEnum  # type: ignore[valid-type]
    attempt: int
    progress: float
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    metrics: JSON | None
    error: str | None
    mlflow_run_id: str | None
    run: strawberry.Private[Run]

    @classmethod
    def of(cls, run: Run) -> RunType:
        return cls(
            id=strawberry.ID(run.id),
            status=run.status,
            attempt=run.attempt,
            progress=run.progress,
            queued_at=run.queued_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            metrics=run.metrics,
            error=run.error,
            mlflow_run_id=run.mlflow_run_id,
            run=run,
        )

    @strawberry.field(description="Method, budget, algorithms, folds, seed (and forecast options).")
    def config(self) -> JSON:
        return describe_config(self.run)

    @strawberry.field
    async def experiment(
        self, info: Info
    ) -> Annotated[ExperimentType, strawberry.lazy("server.schema.experiments")]:
        from server.schema.experiments import ExperimentType

        experiment = await info.context.loaders.experiments.load(self.run.experiment_id)
        if experiment is None:
            raise NotFound.of("Experiment", self.run.experiment_id)
        return ExperimentType.of(experiment)

    @strawberry.field(description="The current attempt's leaderboard, best first.")
    async def trials(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[TrialType]:
        request = PageRequest.ranked(first, after)
        metric = await self._metric(info)
        page = await info.context.views.trials(self.run.id, self.run.attempt, metric, request)
        return connection(page, TrialType.of)

    @strawberry.field
    async def best_trial(self, info: Info) -> TrialType | None:
        metric = await self._metric(info)
        trial = await info.context.loaders.best_trials.load((self.run.id, self.run.attempt, metric))
        return TrialType.of(trial) if trial else None

    @strawberry.field(description="The run's event log after `afterSeq` (for polling clients).")
    async def events(self, info: Info, after_seq: int = 0, first: int = 100) -> list[RunEventGql]:
        request = PageRequest.of(first, None)  # validates `first`
        events = await info.context.container.events.after(self.run.id, after_seq, request.first)
        return [RunEventGql.of(e) for e in events]

    @strawberry.field(description="The model this run registered, once it succeeded.")
    async def model(self, info: Info) -> ModelType | None:
        model = await info.context.loaders.models_by_run.load(str(self.id))
        return ModelType.of(model) if model else None

    async def _metric(self, info: Info) -> str:
        experiment = await info.context.loaders.experiments.load(self.run.experiment_id)
        return experiment.metric if experiment else "rmse"


@strawberry.type
class ComparedRun:
    run: RunType
    config: JSON
    metrics: JSON | None
    best_trial: TrialType | None


@strawberry.type
class RunComparison:
    runs: list[ComparedRun]
    metric_names: list[str] = strawberry.field(description="Every metric any of the runs has.")


@strawberry.input(name="RunFilter")
class RunFilterInput:
    experiment_id: strawberry.ID | None = None
    status: RunStatusEnum | None = None  # type: ignore[valid-type]


@strawberry.input
class BudgetInput:
    max_trials: int | None = 20
    timeout_seconds: int | None = 300


@strawberry.input
class ForecastInput:
    series_id: str | None = strawberry.field(default=None, description="None: one series.")
    date_column: str | None = strawberry.field(
        default=None, description="None: the dataset's first date column."
    )
    horizon: int = 7


@strawberry.input
class StartRunInput:
    experiment_id: strawberry.ID
    method: SearchMethodEnum = SearchMethod.AUTO  # type: ignore[valid-type]
    budget: BudgetInput | None = None
    algorithms: list[str] | None = None
    cv_folds: int = 5
    seed: int = 0
    forecast: ForecastInput | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="Retrying with the same key returns the same run."
    )

    def config(self) -> RunConfig:
        budget = self.budget or BudgetInput()
        forecast = self.forecast or ForecastInput()
        return RunConfig(
            method=self.method,
            max_trials=budget.max_trials,
            timeout_seconds=budget.timeout_seconds,
            algorithms=tuple(self.algorithms) if self.algorithms is not None else None,
            cv_folds=self.cv_folds,
            seed=self.seed,
            series_id=forecast.series_id,
            date_column=forecast.date_column,
            horizon=forecast.horizon,
        )


@strawberry.type
class StartRunPayload:
    run: RunType


@strawberry.input
class CancelRunInput:
    id: strawberry.ID


@strawberry.type
class CancelRunPayload:
    run: RunType


@strawberry.input
class DeleteRunInput:
    id: strawberry.ID


@strawberry.type
class DeleteRunPayload:
    id: strawberry.ID


@strawberry.type
class RunQuery:
    @strawberry.field(description="The account's runs, newest first.")
    async def runs(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: RunFilterInput | None = None,
    ) -> Connection[RunType]:
        where = RunFilter(
            experiment_id=str(filter.experiment_id) if filter and filter.experiment_id else None,
            status=filter.status if filter else None,
        )
        page = await info.context.views.run_page(PageRequest.of(first, after), where)
        return connection(page, RunType.of)

    @strawberry.field
    async def run(self, info: Info, id: strawberry.ID) -> RunType | None:
        run = await info.context.loaders.runs.load(str(id))
        return RunType.of(run) if run else None

    @strawberry.field(description="Runs side by side: settings, metrics, best trial.")
    async def compare_runs(self, info: Info, ids: list[strawberry.ID]) -> RunComparison:
        compared = await info.context.container.runs.compare(
            info.context.principal, [str(i) for i in ids]
        )
        names: dict[str, None] = {}
        for entry in compared:
            for key in (entry.run.metrics or {}).get("cv", {}):
                names[key] = None
        return RunComparison(
            runs=[
                ComparedRun(
                    run=RunType.of(entry.run),
                    config=describe_config(entry.run),
                    metrics=entry.run.metrics,
                    best_trial=TrialType.of(entry.best_trial) if entry.best_trial else None,
                )
                for entry in compared
            ],
            metric_names=list(names),
        )


@strawberry.type
class RunMutation:
    @strawberry.mutation(description="Queue a run of an experiment; workers pick it up.")
    async def start_run(self, info: Info, input: StartRunInput) -> StartRunPayload:
        run = await info.context.container.runs.start(
            info.context.principal, str(input.experiment_id), input.config(), input.idempotency_key
        )
        return StartRunPayload(run=RunType.of(run))

    @strawberry.mutation(description="Cancel a queued run at once, or ask a running one to stop.")
    async def cancel_run(self, info: Info, input: CancelRunInput) -> CancelRunPayload:
        run = await info.context.container.runs.cancel(info.context.principal, str(input.id))
        return CancelRunPayload(run=RunType.of(run))

    @strawberry.mutation(
        description="Delete a finished run (SUCCEEDED, FAILED or CANCELED) with its trials, "
        "events, model and files."
    )
    async def delete_run(self, info: Info, input: DeleteRunInput) -> DeleteRunPayload:
        deleted = await info.context.container.experiments.delete_run(
            info.context.principal, str(input.id)
        )
        return DeleteRunPayload(id=strawberry.ID(deleted))


@strawberry.type
class RunSubscription:
    @strawberry.subscription(
        description="Replays the run's events after afterSeq, then live ones; completes when "
        "the run ends."
    )
    async def run_events(
        self, info: Info, run_id: strawberry.ID, after_seq: int | None = None
    ) -> AsyncGenerator[RunEventGql, None]:
        slots = info.context.container.subscriptions
        async with slots.hold(info.context.principal.user_id):  # per-user cap, all sockets
            events = info.context.container.runs.follow(
                info.context.principal, str(run_id), after_seq
            )
            try:
                async for event in events:
                    yield RunEventGql.of(event)
            finally:
                await events.aclose()

    @strawberry.subscription(description="Runs (of one experiment, if given) as they change.")
    async def run_updates(
        self, info: Info, experiment_id: strawberry.ID | None = None
    ) -> AsyncGenerator[RunType, None]:
        slots = info.context.container.subscriptions
        async with slots.hold(info.context.principal.user_id):  # per-user cap, all sockets
            updates = info.context.container.runs.updates(
                info.context.principal, str(experiment_id) if experiment_id else None
            )
            try:
                async for run in updates:
                    yield RunType.of(run)
            finally:
                await updates.aclose()
