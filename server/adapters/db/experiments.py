"""Experiments in SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from domain.model.experiments import Experiment, ProblemType
from domain.pagination import Page, PageRequest
from domain.ports import ExperimentFilter
from server.adapters.db.base import SqlRepository
from server.adapters.db.tables import ExperimentRow


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
