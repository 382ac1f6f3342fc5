"""Runs, their trials and events: start, cancel, delete, compare, follow live."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from domain.errors import NotFound
from domain.model.runs import (
    EnsembleMember,
    Run,
    RunConfig,
    RunEvent,
    RunEventType,
    RunMetrics,
    RunStatus,
    SearchMethod,
    Trial,
)
from domain.pagination import PageRequest
from domain.ports import RunFilter
from server.run_json import config_to_json, metrics_summary
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
            params=JSON(trial.params),
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
            data=JSON(event.data),
        )


def config_json(config: RunConfig) -> dict[str, Any]:
    """`Run.config` as clients have always read it (a flat JSON object)."""
    return config_to_json(config)


def metrics_json(metrics: RunMetrics | None) -> dict[str, Any] | None:
    """`Run.metrics` as clients have always read it; the typed `results` and `best` say more."""
    return metrics_summary(metrics) if metrics is not None else None


@strawberry.type(name="RunBudget", description="When the search stops: trials, seconds or both.")
class BudgetType:
    max_trials: int | None
    timeout_seconds: int | None


@strawberry.type(name="RunForecastSettings", description="Forecasting runs only.")
class ForecastSettingsType:
    series_id: str | None = strawberry.field(description="None: one series.")
    date_column: str | None = strawberry.field(description="None: the first date column.")
    horizon: int


@strawberry.type(name="RunConfig", description="How a run searches (what startRun was given).")
class RunConfigType:
    method: SearchMethodEnum  # type: ignore[valid-type]
    budget: BudgetType
    algorithms: list[str] | None = strawberry.field(description="None: every candidate family.")
    cv_folds: int
    seed: int
    forecast: ForecastSettingsType

    @classmethod
    def of(cls, config: RunConfig) -> RunConfigType:
        return cls(
            method=config.method,
            budget=BudgetType(max_trials=config.max_trials, timeout_seconds=config.timeout_seconds),
            algorithms=list(config.algorithms) if config.algorithms is not None else None,
            cv_folds=config.cv_folds,
            seed=config.seed,
            forecast=ForecastSettingsType(
                series_id=config.series_id, date_column=config.date_column, horizon=config.horizon
            ),
        )


@strawberry.type(name="MetricValue", description="One metric's value.")
class MetricValueType:
    name: str
    value: float | None

    @classmethod
    def all(cls, values: dict[str, float | None]) -> list[MetricValueType]:
        return [cls(name=name, value=value) for name, value in values.items()]


@strawberry.type(name="RunMetrics", description="What a finished training scored.")
class RunMetricsType:
    metric: str = strawberry.field(description="The metric the search optimised.")
    cv_score: float | None = strawberry.field(description="The delivered model's CV score.")
    best_algorithm: str = strawberry.field(description="`ensemble` or the best trial's.")
    trials: int
    stopped_reason: str
    ensemble: bool
    cv: list[MetricValueType] = strawberry.field(description="Every metric, cross-validated.")
    test: list[MetricValueType] = strawberry.field(description="Every metric, on held-out rows.")

    @classmethod
    def of(cls, metrics: RunMetrics) -> RunMetricsType:
        return cls(
            metric=metrics.metric,
            cv_score=metrics.cv_score,
            best_algorithm=metrics.best_algorithm,
            trials=metrics.trials,
            stopped_reason=metrics.stopped_reason,
            ensemble=metrics.ensemble,
            cv=MetricValueType.all(metrics.cv),
            test=MetricValueType.all(metrics.test),
        )


@strawberry.type(name="RunBestMember", description="A trial the run's best model is made of.")
class BestMemberType:
    trial_number: int
    algorithm: str
    weight: float = strawberry.field(description="Its share of the blend (1 for a single trial).")
    score: float | None = strawberry.field(description="The trial's own CV score.")

    @classmethod
    def of(cls, member: EnsembleMember) -> BestMemberType:
        return cls(
            trial_number=member.trial_number,
            algorithm=member.algorithm,
            weight=member.weight,
            score=member.score,
        )


@strawberry.type(
    name="RunBest",
    description="The run's best model: the one it registered once it succeeded (an ensemble "
    "of trials or a single trial), else the best trial so far.",
)
class RunBestType:
    algorithm: str = strawberry.field(description="`ensemble` or the trial's algorithm.")
    score: float | None = strawberry.field(description="CV score, in the run's metric.")
    ensemble: bool
    members: list[BestMemberType]

    @classmethod
    def of_metrics(cls, metrics: RunMetrics) -> RunBestType:
        return cls(
            algorithm=metrics.best_algorithm,
            score=metrics.cv_score,
            ensemble=metrics.ensemble,
            members=[BestMemberType.of(m) for m in metrics.members],
        )

    @classmethod
    def of_trial(cls, trial: Trial) -> RunBestType:
        member = EnsembleMember(trial.number, trial.algorithm, 1.0, trial.score)
        return cls(
            algorithm=trial.algorithm,
            score=trial.score,
            ensemble=False,
            members=[BestMemberType.of(member)],
        )


@strawberry.type(name="Run", description="One execution of an experiment.")
class RunType:
    # Plain fields are copied from the Run of the same name (see `of`).
    id: strawberry.ID
    status: RunStatusEnum  # type: ignore[valid-type]
    attempt: int
    progress: float
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    mlflow_run_id: str | None
    run: strawberry.Private[Run]

    @classmethod
    def of(cls, run: Run) -> RunType:
        return cls(run=run, **{name: getattr(run, name) for name in _RUN_FIELDS})

    @strawberry.field(
        description="Method, budget, algorithms, folds, seed (and forecast options), as JSON; "
        "`settings` has the same, typed."
    )
    def config(self) -> JSON:
        return JSON(config_json(self.run.config))

    @strawberry.field(description="How the run searches.")
    def settings(self) -> RunConfigType:
        return RunConfigType.of(self.run.config)

    @strawberry.field(description="What the finished training scored, as JSON; see `results`.")
    def metrics(self) -> JSON | None:
        return JSON(metrics_json(self.run.metrics))

    @strawberry.field(description="What the finished training scored (null until then).")
    def results(self) -> RunMetricsType | None:
        return RunMetricsType.of(self.run.metrics) if self.run.metrics is not None else None

    @strawberry.field(
        description="The run's best model: once it succeeded, the model it registered (an "
        "ensemble with its members, or one trial); before that, the best trial so far."
    )
    async def best(self, info: Info) -> RunBestType | None:
        metrics = self.run.metrics
        if metrics is not None and (metrics.members or metrics.ensemble):
            return RunBestType.of_metrics(metrics)
        trial = await self._best_trial(info)
        return RunBestType.of_trial(trial) if trial is not None else None

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

    @strawberry.field(
        description="The best trial: the one the registered model is; null when that model is "
        "an ensemble (see `best`). Before the run ends, the best trial so far."
    )
    async def best_trial(self, info: Info) -> TrialType | None:
        trial = await self._best_trial(info)
        return TrialType.of(trial) if trial else None

    async def _best_trial(self, info: Info) -> Trial | None:
        query = self.run.best_trial_query(await self._metric(info))
        return await info.context.loaders.best_trials.load(query) if query is not None else None

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


# RunType's plain fields: those named like a Run field (a new one is added in RunType only).
_RUN_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(RunType)
    if f.init and f.name != "run" and f.name in {g.name for g in dataclasses.fields(Run)}
)


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
            for key in entry.run.metrics.cv if entry.run.metrics is not None else ():
                names[key] = None
        return RunComparison(
            runs=[
                ComparedRun(
                    run=RunType.of(entry.run),
                    config=JSON(config_json(entry.run.config)),
                    metrics=JSON(metrics_json(entry.run.metrics)),
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
