"""The Mercado Livre client reading a simulated shop over real HTTP: requests, time, retries.

Starts the simulator (uvicorn on a free port, in a thread), makes a seller with
`POST /_sim/sellers`, then reads the whole catalogue (ids by offset then scan, items in batches
of 20) and 30 days of orders: unthrottled, at ML_RATE_LIMIT=5, and with 20% injected 429s.

    .venv/bin/python -m benchmarks.marketplace_client [--items 1200]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx

from domain.marketplace import StoredCredentials
from server.adapters.clock import SystemClock
from server.adapters.marketplace.memory_credentials import InMemoryCredentialStore
from server.adapters.marketplace.mercadolivre import MercadoLivreMarketplace
from server.adapters.marketplace.transport import ClientSettings, Sender
from server.adapters.marketplace.wire import moment
from server.simulator import SimulatorConfig
from tests.support.simulator import START, running_simulator


async def read_shop(base_url: str, rate: float, faults: dict[str, Any]) -> dict[str, Any]:
    statuses: Counter[int] = Counter()

    async def count(response: httpx.Response) -> None:
        statuses[response.status_code] += 1

    config = SimulatorConfig()
    settings = ClientSettings(
        api_base=base_url,
        auth_base=base_url,
        client_id=config.client_id,
        client_secret=config.client_secret,
        rate_limit=rate,
        max_attempts=10,
    )
    async with httpx.AsyncClient(timeout=30, event_hooks={"response": [count]}) as http:
        seller = (await http.post(f"{base_url}/_sim/sellers", json={})).json()
        await http.post(f"{base_url}/_sim/faults", json={"rate_429": 0.0, **faults})
        store = InMemoryCredentialStore()
        expires = SystemClock().now() + timedelta(seconds=seller["expires_in"])
        await store.save(
            StoredCredentials("bench", seller["access_token"], seller["refresh_token"], expires)
        )
        client = MercadoLivreMarketplace(settings, store, sender=Sender(http, settings)).client(
            "bench"
        )
        started = time.perf_counter()
        ids = [item_id async for item_id in client.item_ids()]
        items = await client.items(ids)
        catalogue = time.perf_counter() - started
        until = moment(START)
        started = time.perf_counter()
        orders = [o async for o in client.orders(since=until - timedelta(days=30), until=until)]
        order_seconds = time.perf_counter() - started
        await http.post(f"{base_url}/_sim/faults", json={"rate_429": 0.0})
    return {
        "rate": rate,
        "faults": faults,
        "ids": len(ids),
        "unique_ids": len(set(ids)),
        "items": len(items),
        "catalogue_s": round(catalogue, 2),
        "orders_30d": len(orders),
        "orders_s": round(order_seconds, 2),
        "responses": dict(statuses),
    }


async def main() -> None:
    logging.getLogger("server.adapters.marketplace").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1200)
    args = parser.parse_args()
    config = SimulatorConfig(items=args.items, start=START, speed=0.0)
    with running_simulator(config) as base_url:
        for rate, faults in [
            (0.0, {}),
            (5.0, {}),
            (0.0, {"rate_429": 0.2, "retry_after_seconds": 0}),
        ]:
            print(await read_shop(base_url, rate, faults))


if __name__ == "__main__":
    asyncio.run(main())
