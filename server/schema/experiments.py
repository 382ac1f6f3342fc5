"""Experiments: create, update, delete, list (filtered), get; with dataset, runs, model."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.errors import NotFound
from domain.model.experiments import Experiment, ProblemType
from domain.pagination import PageRequest
from domain.ports import ExperimentFilter
from server.schema.context import Info
from server.schema.datasets import DatasetType
from server.schema.models import ModelType
from server.schema.pagination import Connection, connection
from server.schema.runs import RunType

ProblemTypeEnum = strawberry.enum(ProblemType, name="ProblemType")


@strawberry.type(name="Experiment", description="A learning task on one dataset.")
class ExperimentType:
    id: strawberry.ID
    name: str
    description: str | None
    problem_type: ProblemTypeEnum  # type: ignore[valid-type]
    target: str | None
    metric: str | None
    created_at: datetime
    updated_at: datetime
    dataset_id: strawberry.Private[str]

    @classmethod
    def of(cls, experiment: Experiment) -> ExperimentType:
        return cls(
            id=strawberry.ID(experiment.id),
            name=experiment.name,
            description=experiment.description,
            problem_type=experiment.problem_type,
            target=experiment.target,
            metric=experiment.metric,
            created_at=experiment.created_at,
            updated_at=experiment.updated_at,
            dataset_id=experiment.dataset_id,
        )

    @strawberry.field
    async def dataset(self, info: Info) -> DatasetType:
        dataset = await info.context.loaders.datasets.load(self.dataset_id)
        if dataset is None:
            raise NotFound.of("Dataset", self.dataset_id)
        return DatasetType.of(dataset)

    @strawberry.field(description="The experiment's runs, newest first.")
    async def runs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[RunType]:
        loader = info.context.loaders.runs_of_experiments(PageRequest.of(first, after))
        return connection(await loader.load(str(self.id)), RunType.of)

    @strawberry.field(description="The model in PRODUCTION for this experiment, if any.")
    async def production_model(self, info: Info) -> ModelType | None:
        model = await info.context.loaders.production_models.load(str(self.id))
        return ModelType.of(model) if model else None


@strawberry.input(name="ExperimentFilter")
class ExperimentFilterInput:
    dataset_id: strawberry.ID | None = None
    problem_type: ProblemTypeEnum | None = None  # type: ignore[valid-type]
    name_contains: str | None = None

    def to_domain(self) -> ExperimentFilter:
        return ExperimentFilter(
            dataset_id=str(self.dataset_id) if self.dataset_id else None,
            problem_type=self.problem_type,
            name_contains=self.name_contains,
        )


@strawberry.input
class CreateExperimentInput:
    name: str
    dataset_id: strawberry.ID
    problem_type: ProblemTypeEnum  # type: ignore[valid-type]
    description: str | None = None
    target: str | None = strawberry.field(default=None, description="None for clustering.")
    metric: str | None = strawberry.field(
        default=None, description="Defaults per problem type (rmse, f1_macro, silhouette)."
    )


@strawberry.type
class CreateExperimentPayload:
    experiment: ExperimentType


@strawberry.input
class UpdateExperimentInput:
    id: strawberry.ID
    name: str | None = None
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="null clears the description."
    )
    metric: str | None = None


@strawberry.type
class UpdateExperimentPayload:
    experiment: ExperimentType


@strawberry.input
class DeleteExperimentInput:
    id: strawberry.ID


@strawberry.type
class DeleteExperimentPayload:
    id: strawberry.ID


@strawberry.type
class ExperimentQuery:
    @strawberry.field(description="The account's experiments, newest first.")
    async def experiments(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: ExperimentFilterInput | None = None,
    ) -> Connection[ExperimentType]:
        where = filter.to_domain() if filter else ExperimentFilter()
        page = await info.context.views.experiment_page(PageRequest.of(first, after), where)
        return connection(page, ExperimentType.of)

    @strawberry.field
    async def experiment(self, info: Info, id: strawberry.ID) -> ExperimentType | None:
        experiment = await info.context.loaders.experiments.load(str(id))
        return ExperimentType.of(experiment) if experiment else None


@strawberry.type
class ExperimentMutation:
    @strawberry.mutation
    async def create_experiment(
        self, info: Info, input: CreateExperimentInput
    ) -> CreateExperimentPayload:
        experiment = await info.context.container.experiments.create(
            info.context.principal,
            dataset_id=str(input.dataset_id),
            name=input.name,
            description=input.description,
            problem_type=input.problem_type,
            target=input.target,
            metric=input.metric,
        )
        return CreateExperimentPayload(experiment=ExperimentType.of(experiment))

    @strawberry.mutation(description="Change name, description or metric; omitted fields stay.")
    async def update_experiment(
        self, info: Info, input: UpdateExperimentInput
    ) -> UpdateExperimentPayload:
        description_given = input.description is not strawberry.UNSET
        experiment = await info.context.container.experiments.update(
            info.context.principal,
            str(input.id),
            name=input.name,
            description=input.description if description_given else None,
            clear_description=description_given and input.description is None,
            metric=input.metric,
        )
        return UpdateExperimentPayload(experiment=ExperimentType.of(experiment))

    @strawberry.mutation(description="Delete an experiment with its finished runs and models.")
    async def delete_experiment(
        self, info: Info, input: DeleteExperimentInput
    ) -> DeleteExperimentPayload:
        deleted = await info.context.container.experiments.delete(
            info.context.principal, str(input.id)
        )
        return DeleteExperimentPayload(id=strawberry.ID(deleted))
