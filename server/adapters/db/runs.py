"""Runs and models in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select

from domain.model.runs import ACTIVE_STATUSES, Model, ModelStage, Run, RunStatus
from domain.pagination import Page, PageRequest
from domain.ports import ModelFilter, RunFilter
from server.adapters.db.base import SqlRepository
from server.adapters.db.tables import ModelRow, RunRow


class SqlRunRepository(SqlRepository[Run, RunRow]):
    row = RunRow
    sort_field = "queued_at"

    def to_entity(self, row: RunRow) -> Run:
        return Run(
            account_id=row.account_id,
            experiment_id=row.experiment_id,
            status=RunStatus(row.status),
            attempt=row.attempt,
            progress=row.progress,
            queued_at=row.queued_at,
            config=row.config or {},
            started_at=row.started_at,
            finished_at=row.finished_at,
            error=row.error,
            metrics=row.metrics,
            mlflow_run_id=row.mlflow_run_id,
            id=row.id,
        )

    def to_values(self, entity: Run) -> dict[str, Any]:
        return {
            "id": entity.id,
            "account_id": entity.account_id,
            "experiment_id": entity.experiment_id,
            "status": entity.status.value,
            "attempt": entity.attempt,
            "progress": entity.progress,
            "config": entity.config,
            "queued_at": entity.queued_at,
            "started_at": entity.started_at,
            "finished_at": entity.finished_at,
            "error": entity.error,
            "metrics": entity.metrics,
            "mlflow_run_id": entity.mlflow_run_id,
        }

    async def page(self, account_id: str, request: PageRequest, where: RunFilter) -> Page[Run]:
        conditions = []
        if where.experiment_id is not None:
            conditions.append(RunRow.experiment_id == where.experiment_id)
        if where.status is not None:
            conditions.append(RunRow.status == where.status.value)
        return await self._page(account_id, request, *conditions)

    async def pages_by_experiment(
        self, account_id: str, experiment_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[Run]]:
        return await self._pages_by(RunRow.experiment_id, account_id, experiment_ids, request)

    async def count_active(self, account_id: str, experiment_id: str) -> int:
        count = await self.session.scalar(
            select(func.count()).where(
                RunRow.account_id == account_id,
                RunRow.experiment_id == experiment_id,
                RunRow.status.in_([s.value for s in ACTIVE_STATUSES]),
            )
        )
        return count or 0

    async def delete_for_experiment(self, account_id: str, experiment_id: str) -> None:
        await self.session.execute(
            delete(RunRow).where(
                RunRow.account_id == account_id, RunRow.experiment_id == experiment_id
            )
        )


class SqlModelRepository(SqlRepository[Model, ModelRow]):
    row = ModelRow

    def to_entity(self, row: ModelRow) -> Model:
        return Model(
            account_id=row.account_id,
            experiment_id=row.experiment_id,
            run_id=row.run_id,
            stage=ModelStage(row.stage),
            metrics=row.metrics or {},
            created_at=row.created_at,
            feature_importances=row.feature_importances,
            artifact_key=row.artifact_key,
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
        rows = await self.session.scalars(
            select(ModelRow).where(ModelRow.account_id == account_id, key.in_(set(keys)), *where)
        )
        return {getattr(row, key.key): self.to_entity(row) for row in rows}

    async def delete_for_experiment(self, account_id: str, experiment_id: str) -> None:
        await self.session.execute(
            delete(ModelRow).where(
                ModelRow.account_id == account_id, ModelRow.experiment_id == experiment_id
            )
        )
