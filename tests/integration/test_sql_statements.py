"""The SQL statement count of a GraphQL request does not grow with the list length."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event

from domain.model.runs import Run, RunConfig, RunStatus
from domain.pagination import PageRequest
from server.app import create_app
from server.bootstrap import Container
from server.config import Settings
from tests.support.api import Api, Seller, operation


@contextmanager
def counting_statements(container: Container) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = container.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def seed(api: Api, container: Container, experiments: int) -> Seller:
    """An account with `experiments` experiments on two datasets, three runs each."""
    seller = await api.sign_up()
    datasets = [await api.dataset(seller, name=f"d{i}") for i in range(2)]
    ids = [
        (await api.experiment(seller, datasets[i % 2]["id"], name=f"e{i}"))["id"]
        for i in range(experiments)
    ]
    now = container.clock.now()
    async with container.uow() as uow:
        for position, experiment_id in enumerate(ids):
            for attempt in range(3):
                run = Run.queue(seller.account_id, experiment_id, RunConfig(), now)
                run.queued_at = now + timedelta(seconds=position * 10 + attempt)
                if attempt == 0:
                    run.move_to(RunStatus.RUNNING, now)
                await uow.runs.add(run)
        await uow.commit()
    return seller


async def statements_for(
    api: Api, container: Container, seller: Seller, query: str, variables: dict
) -> tuple[list[str], dict]:
    with counting_statements(container) as statements:
        data = await api.ok(query, variables, seller.token)
    return statements, data


async def test_experiment_page_with_dataset_and_runs_costs_constant_sql(
    settings: Settings, container: Container
) -> None:
    transport = httpx.ASGITransport(app=create_app(settings, container))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        api = Api(http)
        counts = {}
        for size in (5, 50):
            seller = await seed(api, container, size)
            statements, data = await statements_for(
                api, container, seller, operation("Experiments"), {"first": size}
            )
            page = data["experiments"]
            assert len(page["edges"]) == size
            assert all(e["node"]["runs"]["totalCount"] == 3 for e in page["edges"])
            assert all(len(e["node"]["runs"]["edges"]) == 3 for e in page["edges"])
            assert {e["node"]["dataset"]["name"] for e in page["edges"]} == {"d0", "d1"}
            counts[size] = len(statements)
        assert counts[5] == counts[50], counts
        # the caller's token check (user, token version, session: one lookup); experiments:
        # count + page; datasets; runs: counts + pages; production models
        assert counts[50] == 7, counts


async def test_me_costs_one_statement(settings: Settings, container: Container) -> None:
    transport = httpx.ASGITransport(app=create_app(settings, container))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        api = Api(http)
        seller = await api.sign_up()
        statements, data = await statements_for(
            api, container, seller, "{ me { id email role } }", {}
        )
        assert data["me"]["email"] == seller.email
        assert len(statements) == 1, statements


RUNS_AND_MODELS = """
query RunsAndModels($first: Int) {
  runs(first: $first) {
    totalCount
    edges { node { id status experiment { id name } model { id stage } } }
  }
  models(first: $first) {
    totalCount
    edges { node { id stage run { id status experiment { name } } } }
  }
}
"""


async def add_models(container: Container, seller: Seller) -> None:
    """A model for every running run of the seller (the first attempt of each experiment)."""
    from domain.model.models import Model, ModelStage
    from domain.model.runs import RunMetrics
    from domain.ports import RunFilter

    async with container.uow() as uow:
        runs = await uow.runs.page(
            seller.account_id, PageRequest.of(100, None), RunFilter(status=RunStatus.RUNNING)
        )
        for run in runs.items:
            await uow.models.add(
                Model(
                    account_id=seller.account_id,
                    experiment_id=run.experiment_id,
                    run_id=run.id,
                    stage=ModelStage.STAGING,
                    metrics=RunMetrics("rmse", 1.0, "ridge", 1, "max_trials"),
                    created_at=container.clock.now(),
                )
            )
        await uow.commit()


async def test_runs_and_models_pages_read_through_views_at_constant_sql(
    settings: Settings, container: Container
) -> None:
    transport = httpx.ASGITransport(app=create_app(settings, container))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        api = Api(http)
        counts = {}
        for size in (3, 30):
            seller = await seed(api, container, size)
            await add_models(container, seller)
            statements, data = await statements_for(
                api, container, seller, RUNS_AND_MODELS, {"first": 3 * size}
            )
            runs, models = data["runs"], data["models"]
            assert runs["totalCount"] == 3 * size and len(runs["edges"]) == 3 * size
            assert models["totalCount"] == size and len(models["edges"]) == size
            with_model = [e for e in runs["edges"] if e["node"]["model"]]
            assert len(with_model) == size
            assert all(e["node"]["run"]["status"] == "RUNNING" for e in models["edges"])
            counts[size] = len(statements)
        assert counts[3] == counts[30], counts
        # the token check; runs: count + page; models: count + page; then one batch each for
        # the runs' experiments, the runs' models and the models' runs (whose experiments are
        # the same ones, already loaded)
        assert counts[30] == 8, counts
