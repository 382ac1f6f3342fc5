"""Uploading and deleting datasets (reads: domain/views)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from domain.errors import Conflict, NotFound
from domain.model.accounts import Principal
from domain.model.common import clean_name, new_id
from domain.model.datasets import Dataset
from domain.ports import Clock, TableStore, UnitOfWorkFactory


class DatasetService:
    """Datasets: the file goes to the table store, the profile to the database."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, tables: TableStore) -> None:
        self._uow = uow
        self._clock = clock
        self._tables = tables

    async def upload(
        self, principal: Principal, name: str, chunks: AsyncIterator[bytes]
    ) -> Dataset:
        """Store and profile a CSV upload; nothing is left behind if any step fails."""
        principal.require_write()
        clean_name(name)  # refuse a bad name before reading the file
        dataset_id = new_id()
        profile = await self._tables.store_csv(principal.account_id, dataset_id, chunks)
        try:
            dataset = Dataset.register(
                principal.account_id, name, profile, self._clock.now(), dataset_id
            )
            async with self._uow() as uow:
                await uow.datasets.add(dataset)
                await uow.commit()
        except BaseException:
            await self._tables.delete(profile.storage_key)
            raise
        return dataset

    async def delete(self, principal: Principal, dataset_id: str) -> str:
        """Delete a dataset no experiment uses; its file goes after the row is gone."""
        principal.require_write()
        async with self._uow() as uow:
            dataset = await uow.datasets.get(principal.account_id, dataset_id)
            if dataset is None:
                raise NotFound.of("Dataset", dataset_id)
            used = await uow.experiments.count_for_dataset(principal.account_id, dataset_id)
            if used:
                raise Conflict(f"{used} experiment(s) use this dataset; delete them first.", "id")
            await uow.datasets.delete(principal.account_id, dataset_id)
            await uow.commit()
        await self._tables.delete(dataset.storage_key)
        return dataset_id
