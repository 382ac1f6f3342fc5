"""Experiments: create, update, delete, list (filtered), get; with dataset, runs, model."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import strawberry
from graphql.pyutils import AwaitableOrValue

from domain.errors import DomainError, NotFound
from domain.model.datasets import Dataset
from domain.model.experiments import Experiment, ProblemType
from domain.model.models import Model
from domain.model.runs import Run
from domain.pagination import Page, PageRequest
from domain.ports import ExperimentFilter
from server.schema.context import Info
from server.schema.datasets import DatasetType
from server.schema.models import ModelType
from server.schema.pagination import Connection, connection
from server.schema.runs import RunType
from server.schema.selection import node_fields

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
    # Relations the list resolver loaded for the whole page (see `preload`), by field.
    preloaded: strawberry.Private[dict[Any, Any] | None] = None

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

    # The relations answer from what the page preloaded, without awaiting; alone (one
    # experiment, or a field the list did not foresee) they load through the DataLoaders.
    @strawberry.field(graphql_type=DatasetType)
    def dataset(self, info: Info) -> AwaitableOrValue[DatasetType]:
        if self.preloaded is not None and "dataset" in self.preloaded:
            return self._dataset(self.preloaded["dataset"])
        return self._load_dataset(info)

    async def _load_dataset(self, info: Info) -> DatasetType:
        return self._dataset(await info.context.loaders.datasets.load(self.dataset_id))

    def _dataset(self, dataset: Dataset | None) -> DatasetType:
        if dataset is None:
            raise NotFound.of("Dataset", self.dataset_id)
        return DatasetType.of(dataset)

    @strawberry.field(
        description="The experiment's runs, newest first.", graphql_type=Connection[RunType]
    )
    def runs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> AwaitableOrValue[Connection[RunType]]:
        request = PageRequest.of(first, after)
        if self.preloaded is not None and ("runs", request) in self.preloaded:
            return connection(self.preloaded["runs", request], RunType.of)
        return self._load_runs(info, request)

    async def _load_runs(self, info: Info, request: PageRequest) -> Connection[RunType]:
        loader = info.context.loaders.runs_of_experiments(request)
        return connection(await loader.load(str(self.id)), RunType.of)

    @strawberry.field(
        description="The model in PRODUCTION for this experiment, if any.",
        graphql_type=ModelType | None,
    )
    def production_model(self, info: Info) -> AwaitableOrValue[ModelType | None]:
        if self.preloaded is not None and "productionModel" in self.preloaded:
            return self._model(self.preloaded["productionModel"])
        return self._load_production_model(info)

    async def _load_production_model(self, info: Info) -> ModelType | None:
        return self._model(await info.context.loaders.production_models.load(str(self.id)))

    @staticmethod
    def _model(model: Model | None) -> ModelType | None:
        return ModelType.of(model) if model else None


async def preload(info: Info, nodes: list[ExperimentType]) -> None:
    """Load the relations the document asks of a page of experiments, for all of them at once
    (the same batched queries the DataLoaders make), so each node answers without awaiting."""
    if not nodes:
        return
    ids = [str(node.id) for node in nodes]
    loaders = info.context.loaders
    loads: dict[Any, Any] = {}
    for field in node_fields(info):
        if field.name == "dataset" and "dataset" not in loads:
            loads["dataset"] = loaders.datasets.load_many([n.dataset_id for n in nodes])
        elif field.name == "productionModel" and "productionModel" not in loads:
            loads["productionModel"] = loaders.production_models.load_many(ids)
        elif field.name == "runs":
            first, after = field.arguments.get("first"), field.arguments.get("after")
            try:
                # A literal argument comes as the document's text (`5`); a variable, coerced.
                request = PageRequest.of(int(first) if first is not None else None, after)
            except (DomainError, TypeError, ValueError):
                continue  # the field itself reports it, at its own path
            if ("runs", request) not in loads:
                loads["runs", request] = loaders.runs_of_experiments(request).load_many(ids)
    if not loads:
        return
    loaded: list[list[Dataset | Page[Run] | Model | None]] = await asyncio.gather(*loads.values())
    for node in nodes:
        node.preloaded = {}
    for key, values in zip(loads, loaded, strict=True):
        for node, value in zip(nodes, values, strict=True):
            node.preloaded[key] = value  # type: ignore[index]


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
        result = connection(page, ExperimentType.of)
        await preload(info, [edge.node for edge in result.edges])
        return result

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
