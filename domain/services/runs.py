"""Reading runs and the models they registered (execution arrives with the job runner)."""

from __future__ import annotations

from collections.abc import Sequence

from domain.errors import NotFound
from domain.model.accounts import Principal
from domain.model.runs import Model, Run
from domain.pagination import Page, PageRequest
from domain.ports import ModelFilter, RunFilter, UnitOfWorkFactory


class RunService:
    """Runs and models of an account."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def get(self, principal: Principal, run_id: str) -> Run:
        found = await self.get_many(principal, [run_id])
        if run_id not in found:
            raise NotFound.of("Run", run_id)
        return found[run_id]

    async def get_many(self, principal: Principal, ids: Sequence[str]) -> dict[str, Run]:
        async with self._uow() as uow:
            return await uow.runs.get_many(principal.account_id, ids)

    async def page(self, principal: Principal, request: PageRequest, where: RunFilter) -> Page[Run]:
        async with self._uow() as uow:
            return await uow.runs.page(principal.account_id, request, where)

    async def pages_by_experiment(
        self, principal: Principal, experiment_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[Run]]:
        async with self._uow() as uow:
            return await uow.runs.pages_by_experiment(principal.account_id, experiment_ids, request)

    async def model(self, principal: Principal, model_id: str) -> Model:
        found = await self.models_by_id(principal, [model_id])
        if model_id not in found:
            raise NotFound.of("Model", model_id)
        return found[model_id]

    async def models_by_id(self, principal: Principal, ids: Sequence[str]) -> dict[str, Model]:
        async with self._uow() as uow:
            return await uow.models.get_many(principal.account_id, ids)

    async def models(
        self, principal: Principal, request: PageRequest, where: ModelFilter
    ) -> Page[Model]:
        async with self._uow() as uow:
            return await uow.models.page(principal.account_id, request, where)

    async def production_models(
        self, principal: Principal, experiment_ids: Sequence[str]
    ) -> dict[str, Model]:
        async with self._uow() as uow:
            return await uow.models.production_by_experiment(principal.account_id, experiment_ids)

    async def models_by_run(self, principal: Principal, run_ids: Sequence[str]) -> dict[str, Model]:
        async with self._uow() as uow:
            return await uow.models.by_run(principal.account_id, run_ids)
