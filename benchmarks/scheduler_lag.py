"""The discount scheduler's lag: from a discount's start to APPLIED, with N discounts due in
the same minute, against the simulator over real HTTP (the product's Mercado Livre client).

    .venv/bin/python benchmarks/scheduler_lag.py --discounts 500 --tick 1
    .venv/bin/python benchmarks/scheduler_lag.py --database-url sqlite+aiosqlite:////tmp/lag.db

The simulator runs in its own process; the scheduler runs as in embedded mode (`tick_forever`,
SCHEDULER_TICK_SECONDS = --tick), on PostgreSQL by default; all discounts start at the same
instant. Prints p50/p99/max lag (the time each discount was first seen APPLIED in the
database, polled every 50 ms, minus its start). Goal: p99 under 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from domain.model.marketplace import MarketplaceProvider  # noqa: E402
from server.adapters.jobs.discounts import tick_forever  # noqa: E402
from server.bootstrap import build  # noqa: E402
from server.config import Settings  # noqa: E402
from server.migrate import upgrade_async  # noqa: E402
from tests.support.services import (  # noqa: E402
    create_postgres_database,
    drop_postgres_database,
)
from tests.support.simulator import simulator_process  # noqa: E402

SEED = 21


async def eligible_items(simulator: str, wanted: int, seed: int = SEED) -> list[str]:
    async with httpx.AsyncClient(base_url=simulator, timeout=60) as http:
        ids: list[str] = []
        seller = (await http.post("/_sim/sellers", json={"seed": seed})).json()
        auth = {"Authorization": f"Bearer {seller['access_token']}"}
        scroll: str | None = None
        while len(ids) < wanted:
            params: dict[str, str | int] = {"search_type": "scan", "limit": 100}
            if scroll:
                params["scroll_id"] = scroll
            page = (
                await http.get(
                    f"/users/{seller['user_id']}/items/search", params=params, headers=auth
                )
            ).json()
            if not page["results"]:
                break
            scroll = page["scroll_id"]
            states = await asyncio.gather(
                *(http.get(f"/_sim/state/items/{i}") for i in page["results"])
            )
            for answer in states:
                item = answer.json()
                if (
                    item["status"] == "active"
                    and item["condition"] == "new"
                    and item["listing_type_id"] != "free"
                    and not item["price_automated"]
                    and not item["promotions"]
                ):
                    ids.append(item["id"])
        return ids[:wanted]


async def measure(
    database_url: str, discounts: int, tick: float, lead: float, concurrency: int
) -> None:
    options = ["--seed", str(SEED), "--items", "2000", "--speed", "1"]
    with simulator_process(*options) as simulator, tempfile.TemporaryDirectory() as data:
        settings = Settings(
            data_dir=Path(data),
            database_url=database_url,
            secret_key="benchmark-secret-key-of-sufficient-length",
            artifacts_dir=Path(data) / "artifacts",
            mlflow_tracking_uri=f"sqlite:///{data}/mlflow.db",
            simulator_url=simulator,
            scheduler_tick_seconds=tick,
        )
        container = build(settings)
        try:
            tag = uuid.uuid4().hex[:8]
            session = await container.accounts.sign_up(
                f"B{tag}", f"{tag}@example.com", "a long password"
            )
            principal = container.accounts.authenticate(session.tokens.access_token)
            assert container.marketplace is not None
            await container.marketplace.service.connect(
                principal, MarketplaceProvider.SIMULATOR, SEED
            )
            items = await eligible_items(simulator, discounts)
            if len(items) < discounts:
                print(f"only {len(items)} eligible items; measuring those")
            start = datetime.now(UTC) + timedelta(seconds=lead)
            made = []
            for item_id in items:
                made.append(
                    await container.campaigns.schedule_discount(
                        principal,
                        listing_id=item_id,
                        percent=10,
                        starts_at=start,
                        ends_at=start + timedelta(minutes=30),
                        campaign_id=None,
                    )
                )
            assert container.scheduler is not None
            if concurrency:
                container.scheduler._policy = dataclasses.replace(
                    container.scheduler._policy, concurrency=concurrency
                )
            loop = asyncio.create_task(tick_forever(container.scheduler, tick))
            seen: dict[str, float] = {}
            deadline = time.monotonic() + lead + 600
            query = text("SELECT id, marketplace_state FROM discounts WHERE account_id = :account")
            states: dict[str, str] = {}
            while len(seen) < len(made) and time.monotonic() < deadline:
                async with container.engine.connect() as connection:
                    rows = await connection.execute(query, {"account": principal.account_id})
                elapsed = (datetime.now(UTC) - start).total_seconds()
                states = {row.id: row.marketplace_state for row in rows}
                for discount_id, state in states.items():
                    if state != "PENDING":
                        seen.setdefault(discount_id, elapsed)
                await asyncio.sleep(0.05)
            loop.cancel()
            lags = sorted(seen.values())
            counts = {s: list(states.values()).count(s) for s in set(states.values())}
            print(f"database: {database_url.split(':')[0]}  discounts: {len(made)}  tick: {tick}s")
            print(f"states: {counts}")
            print(
                f"lag start->APPLIED  p50 {statistics.median(lags):.2f}s  "
                f"p99 {lags[max(0, int(len(lags) * 0.99) - 1)]:.2f}s  max {lags[-1]:.2f}s"
            )
            floor = await bare_floor(simulator, len(made))
            print(
                f"floor: the same marketplace writes from a bare httpx loop (16 at a time): "
                f"{floor:.2f}s for {len(made)}; scheduler span (max lag) / floor = "
                f"{lags[-1] / floor:.2f}"
            )
        finally:
            await container.aclose()


async def bare_floor(simulator: str, count: int) -> float:
    """The simulator's own throughput for what an apply needs at the least (the price
    automation check and the POST), from a bare httpx loop on another seller's items."""
    seed = SEED + 1
    ids = await eligible_items(simulator, count, seed)
    async with httpx.AsyncClient(base_url=simulator, timeout=60) as http:
        seller = (await http.post("/_sim/sellers", json={"seed": seed})).json()
        auth = {"Authorization": f"Bearer {seller['access_token']}"}
        prices = {}
        for start in range(0, len(ids), 20):
            batch = await http.get(
                "/items", params={"ids": ",".join(ids[start : start + 20])}, headers=auth
            )
            prices.update({e["body"]["id"]: e["body"]["price"] for e in batch.json()})
        slots = asyncio.Semaphore(16)
        now = datetime.now(UTC)

        async def one(item_id: str) -> None:
            async with slots:
                await http.get(f"/marketplace/items/{item_id}/prices/automate", headers=auth)
                answer = await http.post(
                    f"/seller-promotions/items/{item_id}",
                    params={"app_version": "v2"},
                    headers=auth,
                    json={
                        "promotion_type": "PRICE_DISCOUNT",
                        "deal_price": round(prices[item_id] * 0.9, 2),
                        "start_date": now.isoformat(),
                        "finish_date": (now + timedelta(minutes=30)).isoformat(),
                    },
                )
                assert answer.status_code == 201, answer.text

        began = time.monotonic()
        await asyncio.gather(*(one(i) for i in ids))
        return time.monotonic() - began


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--discounts", type=int, default=500)
    parser.add_argument("--tick", type=float, default=1.0)
    parser.add_argument("--lead", type=float, default=15.0, help="seconds until they start")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--concurrency", type=int, default=0, help="attempts at once per tick")
    args = parser.parse_args()
    url = args.database_url or await create_postgres_database()
    try:
        await upgrade_async(url)
        await measure(url, args.discounts, args.tick, args.lead, args.concurrency)
    finally:
        if args.database_url is None:
            await drop_postgres_database(url)


if __name__ == "__main__":
    asyncio.run(main())
