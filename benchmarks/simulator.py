"""The marketplace simulator's own costs, and the floor of a sync against it.

- generating the default shop (1,200 listings and a year of orders);
- moving simulated time forward 30 days (orders, stock, promotions of every slot);
- a bare httpx loop doing what a full sync does (scan the listings, read them in batches of 20,
  read a year of orders in 30-day windows of 50 per page) against the simulator on uvicorn:
  the throughput floor a real client's sync is compared with.

Run: python benchmarks/simulator.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.simulator import SimulatorConfig  # noqa: E402
from server.simulator.shop import generate_shop  # noqa: E402
from server.simulator.simulator import Simulator  # noqa: E402
from server.simulator.timefmt import parse_iso, to_iso  # noqa: E402
from tests.support.simulator import authorize, running_simulator  # noqa: E402

START = "2026-11-25T10:00:00.000-03:00"


def timed(label: str, started: float) -> float:
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds:.2f} s")
    return seconds


def sync_floor(client: httpx.Client, user_id: int) -> tuple[int, int, int]:
    """Every listing and every order of the year, the plain way; returns (items, orders, calls)."""
    path = f"/users/{user_id}/items/search"
    ids: list[str] = []
    page = client.get(path, params={"search_type": "scan", "limit": 100}).json()
    calls = 1
    while page["results"]:
        ids += page["results"]
        params = {"search_type": "scan", "limit": 100, "scroll_id": page["scroll_id"]}
        page = client.get(path, params=params).json()
        calls += 1
    for first in range(0, len(ids), 20):
        client.get("/items", params={"ids": ",".join(ids[first : first + 20])}).raise_for_status()
        calls += 1
    orders = 0
    end = parse_iso(START)
    begin = end - 366 * 86_400
    while begin < end:
        window: dict[str, str | int] = {
            "seller": user_id,
            "order.date_created.from": to_iso(begin),
            "order.date_created.to": to_iso(min(begin + 30 * 86_400, end) - 0.001),
            "limit": 50,
        }
        offset = 0
        while True:
            answer = client.get("/orders/search", params={**window, "offset": offset}).json()
            calls += 1
            orders += len(answer["results"])
            offset += 50
            if offset >= answer["paging"]["total"]:
                break
        begin += 30 * 86_400
    return len(ids), orders, calls


def main() -> None:
    started = time.perf_counter()
    shop = generate_shop(42, 1200, parse_iso(START))
    timed(f"generate 1,200 listings and {len(shop.orders)} orders", started)
    simulator = Simulator(SimulatorConfig(start=START, speed=0.0))
    started = time.perf_counter()
    simulator.clock.advance(30 * 86_400)
    simulator.catch_up()
    timed("advance the clock 30 days (2,880 slots)", started)

    config = SimulatorConfig(start=START, speed=0.0)
    with running_simulator(config) as url, httpx.Client(base_url=url, timeout=30) as client:
        tokens = authorize(client, config, "http://127.0.0.1:1/callback")
        client.headers["Authorization"] = f"Bearer {tokens.access_token}"
        started = time.perf_counter()
        items, orders, calls = sync_floor(client, tokens.user_id)
        seconds = timed(f"bare sync floor: {items} listings, {orders} orders", started)
        print(f"  {calls} requests, {calls / seconds:.0f} requests/s")


if __name__ == "__main__":
    main()
