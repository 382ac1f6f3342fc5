"""Full marketplace sync time against the simulator's own throughput floor.

Starts the simulator in its own process (`mlproject simulator`, so its CPU does not compete
with the sync's) with a shop of `--items` listings and a year of orders, then measures, in
one run and on each database asked for:
  1. the floor: the same requests the sync makes (items search + scan, `/items?ids=` batches of
     20 four at a time, price automation of each item eight at a time, orders pages of 50),
     sent by a bare httpx loop that parses the JSON and keeps nothing;
  2. a full first sync through the product (connect, `start_sync`, wait): listings and orders
     written to the database;
  3. a second sync (nothing changed: reads only).
and prints the ratios sync / floor. Goal (issue 9): a full sync within 1.5 times the floor.

    .venv/bin/python benchmarks/marketplace_sync.py --items 1000 --databases sqlite postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from domain.model.marketplace import MarketplaceProvider  # noqa: E402
from server.bootstrap import Container, build  # noqa: E402
from server.config import Settings  # noqa: E402
from server.migrate import upgrade_async  # noqa: E402
from server.simulator import SimulatorConfig  # noqa: E402
from tests.support.services import (  # noqa: E402
    create_postgres_database,
    drop_postgres_database,
)
from tests.support.simulator import START, authorize, simulator_process  # noqa: E402

SECRET = "benchmark-secret-key-of-sufficient-length"


async def floor(url: str, config: SimulatorConfig) -> tuple[float, int]:
    """The sync's requests through a bare httpx client; (seconds, requests)."""
    with httpx.Client(base_url=url) as sync_client:
        tokens = authorize(sync_client, config, "http://127.0.0.1/cb")
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    requests = 0
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:

        async def get(path: str, **params: Any) -> Any:
            nonlocal requests
            requests += 1
            answer = await http.get(path, params=params)
            answer.raise_for_status()
            return answer.json()

        search = f"/users/{tokens.user_id}/items/search"
        ids: list[str] = []
        offset = 0
        while offset + 100 <= 1000:
            page = await get(search, offset=offset, limit=100)
            ids += page["results"]
            offset += 100
            if len(page["results"]) < 100:
                break
        else:
            page = await get(search, search_type="scan", limit=100)
            while page["results"]:
                ids += page["results"]
                page = await get(search, search_type="scan", limit=100, scroll_id=page["scroll_id"])
        ids = sorted(set(ids))
        gate = asyncio.Semaphore(4)

        async def batch(chunk: list[str]) -> None:
            async with gate:
                await get("/items", ids=",".join(chunk))

        await asyncio.gather(*(batch(ids[i : i + 20]) for i in range(0, len(ids), 20)))
        checks = asyncio.Semaphore(8)

        async def automation(item_id: str) -> None:
            nonlocal requests
            async with checks:
                requests += 1
                await http.get(f"/marketplace/items/{item_id}/prices/automate")

        await asyncio.gather(*(automation(i) for i in ids))
        offset, window = 0, None
        while True:
            params: dict[str, Any] = {
                "seller": tokens.user_id,
                "sort": "date_asc",
                "offset": offset,
                "limit": 50,
            }
            if window:
                params["order.date_created.from"] = window
            page = await get("/orders/search", **params)
            results = page["results"]
            offset += len(results)
            if len(results) < 50:
                break
            if offset + 50 > 10_000:
                window, offset = results[-1]["date_created"], 0
    return time.perf_counter() - started, requests


async def _until_finished(feed: Any, account_id: str, finished: asyncio.Event) -> None:
    """The activity feed says when a sync ends: no polling."""
    async for event in feed.follow(account_id):
        if event.kind.value in ("SYNC_SUCCEEDED", "SYNC_FAILED"):
            finished.set()
            return


async def product_sync(container: Container) -> tuple[float, float, dict[str, int]]:
    """(first sync seconds, second sync seconds, the first's counts)."""
    tag = uuid.uuid4().hex[:8]
    session = await container.accounts.sign_up(f"B{tag}", f"{tag}@example.com", "a long password")
    principal = container.accounts.authenticate(session.tokens.access_token)
    assert container.marketplace is not None
    service = container.marketplace.service
    connection = (await service.connect(principal, MarketplaceProvider.SIMULATOR)).connection
    times = []
    counts: dict[str, int] = {}
    parts = container.marketplace
    for _ in range(2):
        finished = asyncio.Event()
        follower = asyncio.create_task(
            _until_finished(parts.activity, principal.account_id, finished)
        )
        await asyncio.sleep(0)
        started = time.perf_counter()
        job = await service.start_sync(principal, connection.id)
        await asyncio.wait_for(finished.wait(), 600)
        times.append(time.perf_counter() - started)
        await follower
        async with container.uow() as uow:
            stored = await uow.sync_jobs.get(principal.account_id, job.id)
        assert stored is not None and stored.error is None, stored
        counts = counts or stored.counts.as_dict()
    return times[0], times[1], counts


def simulator_of(config: SimulatorConfig) -> contextlib.AbstractContextManager[str]:
    options = ["--seed", str(config.seed), "--items", str(config.items), "--start", START]
    return simulator_process(*options)


async def measure(url: str, tmp: str, kind: str) -> tuple[float, float, dict[str, int]]:
    """A full and a second sync into a new database of `kind`."""
    if kind == "sqlite":
        database = f"sqlite+aiosqlite:///{tmp}/bench-{uuid.uuid4().hex[:6]}.db"
    else:
        database = await create_postgres_database()
    await upgrade_async(database)
    settings = Settings(
        data_dir=Path(tmp),
        database_url=database,
        secret_key=SECRET,
        artifacts_dir=Path(tmp) / "artifacts",
        mlflow_tracking_uri=f"sqlite:///{tmp}/mlflow.db",
    )
    container = build(dataclasses.replace(settings, simulator_url=url))
    try:
        return await product_sync(container)
    finally:
        await container.aclose()
        if kind == "postgresql":
            await drop_postgres_database(database)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=2, help="best of (a shared machine is noisy)")
    args = parser.parse_args()
    config = SimulatorConfig(seed=3, items=args.items, start=START)
    with simulator_of(config) as url, tempfile.TemporaryDirectory() as tmp:
        for kind in args.databases:
            # The floor and the sync alternate, so both see the same machine load.
            floors, firsts, seconds = [], [], []
            for _ in range(args.rounds):
                floor_seconds, requests = await floor(url, config)
                first, second, counts = await measure(url, tmp, kind)
                floors.append(floor_seconds)
                firsts.append(first)
                seconds.append(second)
            best_floor, best_first = min(floors), min(firsts)
            print(
                f"{kind}: full sync {best_first:.2f} s, floor {best_floor:.2f} s "
                f"({requests} requests): {best_first / best_floor:.2f}x floor; "
                f"second sync {min(seconds):.2f} s; {counts['listings_created']} listings, "
                f"{counts['orders_created']} orders (best of {args.rounds}: "
                f"syncs {', '.join(f'{t:.2f}' for t in firsts)}, "
                f"floors {', '.join(f'{t:.2f}' for t in floors)})"
            )


if __name__ == "__main__":
    asyncio.run(main())
