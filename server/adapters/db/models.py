"""Registered models in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import delete, select

from domain.model.models import Model, ModelStage
from domain.pagination import Page, PageRequest
from domain.ports import ModelFilter
from server.adapters.db.base import SqlRepository
from server.adapters.db.tables import ModelRow


class SqlModelRepository(SqlRepository[Model, ModelRow]):
    row = ModelRow

    def to_entity(self, row: ModelRow) -> Model:
        return Model(
            account_id=row.account_id,
            experiment_id=row.experiment_id,
            run_id=row.run_id,
            stage=ModelStage(row.stage),
            metrics=row.metrics,
            created_at=row.created_at,
            feature_importances=row.feature_importances,
            artifact_key=row.artifact_key,
            input_schema=row.input_schema,
            problem_type=row.problem_type,
            id=row.id,
        )

    def to_values(self, entity: Model) -> dict[str, Any]:
        return {
            "id": entity.id,
            "account_id": entity.account_id,
            "experiment_id": entity.experiment_id,
            "run_id": entity.run_id,
            "stage": entity.stage.value,
            "metrics": entity.metrics,
            "feature_importances": entity.feature_importances,
            "artifact_key": entity.artifact_key,
            "input_schema": entity.input_schema,
            "problem_type": entity.problem_type,
            "created_at": entity.created_at,
        }

    async def page(self, account_id: str, request: PageRequest, where: ModelFilter) -> Page[Model]:
        conditions = []
        if where.experiment_id is not None:
            conditions.append(ModelRow.experiment_id == where.experiment_id)
        if where.stage is not None:
            conditions.append(ModelRow.stage == where.stage.value)
        return await self._page(account_id, request, *conditions)

    async def production_by_experiment(
        self, account_id: str, experiment_ids: Sequence[str]
    ) -> dict[str, Model]:
        return await self._one_per(
            ModelRow.experiment_id,
            account_id,
            experiment_ids,
            ModelRow.stage == ModelStage.PRODUCTION.value,
        )

    async def by_run(self, account_id: str, run_ids: Sequence[str]) -> dict[str, Model]:
        return await self._one_per(ModelRow.run_id, account_id, run_ids)

    async def _one_per(self, key: Any, account_id: str, keys: Sequence[str], *where: Any) -> dict:
        if not keys:
            return {}
        rows = await self.session.execute(
            select(*self.columns()).where(
                ModelRow.account_id == account_id, key.in_(set(keys)), *where
            )
        )
        return {getattr(row, key.key): self.to_entity(cast(Any, row)) for row in rows}

    async def delete_for_experiment(self, account_id: str, experiment_id: str) -> list[str]:
        deleted = await self.session.scalars(
            delete(ModelRow)
            .where(ModelRow.account_id == account_id, ModelRow.experiment_id == experiment_id)
            .returning(ModelRow.artifact_key)
        )
        return [key for key in deleted if key]

    async def delete_for_run(self, account_id: str, run_id: str) -> list[str]:
        deleted = await self.session.scalars(
            delete(ModelRow)
            .where(ModelRow.account_id == account_id, ModelRow.run_id == run_id)
            .returning(ModelRow.artifact_key)
        )
        return [key for key in deleted if key]
