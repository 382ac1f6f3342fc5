"""Datasets in SQL (the profile; the file itself is in the table store)."""

from __future__ import annotations

from typing import Any

from domain.model.datasets import Dataset, DatasetColumn
from domain.pagination import Page, PageRequest
from server.adapters.db.base import SqlRepository
from server.adapters.db.tables import DatasetRow


class SqlDatasetRepository(SqlRepository[Dataset, DatasetRow]):
    row = DatasetRow

    def to_entity(self, row: DatasetRow) -> Dataset:
        return Dataset(
            account_id=row.account_id,
            name=row.name,
            storage_key=row.storage_key,
            size_bytes=row.size_bytes,
            row_count=row.row_count,
            columns=[DatasetColumn(**column) for column in row.columns],
            created_at=row.created_at,
            id=row.id,
        )

    def to_values(self, entity: Dataset) -> dict[str, Any]:
        return {
            "id": entity.id,
            "account_id": entity.account_id,
            "name": entity.name,
            "storage_key": entity.storage_key,
            "size_bytes": entity.size_bytes,
            "row_count": entity.row_count,
            "columns": [
                {
                    "name": c.name,
                    "dtype": c.dtype,
                    "missing_count": c.missing_count,
                    "unique_count": c.unique_count,
                }
                for c in entity.columns
            ],
            "created_at": entity.created_at,
        }

    async def page(self, account_id: str, request: PageRequest) -> Page[Dataset]:
        return await self._page(account_id, request)
