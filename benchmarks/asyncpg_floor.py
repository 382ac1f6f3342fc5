"""The physical floor of the GraphQL benchmark: one hand-written asyncpg query, JSON by hand.

A raw ASGI app (no framework, no SQLAlchemy, no services) that answers the 20-experiment page
with one SQL statement (page, total, dataset, production model and each experiment's latest
runs with their count, through a lateral join) and `json.dumps`. It still checks the bearer
token's signature and expiry (cached, as the server does) but skips the user and session
lookup. What the bare floor spends beyond this is the cost of the layers; PostgreSQL only.

Run: python benchmarks/asyncpg_floor.py PORT  (DATABASE_URL and SECRET_KEY from the environment)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import uvicorn

from domain.pagination import Cursor
from server.adapters.auth.tokens import JwtTokenService
from server.adapters.clock import SystemClock
from server.cli import tune_gc
from server.config import Settings

PAGE = """
WITH page AS (
    SELECT e.id, e.name, e.problem_type, e.target, e.metric, e.created_at, e.dataset_id,
           count(*) OVER () AS total
    FROM experiments e
    WHERE e.account_id = $1
    ORDER BY e.created_at DESC, e.id DESC
    LIMIT $2 + 1
)
SELECT p.id, p.name, p.problem_type, p.target, p.metric, p.created_at, p.total,
       d.id AS dataset_id, d.name AS dataset_name, d.row_count,
       m.id AS model_id, m.stage AS model_stage,
       r.id AS run_id, r.status, r.attempt, r.progress, r.queued_at, r.run_count
FROM page p
JOIN datasets d ON d.id = p.dataset_id AND d.account_id = $1
LEFT JOIN models m ON m.account_id = $1 AND m.experiment_id = p.id AND m.stage = 'PRODUCTION'
LEFT JOIN LATERAL (
    SELECT r.id, r.status, r.attempt, r.progress, r.queued_at, count(*) OVER () AS run_count
    FROM runs r
    WHERE r.account_id = $1 AND r.experiment_id = p.id
    ORDER BY r.queued_at DESC, r.id DESC
    LIMIT $3
) r ON true
ORDER BY p.created_at DESC, p.id DESC, r.queued_at DESC, r.id DESC
"""

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def page_json(rows: list[asyncpg.Record], first: int, max_cost: int) -> bytes:
    """The same JSON the GraphQL server writes for the Experiments operation."""
    nodes: dict[str, dict[str, Any]] = {}
    cursors: list[str] = []
    total = 0
    for row in rows:
        total = row["total"]
        node = nodes.get(row["id"])
        if node is None:
            if len(nodes) == first:
                continue  # the extra row only says there is a next page
            cursors.append(Cursor(row["created_at"], row["id"]).encode())
            model = row["model_id"]
            node = nodes[row["id"]] = {
                "id": row["id"],
                "name": row["name"],
                "problemType": row["problem_type"],
                "target": row["target"],
                "metric": row["metric"],
                "dataset": {
                    "id": row["dataset_id"],
                    "name": row["dataset_name"],
                    "rowCount": row["row_count"],
                },
                "runs": {"totalCount": row["run_count"] or 0, "edges": []},
                "productionModel": {"id": model, "stage": row["model_stage"]} if model else None,
            }
        if row["run_id"] is not None:
            node["runs"]["edges"].append(
                {
                    "node": {
                        "id": row["run_id"],
                        "status": row["status"],
                        "attempt": row["attempt"],
                        "progress": row["progress"],
                        "queuedAt": row["queued_at"].isoformat(),
                    }
                }
            )
    distinct = len({row["id"] for row in rows})
    body = {
        "data": {
            "experiments": {
                "totalCount": total,
                "pageInfo": {
                    "hasNextPage": distinct > first,
                    "endCursor": cursors[-1] if cursors else None,
                },
                "edges": [
                    {"cursor": cursor, "node": node}
                    for cursor, node in zip(cursors, nodes.values(), strict=True)
                ],
            }
        },
        "extensions": {
            "cost": {"requested": 2 + first * (1 + 1 + 1 + 1 + 5 * 2 + 1), "limit": max_cost}
        },
    }
    return json.dumps(body, separators=(",", ":")).encode()


def create_floor_app(settings: Settings) -> Callable[..., Awaitable[None]]:
    tokens = JwtTokenService(
        settings.signing_key(),
        SystemClock(),
        access_ttl=timedelta(minutes=settings.access_token_minutes),
    )
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    pool: asyncpg.Pool | None = None

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        nonlocal pool
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if pool is not None:
                        await pool.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode()
        status, payload = 200, b""
        try:
            principal = tokens.principal_from_access(authorization.partition(" ")[2].strip())
            first = int(json.loads(body or b"{}").get("variables", {}).get("first", 20))
            assert pool is not None
            rows = await pool.fetch(PAGE, principal.account_id, first, 5)
            payload = page_json(rows, first, settings.graphql_max_cost)
        except Exception as exc:  # a benchmark target: say what went wrong
            status, payload = 500, json.dumps({"error": str(exc)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return app


if __name__ == "__main__":
    floor = create_floor_app(Settings.from_env())
    tune_gc()
    uvicorn.run(
        floor, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False
    )
