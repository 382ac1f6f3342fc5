"""A real `mlproject serve` (embedded mode: the scheduler is an in-process loop) connected to
the simulator: a discount starting in seconds is APPLIED there (the simulator's price is the
deal price), then WITHDRAWN at its end; the price log and Listing.priceHistory show both."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.config import Settings
from server.simulator import SimulatorConfig
from tests.conftest import running_server
from tests.support.api import Api
from tests.support.scheduling import eligible_item, until
from tests.support.simulator import running_simulator

SIM = SimulatorConfig(seed=11, items=40, start=None, speed=1.0, tick_seconds=0.1)
CONNECT = """mutation($input: ConnectMarketplaceInput!) {
  connectMarketplace(input: $input) { connection { id status } }
}"""
SYNC = """mutation($input: SyncMarketplaceInput!) {
  syncMarketplace(input: $input) { sync { id status } }
}"""
SYNC_STATUS = "query($id: ID!) { marketplaceSync(id: $id) { status } }"
HISTORY = """query($id: ID!) {
  listing(id: $id) { priceHistory { edges { node { reason outcome newPrice } } } }
}"""


@pytest.fixture
def live(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, str]]:
    with running_simulator(SIM) as simulator:
        env = {"SIMULATOR_URL": simulator, "SCHEDULER_TICK_SECONDS": "0.3"}
        with running_server(settings, tmp_path, env) as server:
            yield simulator, server


async def test_a_discount_goes_live_on_the_simulator_and_comes_off_at_its_end(
    live: tuple[str, str],
) -> None:
    simulator, server = live
    item = await eligible_item(simulator, SIM.seed)
    async with (
        httpx.AsyncClient(base_url=server, timeout=30) as http,
        httpx.AsyncClient(base_url=simulator) as sim,
    ):
        api = Api(http)
        seller = await api.sign_up()
        connected = await api.ok(
            CONNECT, {"input": {"provider": "SIMULATOR", "seed": SIM.seed}}, seller.token
        )
        connection = connected["connectMarketplace"]["connection"]
        assert connection["status"] == "CONNECTED"
        started = await api.ok(SYNC, {"input": {"connectionId": connection["id"]}}, seller.token)
        sync_id = started["syncMarketplace"]["sync"]["id"]

        async def synced() -> bool:
            found = await api.ok(SYNC_STATUS, {"id": sync_id}, seller.token)
            assert found["marketplaceSync"]["status"] != "FAILED"
            return bool(found["marketplaceSync"]["status"] == "SUCCEEDED")

        await until(synced, "the sync")
        now = datetime.now(UTC)
        scheduled = await api.op(
            "ScheduleDiscount",
            {
                "input": {
                    "listingId": item["id"],
                    "percent": 10,
                    "startsAt": (now + timedelta(seconds=2)).isoformat(),
                    "endsAt": (now + timedelta(seconds=7)).isoformat(),
                }
            },
            seller.token,
        )
        discount_id = scheduled["scheduleDiscount"]["discount"]["id"]

        async def discount_in(state: str) -> dict[str, Any] | None:
            listed = await api.op("Discounts", token=seller.token)
            node = next(e["node"] for e in listed["discounts"]["edges"])
            assert node["id"] == discount_id
            assert node["marketplaceState"] in ("PENDING", "APPLIED", "WITHDRAWN"), node
            return node if node["marketplaceState"] == state else None

        async def sim_price_is(price: Decimal) -> bool:
            state = (await sim.get(f"/_sim/state/items/{item['id']}")).json()
            return Decimal(str(state["price"])) == price

        applied = await until(lambda: discount_in("APPLIED"), "APPLIED")
        deal = Decimal(applied["dealPrice"])
        assert deal < Decimal(str(item["price"]))
        await until(lambda: sim_price_is(deal), "the deal price on the simulator")
        await until(lambda: discount_in("WITHDRAWN"), "WITHDRAWN")
        await until(lambda: sim_price_is(Decimal(str(item["price"]))), "the price back")

        log = await api.op("PriceChanges", {"filter": {"listingId": item["id"]}}, seller.token)
        entries = [
            (e["node"]["reason"], e["node"]["outcome"]) for e in log["priceChanges"]["edges"]
        ]
        assert entries == [("DISCOUNT_WITHDRAWN", "APPLIED"), ("DISCOUNT_APPLIED", "APPLIED")]
        history = await api.ok(HISTORY, {"id": item["id"]}, seller.token)
        if history["listing"] is not None:  # the listing is there once a sync has stored it
            assert len(history["listing"]["priceHistory"]["edges"]) == 2
        other = await api.sign_up()
        theirs = await api.op("PriceChanges", {"filter": {"listingId": item["id"]}}, other.token)
        assert theirs["priceChanges"]["totalCount"] == 0
