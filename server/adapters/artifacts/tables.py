"""CSV uploads stored as files under the artifacts directory and profiled with pandas."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pandas as pd

from automl.catalogue import MAX_COLUMNS
from domain.errors import InvalidInput
from domain.model.datasets import DatasetColumn, TableProfile
from server.adapters.artifacts.private import private_dir
from server.adapters.artifacts.store import LocalArtifactStore

SNIFF_BYTES = 64 * 1024
# UTF-8, with or without the byte-order mark Excel's "CSV UTF-8" writes: the mark must not
# become part of the first column's name. The trainer reads stored files the same way.
CSV_ENCODING = "utf-8-sig"


class LocalTableStore:
    """Uploaded tables, stored where the artifact store says (keys relative to its root)."""

    def __init__(self, files: LocalArtifactStore, max_bytes: int) -> None:
        self._files = files
        self._max_bytes = max_bytes

    def path_of(self, storage_key: str) -> Path:
        return self._files.path(storage_key)

    async def store_csv(
        self, account_id: str, dataset_id: str, chunks: AsyncIterator[bytes]
    ) -> TableProfile:
        key = self._files.dataset_key(account_id, dataset_id)
        final = self.path_of(key)
        private_dir(final.parent)
        handle, temp_name = tempfile.mkstemp(dir=final.parent, suffix=".part")
        temp = Path(temp_name)
        try:
            size = 0
            with os.fdopen(handle, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise InvalidInput(
                            f"The file is larger than the {self._max_bytes / 2**20:g} MiB limit.",
                            field="file",
                        )
                    out.write(chunk)
            if size == 0:
                raise InvalidInput("The file is empty; upload a CSV with a header row.", "file")
            columns, rows = await asyncio.to_thread(profile_csv, temp)
            temp.replace(final)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return TableProfile(key, size, rows, tuple(columns))

    async def delete(self, storage_key: str) -> None:
        await self._files.delete(storage_key)


def profile_csv(path: Path) -> tuple[list[DatasetColumn], int]:
    """Check that a file is a usable CSV and describe its columns."""
    header = _read_header(path)
    try:
        frame = pd.read_csv(path, encoding=CSV_ENCODING, low_memory=False)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(
            f"The file could not be read as CSV: {_first_line(exc)}", "file"
        ) from exc
    if not isinstance(frame.index, pd.RangeIndex) or len(frame.columns) != len(header):
        raise InvalidInput(
            "The file could not be read as CSV: its rows have more fields than the header.",
            field="file",
        )
    if frame.empty:
        raise InvalidInput("The CSV has a header but no data rows.", field="file")
    columns = [_profile_column(name, frame[name]) for name in header]
    return columns, len(frame)


def _read_header(path: Path) -> list[str]:
    with path.open("rb") as raw:
        sample = raw.read(SNIFF_BYTES)
    if b"\x00" in sample:
        raise InvalidInput("The file is binary, not a CSV text file.", field="file")
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(sample) < SNIFF_BYTES or exc.start < len(sample) - 4:
            raise InvalidInput(
                "The file is not UTF-8 text; save the CSV as UTF-8.", "file"
            ) from exc
        text = sample[: exc.start].decode("utf-8")
    text = text.removeprefix("\ufeff")
    first_line = text.splitlines()[0] if text.strip() else ""
    header = next(csv.reader(io.StringIO(first_line)), [])
    names = [name.strip() for name in header]
    if not names or all(not name for name in names):
        raise InvalidInput("The CSV has no header row.", field="file")
    if any(not name for name in names):
        raise InvalidInput("Every column of the CSV header needs a name.", field="file")
    if len(names) > MAX_COLUMNS:
        raise InvalidInput(
            f"The CSV has {len(names)} columns; at most {MAX_COLUMNS} are supported.", "file"
        )
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidInput(
            f"Column names must be unique; repeated: {', '.join(duplicates)}.", field="file"
        )
    if len(names) == 1 and len(first_line) > 200:
        raise InvalidInput("The file does not look like a CSV (no comma-separated header).", "file")
    return header


def _profile_column(name: str, values: pd.Series) -> DatasetColumn:
    missing = int(values.isna().sum())
    unique = int(values.nunique(dropna=True))
    return DatasetColumn(name=name, dtype=_kind(values), missing_count=missing, unique_count=unique)


def _kind(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if pd.api.types.is_integer_dtype(values):
        return "integer"
    if pd.api.types.is_float_dtype(values):
        present = values.dropna()
        if len(present) and (present == present.round()).all() and present.abs().max() < 2**53:
            return "integer"  # integers with gaps: pandas reads them as float
        return "float"
    present = values.dropna().astype(str)
    if present.empty:
        return "string"
    lowered = set(present.str.lower().unique())
    if lowered <= {"true", "false"}:
        return "boolean"
    sample = present.head(1000)
    parsed = pd.to_datetime(sample, errors="coerce", format="ISO8601", utc=True)
    if (
        parsed.notna().mean() >= 0.95
        and sample.str.contains(r"\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/").all()
    ):
        return "datetime"
    return "string"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
