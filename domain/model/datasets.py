"""Datasets: uploaded tables (stored as files) and their profiled columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.model.common import clean_name, new_id

NUMERIC_DTYPES = frozenset({"integer", "float"})


@dataclass(frozen=True, slots=True)
class DatasetColumn:
    """One column of a dataset as profiled on upload.

    dtype is one of: integer, float, boolean, datetime, string.
    """

    name: str
    dtype: str
    missing_count: int
    unique_count: int

    @property
    def is_numeric(self) -> bool:
        return self.dtype in NUMERIC_DTYPES


@dataclass(frozen=True, slots=True)
class TableProfile:
    """What a stored table looks like: where it is, its size, rows and columns."""

    storage_key: str
    size_bytes: int
    row_count: int
    columns: tuple[DatasetColumn, ...]


@dataclass(slots=True)
class Dataset:
    """A table a seller uploaded (or derived); the file lives in the artifact store."""

    account_id: str
    name: str
    storage_key: str
    size_bytes: int
    row_count: int
    columns: list[DatasetColumn]
    created_at: datetime
    id: str = field(default_factory=new_id)

    @classmethod
    def register(
        cls, account_id: str, name: str, profile: TableProfile, now: datetime, dataset_id: str
    ) -> Dataset:
        return cls(
            account_id=account_id,
            name=clean_name(name),
            storage_key=profile.storage_key,
            size_bytes=profile.size_bytes,
            row_count=profile.row_count,
            columns=list(profile.columns),
            created_at=now,
            id=dataset_id,
        )

    def column(self, name: str) -> DatasetColumn | None:
        return next((c for c in self.columns if c.name == name), None)
