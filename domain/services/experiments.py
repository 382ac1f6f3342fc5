"""Creating, changing and deleting experiments and their runs (reads: domain/views)."""

from __future__ import annotations

from domain.errors import Conflict, InvalidInput, NotFound
from domain.model.accounts import Principal
from domain.model.experiments import Experiment, ProblemType
from domain.model.models import ModelStage
from domain.ports import (
    ArtifactStore,
    Clock,
    EngineCatalogue,
    RunFiles,
    UnitOfWork,
    UnitOfWorkFactory,
)


class ExperimentService:
    """Experiments of an account."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        files: ArtifactStore,
        run_files: RunFiles | None = None,
        *,
        catalogue: EngineCatalogue,
    ) -> None:
        self._uow = uow
        self._catalogue = catalogue
        self._clock = clock
        self._files = files
        self._run_files = run_files

    async def create(
        self,
        principal: Principal,
        *,
        dataset_id: str,
        name: str,
        description: str | None,
        problem_type: ProblemType,
        target: str | None,
        metric: str | None,
    ) -> Experiment:
        principal.require_write()
        async with self._uow() as uow:
            dataset = await uow.datasets.get(principal.account_id, dataset_id)
            if dataset is None:
                raise NotFound(f"Dataset {dataset_id!r} was not found.", field="dataset_id")
            experiment = Experiment.define(
                account_id=principal.account_id,
                dataset=dataset,
                name=name,
                description=description,
                problem_type=problem_type,
                target=target,
                metric=metric,
                metrics=self._catalogue.metrics(problem_type),
                now=self._clock.now(),
            )
            await self._check_name_free(uow, experiment)
            await uow.experiments.add(experiment)
            await uow.commit()
        return experiment

    async def update(
        self,
        principal: Principal,
        experiment_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        clear_description: bool = False,
        metric: str | None = None,
    ) -> Experiment:
        """Change name, description or metric; unset arguments are left as they are."""
        principal.require_write()
        if name is None and description is None and not clear_description and metric is None:
            raise InvalidInput("Nothing to update: give a name, description or metric.")
        now = self._clock.now()
        async with self._uow() as uow:
            experiment = await self._get(uow, principal, experiment_id)
            if name is not None:
                experiment.rename(name, now)
                await self._check_name_free(uow, experiment)
            if description is not None or clear_description:
                experiment.describe(description, now)
            if metric is not None:
                metrics = self._catalogue.metrics(experiment.problem_type)
                experiment.change_metric(metric, metrics, now)
            await uow.experiments.save(experiment)
            await uow.commit()
        return experiment

    async def delete(self, principal: Principal, experiment_id: str) -> str:
        """Delete an experiment with its finished runs and models; refuse while runs are live."""
        principal.require_write()
        async with self._uow() as uow:
            await self._get(uow, principal, experiment_id)
            active = await uow.runs.count_active(principal.account_id, experiment_id)
            if active:
                raise Conflict(
                    f"The experiment has {active} active run(s); cancel them before deleting."
                )
            artifacts = await uow.models.delete_for_experiment(principal.account_id, experiment_id)
            run_ids = await uow.runs.delete_for_experiment(principal.account_id, experiment_id)
            await uow.experiments.delete(principal.account_id, experiment_id)
            await uow.commit()
        for key in artifacts:  # files go once the rows are gone for good
            await self._files.delete(key)
        if self._run_files is not None:  # every attempt's model file, MLflow runs
            await self._run_files.delete_run_files(principal.account_id, run_ids)
        return experiment_id

    async def delete_run(self, principal: Principal, run_id: str) -> str:
        """Delete a finished run with its trials, events, model and files; refuse while it is
        live, or while its model serves in PRODUCTION."""
        principal.require_write()
        async with self._uow() as uow:
            run = await uow.runs.get(principal.account_id, run_id)
            if run is None:
                raise NotFound.of("Run", run_id)
            if not run.status.is_terminal:
                raise Conflict(
                    f"The run is {run.status.value}; cancel it and wait for it to end first.",
                    "id",
                )
            model = (await uow.models.by_run(principal.account_id, [run_id])).get(run_id)
            if model is not None and model.stage is ModelStage.PRODUCTION:
                raise Conflict(
                    "The run's model is in PRODUCTION; promote another model first.", "id"
                )
            artifacts = await uow.models.delete_for_run(principal.account_id, run_id)
            await uow.runs.delete(principal.account_id, run_id)
            await uow.commit()
        for key in artifacts:
            await self._files.delete(key)
        if self._run_files is not None:
            await self._run_files.delete_run_files(principal.account_id, [run_id])
        return run_id

    @staticmethod
    async def _get(uow: UnitOfWork, principal: Principal, experiment_id: str) -> Experiment:
        experiment = await uow.experiments.get(principal.account_id, experiment_id)
        if experiment is None:
            raise NotFound.of("Experiment", experiment_id)
        return experiment

    @staticmethod
    async def _check_name_free(uow: UnitOfWork, experiment: Experiment) -> None:
        other = await uow.experiments.find_by_name(experiment.account_id, experiment.name)
        if other is not None and other.id != experiment.id:
            raise Conflict(
                f"An experiment named {experiment.name!r} already exists; pick another name.",
                field="name",
            )
