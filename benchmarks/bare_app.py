"""The floor for the GraphQL benchmark: plain Starlette handlers, same views, same SQL.

Each handler checks the bearer token as the GraphQL context does (one SQL statement), calls the
same use cases and views (hence the same SQL statements) the GraphQL resolvers call, and writes
the same JSON a GraphQL client gets, by hand. What the GraphQL server spends beyond this is the
cost of GraphQL itself.

Run: python benchmarks/bare_app.py PORT  (settings from the environment, like the server)
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from domain.model.accounts import Principal, User
from domain.pagination import PageRequest
from domain.ports import ExperimentFilter
from server.bootstrap import build
from server.cli import tune_gc
from server.config import Settings
from server.schema.context import bearer_token


def cost(requested: int, settings: Settings) -> dict[str, Any]:
    """The `extensions.cost` GraphQL adds to every response, written by hand here too."""
    return {"cost": {"requested": requested, "limit": settings.graphql_max_cost}}


def create_bare_app(settings: Settings) -> Starlette:
    container = build(settings)

    async def caller(request: Request) -> tuple[Principal, User]:
        """The same check of the bearer token the GraphQL context makes: signature, expiry,
        and the user, token version and session in one lookup (one SQL statement)."""
        return await container.accounts.authenticate_user(
            bearer_token(request.headers.get("authorization"))
        )

    async def me(request: Request) -> JSONResponse:
        _, user = await caller(request)
        return JSONResponse(
            {
                "data": {"me": {"id": user.id, "email": user.email, "role": user.role.value}},
                "extensions": cost(1, settings),
            }
        )

    async def experiments(request: Request) -> JSONResponse:
        body = await request.json()
        first = int(body.get("variables", {}).get("first", 20))
        principal, _ = await caller(request)
        views = container.views(principal)
        page = await views.experiment_page(PageRequest.of(first, None), ExperimentFilter())
        ids = [e.id for e in page.items]
        datasets = await views.datasets([e.dataset_id for e in page.items])
        runs = await views.run_pages_by_experiment(ids, PageRequest.of(5, None))
        production = await views.production_models(ids)
        edges: list[dict[str, Any]] = []
        for experiment, cursor in zip(page.items, page.cursors, strict=True):
            dataset = datasets[experiment.dataset_id]
            model = production.get(experiment.id)
            run_page = runs[experiment.id]
            edges.append(
                {
                    "cursor": cursor,
                    "node": {
                        "id": experiment.id,
                        "name": experiment.name,
                        "problemType": experiment.problem_type.value,
                        "target": experiment.target,
                        "metric": experiment.metric,
                        "dataset": {
                            "id": dataset.id,
                            "name": dataset.name,
                            "rowCount": dataset.row_count,
                        },
                        "runs": {
                            "totalCount": run_page.total_count,
                            "edges": [
                                {
                                    "node": {
                                        "id": run.id,
                                        "status": run.status.value,
                                        "attempt": run.attempt,
                                        "progress": run.progress,
                                        "queuedAt": run.queued_at.isoformat(),
                                    }
                                }
                                for run in run_page.items
                            ],
                        },
                        "productionModel": (
                            {"id": model.id, "stage": model.stage.value} if model else None
                        ),
                    },
                }
            )
        return JSONResponse(
            {
                "data": {
                    "experiments": {
                        "totalCount": page.total_count,
                        "pageInfo": {
                            "hasNextPage": page.has_next_page,
                            "endCursor": page.end_cursor,
                        },
                        "edges": edges,
                    }
                },
                # connection 1 + pageInfo 1 + per experiment: edge, node, dataset, runs
                # connection and 5 runs (edge + node each), production model
                "extensions": cost(2 + first * (1 + 1 + 1 + 1 + 5 * 2 + 1), settings),
            }
        )

    return Starlette(
        routes=[
            Route("/me", me, methods=["POST"]),
            Route("/experiments", experiments, methods=["POST"]),
        ]
    )


if __name__ == "__main__":
    app = create_bare_app(Settings.from_env())
    tune_gc()  # the same runtime tuning as `mlproject serve`, so the floor stays a floor
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
    )
