"""The read side: views built for a caller see their account's data and nothing else."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from domain.model.accounts import Principal
from domain.model.models import Model, ModelStage
from domain.model.runs import BestTrialQuery, Run, RunConfig, RunMetrics, RunStatus, Trial
from domain.pagination import PageRequest
from domain.ports import (
    CampaignFilter,
    DiscountFilter,
    ExperimentFilter,
    ModelFilter,
    RunFilter,
)
from server.bootstrap import Container
from tests.support.seeding import seller_with_experiment


@dataclass
class Seeded:
    principal: Principal
    dataset: str
    experiment: str
    run: str
    model: str
    campaign: str
    discount: str


async def seed(container: Container) -> Seeded:
    """One seller with one of everything: dataset, experiment, run, trials, model, campaign,
    discount."""
    seller = await seller_with_experiment(
        container, b"date,price,units\n2026-01-01,10.5,3\n2026-01-02,11.0,4\n", "rmse"
    )
    principal, dataset, experiment = seller.principal, seller.dataset, seller.experiment
    tag = uuid.uuid4().hex[:8]  # a listing of its own
    now = container.clock.now()
    run = Run.queue(principal.account_id, experiment.id, RunConfig(), now)
    run.move_to(RunStatus.RUNNING, now)
    model = Model(
        account_id=principal.account_id,
        experiment_id=experiment.id,
        run_id=run.id,
        stage=ModelStage.PRODUCTION,
        metrics=RunMetrics("rmse", 1.0, "ridge", 3, "max_trials", cv={"rmse": 1.0}),
        created_at=now,
    )
    async with container.uow() as uow:
        await uow.runs.add(run)
        await uow.flush()
        for number, score in enumerate([3.0, 1.0, 2.0]):
            await uow.trials.add(
                Trial(run.id, principal.account_id, 1, number, "ridge", {}, score, "COMPLETE", 0.1)
            )
        await uow.models.add(model)
        await uow.commit()
    campaign = await container.campaigns.create(
        principal,
        name="c",
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=2),
        budget=Decimal("10"),
    )
    discount = await container.campaigns.schedule_discount(
        principal,
        listing_id=f"MLB{int(tag, 16)}",
        percent=10,
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=2),
        campaign_id=campaign.id,
    )
    return Seeded(principal, dataset.id, experiment.id, run.id, model.id, campaign.id, discount.id)


async def test_views_read_the_callers_account_and_nothing_else(container: Container) -> None:
    mine, theirs = await seed(container), await seed(container)
    views = container.views(mine.principal)
    page = PageRequest.of(10, None)

    async def by_id(read, own: str, other: str) -> None:
        assert list(await read([own, other])) == [own]
        assert await read([other]) == {}

    await by_id(views.datasets, mine.dataset, theirs.dataset)
    await by_id(views.experiments, mine.experiment, theirs.experiment)
    await by_id(views.runs, mine.run, theirs.run)
    await by_id(views.models, mine.model, theirs.model)
    await by_id(views.campaigns, mine.campaign, theirs.campaign)
    await by_id(views.discounts, mine.discount, theirs.discount)
    await by_id(views.production_models, mine.experiment, theirs.experiment)
    await by_id(views.models_by_run, mine.run, theirs.run)

    assert [d.id for d in (await views.dataset_page(page)).items] == [mine.dataset]
    experiments = await views.experiment_page(page, ExperimentFilter())
    assert [e.id for e in experiments.items] == [mine.experiment]
    assert experiments.total_count == 1
    assert [r.id for r in (await views.run_page(page, RunFilter())).items] == [mine.run]
    assert [m.id for m in (await views.model_page(page, ModelFilter())).items] == [mine.model]
    campaigns = await views.campaign_page(page, CampaignFilter())
    assert [c.id for c in campaigns.items] == [mine.campaign]
    discounts = await views.discount_page(page, DiscountFilter())
    assert [d.id for d in discounts.items] == [mine.discount]

    runs = await views.run_pages_by_experiment([mine.experiment, theirs.experiment], page)
    assert [r.id for r in runs[mine.experiment].items] == [mine.run]
    assert runs[theirs.experiment].items == [] and runs[theirs.experiment].total_count == 0
    pages = await views.discount_pages_by_campaign([mine.campaign, theirs.campaign], page)
    assert [d.id for d in pages[mine.campaign].items] == [mine.discount]
    assert pages[theirs.campaign].items == []

    # Trials: best first by the metric's direction (rmse: lower is better), own runs only.
    trials = await views.trials(mine.run, 1, "rmse", page)
    assert [t.score for t in trials.items] == [1.0, 2.0, 3.0]
    assert (await views.trials(theirs.run, 1, "rmse", page)).items == []
    best = await views.best_trials(
        [BestTrialQuery(mine.run, 1, "r2"), BestTrialQuery(theirs.run, 1, "rmse")]
    )
    assert list(best) == [mine.run] and best[mine.run].score == 3.0  # r2: higher is better
    # A run that delivered a model shows the trial the model is, whatever the ranking.
    chosen = await views.best_trials([BestTrialQuery(mine.run, 1, "r2", number=1)])
    assert chosen[mine.run].number == 1


async def test_views_map_rows_to_the_same_values_the_unit_of_work_reads(
    container: Container,
) -> None:
    """The read side and the write side agree on every field (one mapping per table)."""
    seeded = await seed(container)
    account = seeded.principal.account_id
    views = container.views(seeded.principal)
    async with container.uow() as uow:
        assert await views.datasets([seeded.dataset]) == await uow.datasets.get_many(
            account, [seeded.dataset]
        )
        assert await views.experiments([seeded.experiment]) == await uow.experiments.get_many(
            account, [seeded.experiment]
        )
        assert await views.runs([seeded.run]) == await uow.runs.get_many(account, [seeded.run])
        assert await views.models([seeded.model]) == await uow.models.get_many(
            account, [seeded.model]
        )
        assert await views.discounts([seeded.discount]) == await uow.discounts.get_many(
            account, [seeded.discount]
        )
    run = (await views.runs([seeded.run]))[seeded.run]
    assert run.status is RunStatus.RUNNING and run.queued_at.tzinfo is not None
