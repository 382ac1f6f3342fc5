"""Datasets: upload (GraphQL multipart request), list, get, delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import strawberry
from strawberry.file_uploads import Upload

from domain.errors import InvalidInput
from domain.model.datasets import Dataset, DatasetColumn
from domain.pagination import PageRequest
from server.schema.context import Info
from server.schema.pagination import Connection, connection

CHUNK_BYTES = 1 << 20


@strawberry.type(name="DatasetColumn", description="A column as profiled on upload.")
class DatasetColumnType:
    name: str
    dtype: str = strawberry.field(description="integer, float, boolean, datetime or string")
    missing_count: int
    unique_count: int

    @classmethod
    def of(cls, column: DatasetColumn) -> DatasetColumnType:
        return cls(
            name=column.name,
            dtype=column.dtype,
            missing_count=column.missing_count,
            unique_count=column.unique_count,
        )


@strawberry.type(name="Dataset", description="An uploaded table; the file is kept as uploaded.")
class DatasetType:
    id: strawberry.ID
    name: str
    row_count: int
    size_bytes: float = strawberry.field(description="Size of the stored file in bytes.")
    created_at: datetime
    dataset: strawberry.Private[Dataset]

    @classmethod
    def of(cls, dataset: Dataset) -> DatasetType:
        return cls(
            id=strawberry.ID(dataset.id),
            name=dataset.name,
            row_count=dataset.row_count,
            size_bytes=float(dataset.size_bytes),
            created_at=dataset.created_at,
            dataset=dataset,
        )

    @strawberry.field
    def columns(self) -> list[DatasetColumnType]:
        # Built only when asked for: list pages rarely are.
        return [DatasetColumnType.of(c) for c in self.dataset.columns]


@strawberry.input
class UploadDatasetInput:
    name: str
    file: Upload = strawberry.field(description="A UTF-8 CSV file with a header row.")


@strawberry.type
class UploadDatasetPayload:
    dataset: DatasetType


@strawberry.input
class DeleteDatasetInput:
    id: strawberry.ID


@strawberry.type
class DeleteDatasetPayload:
    id: strawberry.ID


async def _chunks(upload: Any) -> AsyncIterator[bytes]:
    if not callable(getattr(upload, "read", None)):
        raise InvalidInput(
            "`file` must be a file part of a multipart request (GraphQL multipart request spec).",
            field="file",
        )
    while chunk := await upload.read(CHUNK_BYTES):
        yield chunk


@strawberry.type
class DatasetQuery:
    @strawberry.field(description="The account's datasets, newest first.")
    async def datasets(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[DatasetType]:
        page = await info.context.views.dataset_page(PageRequest.of(first, after))
        return connection(page, DatasetType.of)

    @strawberry.field
    async def dataset(self, info: Info, id: strawberry.ID) -> DatasetType | None:
        dataset = await info.context.loaders.datasets.load(str(id))
        return DatasetType.of(dataset) if dataset else None


@strawberry.type
class DatasetMutation:
    @strawberry.mutation(description="Upload a CSV (GraphQL multipart request spec).")
    async def upload_dataset(self, info: Info, input: UploadDatasetInput) -> UploadDatasetPayload:
        dataset = await info.context.container.datasets.upload(
            info.context.principal, input.name, _chunks(input.file)
        )
        return UploadDatasetPayload(dataset=DatasetType.of(dataset))

    @strawberry.mutation(description="Delete a dataset that no experiment uses.")
    async def delete_dataset(self, info: Info, input: DeleteDatasetInput) -> DeleteDatasetPayload:
        deleted = await info.context.container.datasets.delete(
            info.context.principal, str(input.id)
        )
        return DeleteDatasetPayload(id=strawberry.ID(deleted))
