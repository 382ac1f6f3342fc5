"""Runs, their trials and the models they register (read side; execution is the job runner's)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from domain.errors import NotFound
from domain.model.runs import Model, ModelStage, Run, RunStatus
from domain.pagination import Page, PageRequest
from domain.ports import ModelFilter, RunFilter
from server.schema.context import Info
from server.schema.pagination import Connection, connection

RunStatusEnum = strawberry.enum(RunStatus, name="RunStatus")
ModelStageEnum = strawberry.enum(ModelStage, name="ModelStage")


@strawberry.type(name="Trial", description="One candidate the search evaluated.")
class TrialType:
    number: int
    algorithm: str
    params: JSON
    score: float | None
    status: str
    duration_seconds: float | None


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
    experiment_id: strawberry.Private[str]

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
            experiment_id=run.experiment_id,
        )

    @strawberry.field
    async def experiment(self, info: Info) -> ExperimentType:
        experiment = await info.context.loaders.experiments.load(self.experiment_id)
        if experiment is None:
            raise NotFound.of("Experiment", self.experiment_id)
        return ExperimentType.of(experiment)

    @strawberry.field(description="The run's leaderboard, best first.")
    async def trials(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[TrialType]:
        PageRequest.of(first, after)  # validates the arguments
        # Trials are recorded by the job runner, which does not exist yet: none to show.
        return connection(Page(items=[], cursors=[], has_next_page=False, total_count=0), _trial)

    @strawberry.field
    async def best_trial(self, info: Info) -> TrialType | None:
        return None

    @strawberry.field(description="The model this run registered, once it succeeded.")
    async def model(self, info: Info) -> ModelType | None:
        model = await info.context.loaders.models_by_run.load(str(self.id))
        return ModelType.of(model) if model else None


def _trial(item: TrialType) -> TrialType:
    return item


@strawberry.type(name="Model", description="A fitted model a succeeded run registered.")
class ModelType:
    id: strawberry.ID
    stage: ModelStageEnum  # type: ignore[valid-type]
    metrics: JSON
    feature_importances: JSON | None
    created_at: datetime
    run_id: strawberry.Private[str]

    @classmethod
    def of(cls, model: Model) -> ModelType:
        return cls(
            id=strawberry.ID(model.id),
            stage=model.stage,
            metrics=model.metrics,
            feature_importances=model.feature_importances,
            created_at=model.created_at,
            run_id=model.run_id,
        )

    @strawberry.field
    async def run(self, info: Info) -> RunType:
        run = await info.context.loaders.runs.load(self.run_id)
        if run is None:
            raise NotFound.of("Run", self.run_id)
        return RunType.of(run)


@strawberry.input(name="RunFilter")
class RunFilterInput:
    experiment_id: strawberry.ID | None = None
    status: RunStatusEnum | None = None  # type: ignore[valid-type]


@strawberry.input(name="ModelFilter")
class ModelFilterInput:
    experiment_id: strawberry.ID | None = None
    stage: ModelStageEnum | None = None  # type: ignore[valid-type]


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
        page = await info.context.container.runs.page(
            info.context.principal, PageRequest.of(first, after), where
        )
        return connection(page, RunType.of)

    @strawberry.field
    async def run(self, info: Info, id: strawberry.ID) -> RunType | None:
        run = await info.context.loaders.runs.load(str(id))
        return RunType.of(run) if run else None

    @strawberry.field(description="The account's models, newest first.")
    async def models(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: ModelFilterInput | None = None,
    ) -> Connection[ModelType]:
        where = ModelFilter(
            experiment_id=str(filter.experiment_id) if filter and filter.experiment_id else None,
            stage=filter.stage if filter else None,
        )
        page = await info.context.container.runs.models(
            info.context.principal, PageRequest.of(first, after), where
        )
        return connection(page, ModelType.of)

    @strawberry.field
    async def model(self, info: Info, id: strawberry.ID) -> ModelType | None:
        found = await info.context.container.runs.models_by_id(info.context.principal, [str(id)])
        model = found.get(str(id))
        return ModelType.of(model) if model else None


from server.schema.experiments import ExperimentType  # noqa: E402  (mutual references)
