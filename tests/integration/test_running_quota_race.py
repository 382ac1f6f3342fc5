"""The per-account running limit holds when claims race (both databases).

Two workers (or two embedded slots) claiming queued runs of one account at the same moment
must not both see "nothing running" and both start: on SQLite a transaction begins only at its
first write, so the count has to come after the account's writer lock, as it comes after the
row lock on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from domain.model.runs import Run, RunConfig, RunStatus
from domain.pagination import PageRequest
from domain.ports import RunFilter
from domain.services.execution import ExecutionPolicy, RunDeferred, RunExecution
from server.bootstrap import Container
from tests.support.seeding import seller_with_experiment


async def test_racing_claims_of_one_account_start_no_more_than_its_running_limit(
    container: Container,
) -> None:
    seller = await seller_with_experiment(container)
    principal, experiment = seller.principal, seller.experiment
    now = container.clock.now()
    runs = [Run.queue(principal.account_id, experiment.id, RunConfig(), now) for _ in range(4)]
    async with container.uow() as uow:
        for run in runs:
            await uow.runs.add(run)
        await uow.commit()

    policy = replace(ExecutionPolicy(), max_running_per_account=1)
    execution = RunExecution(
        container.uow, container.clock, container.execution._trainer, container.events, policy
    )
    claims = await asyncio.gather(
        *(execution._claim(run.id, run.attempt) for run in runs), return_exceptions=True
    )

    started = [c for c in claims if not isinstance(c, BaseException)]
    deferred = [c for c in claims if isinstance(c, RunDeferred)]
    assert (len(started), len(deferred)) == (1, 3), claims
    page = await container.views(principal).run_page(
        PageRequest.of(10, None), RunFilter(experiment_id=experiment.id, status=RunStatus.RUNNING)
    )
    assert page.total_count == 1
