"""Registered models: list, get, promote through stages, predict."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from domain.errors import NotFound
from domain.model.models import Model, ModelStage
from domain.model.runs import RunMetrics
from domain.pagination import PageRequest
from domain.ports import ModelFilter
from server.run_json import metrics_summary
from server.schema.context import Info
from server.schema.pagination import Connection, connection

if TYPE_CHECKING:
    from server.schema.runs import RunMetricsType, RunType

ModelStageEnum = strawberry.enum(ModelStage, name="ModelStage")


@strawberry.type(name="Model", description="A fitted model a succeeded run registered.")
class ModelType:
    id: strawberry.ID
    stage: ModelStageEnum  # type: ignore[valid-type]
    metrics: JSON = strawberry.field(
        description="What the run that registered it scored, as JSON; `results` has it typed."
    )
    feature_importances: JSON | None
    input_schema: JSON | None = strawberry.field(
        description="Column -> kind (numeric, boolean, categorical, datetime) predict expects."
    )
    problem_type: str | None
    created_at: datetime
    run_id: strawberry.Private[str]
    run_metrics: strawberry.Private[RunMetrics]

    @classmethod
    def of(cls, model: Model) -> ModelType:
        return cls(
            id=strawberry.ID(model.id),
            stage=model.stage,
            metrics=JSON(metrics_summary(model.metrics)),
            feature_importances=JSON(model.feature_importances),
            input_schema=JSON(model.input_schema),
            problem_type=model.problem_type,
            created_at=model.created_at,
            run_id=model.run_id,
            run_metrics=model.metrics,
        )

    @strawberry.field(description="What the run that registered it scored.")
    def results(self) -> Annotated[RunMetricsType, strawberry.lazy("server.schema.runs")]:
        from server.schema.runs import RunMetricsType

        return RunMetricsType.of(self.run_metrics)

    @strawberry.field
    async def run(self, info: Info) -> Annotated[RunType, strawberry.lazy("server.schema.runs")]:
        from server.schema.runs import RunType

        run = await info.context.loaders.runs.load(self.run_id)
        if run is None:
            raise NotFound.of("Run", self.run_id)
        return RunType.of(run)


@strawberry.input(name="ModelFilter")
class ModelFilterInput:
    experiment_id: strawberry.ID | None = None
    stage: ModelStageEnum | None = None  # type: ignore[valid-type]

    def to_domain(self) -> ModelFilter:
        return ModelFilter(
            experiment_id=str(self.experiment_id) if self.experiment_id else None,
            stage=self.stage,
        )


@strawberry.input
class PromoteModelInput:
    model_id: strawberry.ID
    stage: ModelStageEnum  # type: ignore[valid-type]


@strawberry.type
class PromoteModelPayload:
    model: ModelType


@strawberry.input
class PredictInput:
    model_id: strawberry.ID
    rows: JSON = strawberry.field(description="A list of objects, one per row.")


@strawberry.type
class PredictPayload:
    predictions: JSON = strawberry.field(description="One entry per input row, in order.")


@strawberry.type
class ModelQuery:
    @strawberry.field(description="The account's models, newest first.")
    async def models(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: ModelFilterInput | None = None,
    ) -> Connection[ModelType]:
        where = filter.to_domain() if filter else ModelFilter()
        page = await info.context.views.model_page(PageRequest.of(first, after), where)
        return connection(page, ModelType.of)

    @strawberry.field
    async def model(self, info: Info, id: strawberry.ID) -> ModelType | None:
        model = await info.context.loaders.models.load(str(id))
        return ModelType.of(model) if model else None


@strawberry.type
class ModelMutation:
    @strawberry.mutation(description="Move a model to STAGING, PRODUCTION or ARCHIVED.")
    async def promote_model(self, info: Info, input: PromoteModelInput) -> PromoteModelPayload:
        model = await info.context.container.models.promote(
            info.context.principal, str(input.model_id), input.stage
        )
        return PromoteModelPayload(model=ModelType.of(model))

    @strawberry.mutation(description="Predictions for rows (per period and series: forecasting).")
    async def predict(self, info: Info, input: PredictInput) -> PredictPayload:
        predictions = await info.context.container.models.predict(
            info.context.principal, str(input.model_id), input.rows
        )
        return PredictPayload(predictions=JSON(predictions))
