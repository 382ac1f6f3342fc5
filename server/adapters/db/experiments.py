"""Experiments in SQL."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import func, select

from domain.model.datasets import Dataset
from domain.model.experiments import Experiment, ProblemType
from domain.pagination import Page, PageRequest
from domain.ports import ExperimentFilter
from server.adapters.db.base import SqlRepository
from server.adapters.db.datasets import SqlDatasetRepository
from server.adapters.db.tables import DatasetRow, ExperimentRow


class SqlExperimentRepository(SqlRepository[Experiment, ExperimentRow]):
    row = ExperimentRow

    def to_entity(self, row: ExperimentRow) -> Experiment:
        return Experiment(
            account_id=row.account_id,
            dataset_id=row.dataset_id,
            name=row.name,
            description=row.description,
            problem_type=ProblemType(row.problem_type),
            target=row.target,
            metric=row.metric,
            created_at=row.created_at,
            updated_at=row.updated_at,
            id=row.id,
        )

    def to_values(self, entity: Experiment) -> dict[str, Any]:
        return {
            "id": entity.id,
            "account_id": entity.account_id,
            "dataset_id": entity.dataset_id,
            "name": entity.name,
            "description": entity.description,
            "problem_type": entity.problem_type.value,
            "target": entity.target,
            "metric": entity.metric,
            "created_at": entity.created_at,
            "updated_at": entity.updated_at,
        }

    async def page(
        self, account_id: str, request: PageRequest, where: ExperimentFilter
    ) -> Page[Experiment]:
        conditions = []
        if where.dataset_id is not None:
            conditions.append(ExperimentRow.dataset_id == where.dataset_id)
        if where.problem_type is not None:
            conditions.append(ExperimentRow.problem_type == where.problem_type.value)
        if where.name_contains:
            conditions.append(
                func.lower(ExperimentRow.name).contains(
                    where.name_contains.lower(), autoescape=True
                )
            )
        return await self._page(account_id, request, *conditions)

    async def find_by_name(self, account_id: str, name: str) -> Experiment | None:
        row = await self.session.scalar(
            select(ExperimentRow).where(
                ExperimentRow.account_id == account_id, ExperimentRow.name == name
            )
        )
        return self.to_entity(row) if row is not None else None

    async def count_for_dataset(self, account_id: str, dataset_id: str) -> int:
        count = await self.session.scalar(
            select(func.count()).where(
                ExperimentRow.account_id == account_id, ExperimentRow.dataset_id == dataset_id
            )
        )
        return count or 0

    async def with_dataset(
        self, account_id: str, experiment_id: str
    ) -> tuple[Experiment, Dataset] | None:
        mine, theirs = self.columns(), SqlDatasetRepository.columns()
        row = (
            await self.session.execute(
                select(*mine, *theirs)
                .join_from(
                    ExperimentRow,
                    DatasetRow,
                    (DatasetRow.id == ExperimentRow.dataset_id)
                    & (DatasetRow.account_id == ExperimentRow.account_id),
                )
                .where(ExperimentRow.account_id == account_id, ExperimentRow.id == experiment_id)
            )
        ).first()
        if row is None:
            return None
        # Both tables have `id`, `name`...: split the row by position.
        split = len(mine)
        experiment = SimpleNamespace(**{c.key: v for c, v in zip(mine, row[:split], strict=True)})
        dataset = SimpleNamespace(**{c.key: v for c, v in zip(theirs, row[split:], strict=True)})
        return (
            self.to_entity(cast(Any, experiment)),
            SqlDatasetRepository(self.session).to_entity(cast(Any, dataset)),
        )
